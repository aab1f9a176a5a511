"""What a valid username, email, password and picture URL look like; shared by the site and the API."""

from __future__ import annotations

import re
from urllib.parse import urlparse

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,30}$")
EMAIL_RE = re.compile(
    r"^[^@\s\x00-\x1f]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
PASSWORD_MIN = 8
PASSWORD_MAX = 128
PICTURE_URL_MAX = 2000
COMMON_PASSWORDS = frozenset(
    {
        "password",
        "password1",
        "12345678",
        "123456789",
        "1234567890",
        "qwerty123",
        "azerty123",
        "iloveyou",
        "11111111",
        "00000000",
        "abc12345",
        "letmein1",
        "welcome1",
        "hypertube",
        "hypertube1",
        "passw0rd",
        "p@ssw0rd",
        "qwertyuiop",
        "sunshine1",
        "football1",
    }
)


class RuleError(ValueError):
    """A value breaks a rule; `field` names it and the message is meant for the user."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def check_username(value: object) -> str:
    if not isinstance(value, str) or not USERNAME_RE.fullmatch(value):
        raise RuleError("username", "A username has 3 to 30 letters, digits, dots, dashes or underscores.")
    return value


def check_email(value: object) -> str:
    if not isinstance(value, str):
        raise RuleError("email", "Enter an email address.")
    text = value.strip()
    if len(text) > 254 or not EMAIL_RE.fullmatch(text):
        raise RuleError("email", "Enter a valid email address, like name@example.org.")
    return text


def check_password(value: object, *, username: str = "", email: str = "") -> str:
    if not isinstance(value, str):
        raise RuleError("password", "Enter a password.")
    if len(value) < PASSWORD_MIN:
        raise RuleError("password", f"A password has at least {PASSWORD_MIN} characters.")
    if len(value) > PASSWORD_MAX:
        raise RuleError("password", f"A password has at most {PASSWORD_MAX} characters.")
    if "\x00" in value:
        raise RuleError("password", "A password cannot contain a null character.")
    if not any(c.isalpha() for c in value) or not any(not c.isalpha() for c in value):
        raise RuleError("password", "Use letters and at least one digit or symbol.")
    lowered = value.lower()
    if lowered in COMMON_PASSWORDS or (username and username.lower() in lowered):
        raise RuleError("password", "This password is too easy to guess.")
    if email and email.split("@")[0].lower() == lowered:
        raise RuleError("password", "This password is too easy to guess.")
    return value


def check_picture_url(value: object) -> str | None:
    """An https image URL, or None to go back to the default picture."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > PICTURE_URL_MAX:
        raise RuleError("picture_url", "The picture must be an https URL.")
    parsed = urlparse(value)
    if parsed.scheme != "https" or not parsed.hostname or any(ord(c) < 33 for c in value):
        raise RuleError("picture_url", "The picture must be an https URL.")
    return value
