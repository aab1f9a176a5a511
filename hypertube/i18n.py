"""Translations: gettext catalogs under `locales/`, the request's language in a context variable."""

from __future__ import annotations

import contextvars
from pathlib import Path

from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DEFAULT_LANGUAGE = "en"
LANGUAGE_NAMES = {"en": "English", "fr": "Français"}
SUPPORTED = tuple(LANGUAGE_NAMES)

_current: contextvars.ContextVar[str] = contextvars.ContextVar("language", default=DEFAULT_LANGUAGE)
_catalogs: dict[str, dict[str, str]] = {}


def load_catalogs(folder: Path = LOCALES_DIR) -> None:
    """Reads every `locales/<lang>/LC_MESSAGES/messages.po` into memory (no compile step needed)."""
    _catalogs.clear()
    for lang in SUPPORTED:
        po = folder / lang / "LC_MESSAGES" / "messages.po"
        if not po.is_file():
            continue
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=lang)
        entries: dict[str, str] = {}
        for message in catalog:
            if not message.id or not message.string or message.fuzzy:
                continue
            if isinstance(message.id, (tuple, list)):
                entries[str(message.id[0])] = str(message.string[0])
                entries["\x00plural\x00" + str(message.id[0])] = str(message.string[1])
            else:
                entries[str(message.id)] = str(message.string)
        _catalogs[lang] = entries


def set_language(lang: str) -> contextvars.Token:
    return _current.set(lang if lang in SUPPORTED else DEFAULT_LANGUAGE)


def reset_language(token: contextvars.Token) -> None:
    _current.reset(token)


def current_language() -> str:
    return _current.get()


def gettext(message: str, **variables) -> str:
    text = _catalogs.get(_current.get(), {}).get(message, message)
    return text % variables if variables else text


# Which of the two forms a count takes: French uses the singular for 0 and 1, English only for 1.
PLURAL_RULES = {"fr": lambda n: n > 1}


def plural_text(singular: str, plural: str, n: int) -> str:
    """The translated singular or plural form for `n`, placeholders left as they are."""
    lang = _current.get()
    table = _catalogs.get(lang, {})
    if PLURAL_RULES.get(lang, lambda n: n != 1)(n):
        return table.get("\x00plural\x00" + singular, plural)
    return table.get(singular, singular)


def ngettext(singular: str, plural: str, n: int, **variables) -> str:
    variables.setdefault("num", n)
    return plural_text(singular, plural, n) % variables


def negotiate(accept_language: str | None) -> str | None:
    """The best supported language of an Accept-Language header, or None."""
    if not accept_language:
        return None
    ranked = []
    for i, part in enumerate(accept_language.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        ranked.append((-q, i, tag.strip().lower().split("-")[0]))
    for _, _, lang in sorted(ranked):
        if lang in SUPPORTED:
            return lang
    return None


def gettext_noop(message: str) -> str:
    """Marks a message for extraction where it is defined; it is translated later, where it is shown
    (for example by `error.html`, which passes every error message through `_()`)."""
    return message


N_ = gettext_noop
_ = gettext
