"""Field rules for account forms; each check returns a message to show next to the field, or None."""

from __future__ import annotations

import re
import unicodedata

from hypertube.accounts.messages import N_
from hypertube.accounts.passwords import password_problem

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,30}$")
# Dot-atoms on the left (no quoted forms), a dotted hostname on the right. Delivery is the real test.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_RE = re.compile(rf"^(?=[^@]{{1,64}}@){_ATOM}(?:\.{_ATOM})*@(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})+$")
NAME_MAX = 60

USERNAME_REQUIRED = N_("Choose a username.")
USERNAME_INVALID = N_("Use 3 to 30 letters, digits, dots, dashes or underscores.")
USERNAME_TAKEN = N_("This username is already taken.")
EMAIL_REQUIRED = N_("Enter your email address.")
EMAIL_INVALID = N_("Enter a valid email address, like name@example.org.")
EMAIL_TAKEN = N_("An account already uses this email address.")
NAME_REQUIRED = N_("This field is required.")
NAME_TOO_LONG = N_("Use at most 60 characters.")
NAME_INVALID = N_("Remove the control characters from this field.")
LANGUAGE_INVALID = N_("Choose one of the offered languages.")
CONFIRM_MISMATCH = N_("The two passwords are different.")

REGISTER_FIELDS = ("email", "username", "first_name", "last_name", "password")


class ValidationError(ValueError):
    """Refused input: `problems` maps each field to its message (untranslated), in the order checked."""

    def __init__(self, problems: dict[str, str]):
        super().__init__(problems)
        self.problems = problems

    @property
    def field(self) -> str:
        return next(iter(self.problems))

    @property
    def message(self) -> str:
        return self.problems[self.field]


class Taken(ValidationError):
    """The email or username belongs to another account."""


def clean(value: object) -> str:
    """A form value as a stripped string; files and other types count as empty."""
    return value.strip() if isinstance(value, str) else ""


def raw(value: object) -> str:
    """A form value as given (passwords keep their spaces); files and other types count as empty."""
    return value if isinstance(value, str) else ""


def username_problem(username: str) -> str | None:
    if not username:
        return USERNAME_REQUIRED
    if not USERNAME_RE.fullmatch(username):
        return USERNAME_INVALID
    return None


def email_problem(email: str) -> str | None:
    if not email:
        return EMAIL_REQUIRED
    # Non-ASCII addresses are refused: not every mail server on the way accepts them.
    if len(email) > 254 or not email.isascii() or not EMAIL_RE.fullmatch(email):
        return EMAIL_INVALID
    return None


def name_problem(name: str) -> str | None:
    if not name:
        return NAME_REQUIRED
    if len(name) > NAME_MAX:
        return NAME_TOO_LONG
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") for ch in name):
        return NAME_INVALID
    return None


def registration_problems(fields: dict[str, str]) -> dict[str, str]:
    """Messages per field for a registration form (uniqueness is checked against the database later)."""
    problems: dict[str, str] = {}
    checks = {
        "email": email_problem(fields.get("email", "")),
        "username": username_problem(fields.get("username", "")),
        "first_name": name_problem(fields.get("first_name", "")),
        "last_name": name_problem(fields.get("last_name", "")),
        "password": password_problem(
            fields.get("password", ""), username=fields.get("username", ""), email=fields.get("email", "")
        ),
    }
    for field, message in checks.items():
        if message:
            problems[field] = message
    return problems


def new_password_problem(password: str, confirm: str, *, username: str, email: str) -> str | None:
    """The password rules, then the confirmation (an empty confirmation is not checked: scripts may omit it)."""
    problem = password_problem(password, username=username, email=email)
    if not problem and confirm and confirm != password:
        problem = CONFIRM_MISMATCH
    return problem
