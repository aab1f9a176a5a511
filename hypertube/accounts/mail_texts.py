"""The texts of account mails (address confirmation, password reset, a sign-up with a used address), written
in the user's language."""

from __future__ import annotations

from hypertube import i18n
from hypertube.accounts.messages import N_
from hypertube.accounts.models import User
from hypertube.i18n import gettext as _
from hypertube.settings import Settings

Line = tuple[str, dict[str, str]]


def site_link(settings: Settings, path: str) -> str:
    """An absolute link to `path` on this site, for mails."""
    return f"{settings.base_url.rstrip('/')}{path}"


def _mail_text(user: User, subject: str, lines: list[Line], link: str, footer: str) -> tuple[str, str]:
    """(subject, body) of a plain-text mail: greeting, lines, the link, then the footer."""
    previous = i18n.set_language(user.language)
    try:
        greeting = _(N_("Hello %(name)s,"), name=user.first_name)
        body = [greeting, "", *(_(text, **values) for text, values in lines), "", link, "", _(footer)]
        return _(subject), "\n".join(body)
    finally:
        i18n.reset_language(previous)


def verification_mail(user: User, link: str) -> tuple[str, str]:
    return _mail_text(
        user,
        N_("Confirm your Hypertube email address"),
        [
            (
                N_("Please confirm that %(email)s is the address of the Hypertube account %(username)s:"),
                {"email": user.email, "username": user.username},
            )
        ],
        link,
        N_("If you did not create this account, ignore this mail."),
    )


def reset_mail(user: User, link: str) -> tuple[str, str]:
    return _mail_text(
        user,
        N_("Reset your Hypertube password"),
        [
            (
                N_(
                    "Someone (hopefully you) asked to reset the password of the Hypertube account %(username)s."
                ),
                {"username": user.username},
            ),
            (N_("Open this link within one hour to choose a new password:"), {}),
        ],
        link,
        N_("If you did not ask for this, ignore this mail: your password stays the same."),
    )


ADDRESS_IN_USE_SUBJECT = N_("Someone tried to sign up to Hypertube with your address")
ADDRESS_IN_USE = N_(
    "Someone (hopefully you) tried to create a Hypertube account with %(email)s, which is "
    "already the address of the account %(username)s."
)
ADDRESS_IN_USE_ACTION = N_("If it was you, log in with that account, or choose a new password here:")
ADDRESS_IN_USE_FOOTER = N_("If it was not you, ignore this mail: no account was created and nothing changed.")


def address_in_use_mail(user: User, link: str) -> tuple[str, str]:
    """To the owner of an address someone tried to sign up with (the sign-up page does not say it is taken)."""
    who = {"email": user.email, "username": user.username}
    lines: list[Line] = [(ADDRESS_IN_USE, who), (ADDRESS_IN_USE_ACTION, {})]
    return _mail_text(user, ADDRESS_IN_USE_SUBJECT, lines, link, ADDRESS_IN_USE_FOOTER)
