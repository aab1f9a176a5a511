"""Translations: every message in the code and templates has a French translation, and the page
language follows the user, then the `lang` cookie, then Accept-Language, then English."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from hypertube import i18n
from tests.conftest import csrf_for, login_as

ROOT = Path(__file__).resolve().parent.parent.parent
SKIP_DIRS = {"node_modules", "var", "static", "tests", "bench", "locales"}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
# What is left of a text without its %(name)s placeholders and %% escapes must hold no other placeholder
# syntax: no lone %, no {name}, {0} or {}.
ONE_SYNTAX = re.compile(r"%\(\w+\)s|%%")
OTHER_SYNTAX = re.compile(r"%|\{\w*\}")


def extracted_messages() -> dict[str, str]:
    """msgid → where it was found, with the same configuration as `make messages` (babel.cfg)."""
    with open(ROOT / "babel.cfg") as fh:
        method_map, options_map = parse_mapping_cfg(fh)

    def keep(dirpath: str) -> bool:
        name = Path(dirpath).name
        return not (name.startswith((".", "_")) or name in SKIP_DIRS)

    found: dict[str, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=DEFAULT_KEYWORDS, directory_filter=keep
    ):
        ids = message if isinstance(message, tuple) else (message,)
        for msgid in ids:
            if msgid:
                found.setdefault(msgid, f"{filename}:{lineno}")
    return found


def french_catalog():
    with open(ROOT / "locales" / "fr" / "LC_MESSAGES" / "messages.po", "rb") as fh:
        return read_po(fh, locale="fr")


def catalogs():
    """(file name, catalog) of the template and of every language's catalog."""
    found = []
    for path in sorted((ROOT / "locales").rglob("*.po*")):
        with path.open("rb") as fh:
            found.append((str(path.relative_to(ROOT)), read_po(fh)))
    assert any(name.endswith(".pot") for name, _ in found) and any(name.endswith(".po") for name, _ in found)
    return found


def pairs(catalog):
    """(msgids, msgstrs) of every message, each a tuple (two or more for plural forms)."""
    for message in catalog:
        if message.id:
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            yield ids, strings


def test_extraction_finds_templates_and_python():
    found = extracted_messages()
    places = {where.split(":")[0] for where in found.values()}
    assert any(p.startswith("templates/") for p in places), places
    assert any(p.startswith("hypertube/") for p in places), places
    assert "Skip to content" in found and "This page does not exist." in found


def test_every_message_has_a_french_translation():
    catalog = french_catalog()
    translated: dict[str, tuple[str, ...]] = {}
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if all(strings):
            for msgid in ids:
                translated[msgid] = strings
    missing = {msgid: where for msgid, where in extracted_messages().items() if msgid not in translated}
    assert not missing, (
        "messages without a French translation (run `make messages`, then translate them in "
        "locales/fr/LC_MESSAGES/messages.po):\n" + "\n".join(f"  {w}: {m!r}" for m, w in missing.items())
    )


def test_messages_use_one_placeholder_syntax():
    texts = [(where, msgid) for msgid, where in extracted_messages().items()]
    for name, catalog in catalogs():
        for ids, strings in pairs(catalog):
            texts += [(name, text) for text in ids + strings if text]
    wrong = [(where, text) for where, text in texts if OTHER_SYNTAX.search(ONE_SYNTAX.sub("", text))]
    assert not wrong, "use %(name)s placeholders (and %% for a percent sign):\n" + "\n".join(
        f"  {where}: {text!r}" for where, text in wrong
    )


def test_translations_keep_their_placeholders():
    wrong = []
    for name, catalog in catalogs():
        for ids, strings in pairs(catalog):
            expected = set(PLACEHOLDER.findall(ids[0])) | set(PLACEHOLDER.findall(ids[-1]))
            for text in strings:
                if text and set(PLACEHOLDER.findall(text)) - expected:
                    wrong.append((name, ids[0], text))
                if text and len(ids) == 1 and set(PLACEHOLDER.findall(text)) != expected:
                    wrong.append((name, ids[0], text))
    assert not wrong, wrong


def test_no_compiled_catalogs_are_needed():
    assert not list((ROOT / "locales").rglob("*.mo"))
    i18n.load_catalogs()
    token = i18n.set_language("fr")
    try:
        assert i18n.gettext("Skip to content") == "Aller au contenu"
        assert i18n.gettext("Please use at least %(min)s characters.", min=10) == (
            "Veuillez utiliser au moins 10 caractères."
        )
    finally:
        i18n.reset_language(token)
    assert i18n.gettext("Skip to content") == "Skip to content"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("fr-FR,fr;q=0.9,en;q=0.8", "fr"),
        ("en-GB,fr;q=0.5", "en"),
        ("de-DE,fr;q=0.3", "fr"),
        ("de, es", None),
        ("fr;q=bogus, en;q=0.1", "en"),
        ("", None),
        ("x" * 5000, None),
    ],
)
def test_accept_language_negotiation(header, expected):
    assert i18n.negotiate(header) == expected


async def test_html_lang_follows_user_then_cookie_then_header(client, make_user):
    async def lang(**headers) -> str:
        resp = await client.get("/no-such-page", headers=headers)
        match = re.search(r'<html lang="(\w+)"', await resp.text())
        assert match, "every page names its language"
        return match.group(1)

    assert await lang() == "en"
    assert await lang(**{"Accept-Language": "fr-FR,fr;q=0.9"}) == "fr"
    token = await csrf_for(client, "/no-such-page")
    resp = await client.post("/language", data={"language": "fr", "csrf_token": token}, allow_redirects=False)
    assert resp.status == 303
    assert await lang() == "fr"
    assert await lang(**{"Accept-Language": "en"}) == "fr"  # an explicit choice beats the browser
    login_as(client, await make_user(language="en"))
    assert await lang() == "en"  # the signed-in user's own setting beats the cookie


async def test_language_switch_refuses_unknown_languages_and_foreign_targets(client, db, make_user):
    user = await make_user()
    login_as(client, user)
    token = await csrf_for(client, "/no-such-page")
    for target in ("//evil.example/x", "https://evil.example", "/\\evil.example", "javascript:alert(1)"):
        resp = await client.post(
            "/language", data={"language": "fr", "next": target, "csrf_token": token}, allow_redirects=False
        )
        assert resp.status == 303 and resp.headers["Location"] == "/", target
    resp = await client.post(
        "/language",
        data={"language": "<script>", "next": "/users/x?a=1", "csrf_token": token},
        allow_redirects=False,
    )
    assert resp.headers["Location"] == "/users/x?a=1"
    assert await db.fetchval("SELECT language FROM users WHERE id = $1", user.id) == "en"


async def test_an_api_clients_name_is_not_called_a_title_in_french(client, make_user):
    # "Name" sorts films by title ("Titre"); an API client has a name ("Nom du client").
    login_as(client, await make_user(language="fr"))
    html = await (await client.get("/settings/api-clients")).text()
    label = re.search(r'<label for="api-client-name">([^<]*)</label>', html)
    assert label and label.group(1) == "Nom du client"
    html = await (await client.get("/")).text()
    assert re.search(r'<option value="name"[^>]*>Titre</option>', html)
