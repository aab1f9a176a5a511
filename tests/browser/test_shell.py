"""The page shell without a browser: flash cookies, theme cookie, landmarks, and templates that respect
the strict CSP (no inline scripts, event handlers or style attributes)."""

from __future__ import annotations

import re
from pathlib import Path

from aiohttp import web

from hypertube.http.flash import FLASH_COOKIE, decode_flashes, encode_flashes, flash, flash_now
from tests.conftest import TEST_SECRET, login_as

ROOT = Path(__file__).resolve().parent.parent.parent


def test_flash_cookie_round_trip_and_tampering():
    value = encode_flashes(TEST_SECRET, [("success", "Saved."), ("error", "<b>Nope</b>")])
    assert decode_flashes(TEST_SECRET, value) == [("success", "Saved."), ("error", "<b>Nope</b>")]
    payload, _, mac = value.rpartition(".")
    forged = encode_flashes("another-secret", [("error", "Your account is locked, call 555")])
    assert decode_flashes(TEST_SECRET, forged) == []
    assert decode_flashes(TEST_SECRET, payload + "." + mac[::-1]) == []
    for junk in (None, "", ".", "abc", "x" * 5000, "!!!." + mac, "e30." + mac):
        assert decode_flashes(TEST_SECRET, junk) == []
    odd = encode_flashes(TEST_SECRET, [["weird-kind", "x" * 1000], ["info"], "text", ["info", 3]])
    assert decode_flashes(TEST_SECRET, odd) == [("info", "x" * 300)]


async def test_flash_shows_once_on_the_next_page(aiohttp_client, make_app, make_user):
    app = make_app()

    async def save(request: web.Request) -> web.StreamResponse:
        raise flash(web.HTTPSeeOther("/"), "Profile <saved>.", "success")

    async def now(request: web.Request) -> web.StreamResponse:
        flash_now(request, "Right now.", "warning")
        raise web.HTTPNotFound()

    app.router.add_post("/test-save", save)
    app.router.add_get("/test-now", now)
    client = await aiohttp_client(app)
    login_as(client, await make_user())
    await client.get("/")
    token = client.session.cookie_jar.filter_cookies(client.make_url("/"))["ht_csrf"].value
    resp = await client.post("/test-save", data={"csrf_token": token}, allow_redirects=False)
    assert resp.status == 303
    set_cookie = resp.headers.getall("Set-Cookie")
    flash_header = next(h for h in set_cookie if h.startswith(FLASH_COOKIE + "="))
    assert "HttpOnly" in flash_header and "SameSite=Lax" in flash_header and "Max-Age=120" in flash_header

    # A static file or JSON request in between does not eat the message.
    assert (await client.get("/healthz")).status == 200
    assert (await client.get("/static/css/app.css")).status == 200
    html = await (await client.get("/")).text()
    assert '<div class="toast toast-success" data-toast="success">Profile &lt;saved&gt;.</div>' in html
    html = await (await client.get("/")).text()
    assert "data-toast=" not in html

    html = await (await client.get("/test-now")).text()
    assert '<div class="toast toast-warning" data-toast="warning">Right now.</div>' in html


async def test_flash_messages_are_translated_where_shown(aiohttp_client, make_app, make_user):
    app = make_app()

    async def save(request: web.Request) -> web.StreamResponse:
        raise flash(web.HTTPSeeOther("/"), "Back to the library", "info")

    app.router.add_get("/test-save", save)
    client = await aiohttp_client(app)
    login_as(client, await make_user(language="fr"))
    await client.get("/test-save", allow_redirects=False)
    assert "Retour à la bibliothèque</div>" in await (await client.get("/")).text()


async def test_theme_cookie_is_rendered_and_checked(client):
    html = await (await client.get("/no-such-page")).text()
    assert re.search(r"<html lang=\"en\">", html)
    client.session.cookie_jar.update_cookies({"theme": "light"})
    html = await (await client.get("/no-such-page")).text()
    assert '<html lang="en" data-theme="light">' in html
    client.session.cookie_jar.update_cookies({"theme": '"><script>alert(1)</script>'})
    html = await (await client.get("/no-such-page")).text()
    assert '<html lang="en">' in html and "alert(1)" not in html


async def test_every_page_has_the_landmarks_and_a_blocking_theme_script(client, make_user):
    login_as(client, await make_user())
    html = await (await client.get("/")).text()
    for landmark in ("<header", '<main id="main"', "<footer", 'class="skip-link" href="#main"'):
        assert landmark in html
    head = html.split("</head>")[0]
    theme = re.search(r"<script[^>]*theme-init\.js[^>]*>", head)
    assert theme and "defer" not in theme.group(0) and "async" not in theme.group(0)
    assert head.index("theme-init.js") < head.index("app.css"), "the theme must be known before styles apply"
    assert 'id="client-messages"' in head and 'action="/language"' in html


def test_templates_respect_the_content_security_policy():
    problems = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(ROOT)
        for match in re.finditer(r"<script\b([^>]*)>", text):
            attrs = match.group(1)
            if "src=" not in attrs and 'type="application/json"' not in attrs:
                problems.append(f"{name}: inline <script{attrs}>")
        if re.search(r"\sstyle\s*=", text):
            problems.append(f"{name}: style attribute")
        if re.search(r"\son[a-z]+\s*=", text):
            problems.append(f"{name}: inline event handler")
        if re.search(r"javascript:", text, re.IGNORECASE):
            problems.append(f"{name}: javascript: URL")
    assert not problems, "\n".join(problems)


def test_static_urls_in_templates_exist():
    missing = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        for ref in re.findall(r"static_url\(['\"]([^'\"]+)['\"]\)", path.read_text(encoding="utf-8")):
            if not (ROOT / "static" / ref).is_file() and not ref.startswith("vendor/"):
                missing.append(f"{path.name}: {ref}")
    assert not missing, missing


async def test_error_messages_are_escaped(aiohttp_client, make_app):
    from hypertube.http.errors import ApiError

    app = make_app()

    async def bad(request: web.Request) -> web.StreamResponse:
        raise ApiError(400, "Bad name <script>alert(1)</script>", field="name")

    app.router.add_get("/test-bad", bad)
    client = await aiohttp_client(app)
    resp = await client.get("/test-bad")
    html = await resp.text()
    assert resp.status == 400
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html


async def test_underscore_in_templates_escapes_what_it_translates(client):
    from aiohttp_jinja2 import get_env

    from hypertube import i18n

    env = get_env(client.server.app)
    template = env.from_string(
        "{{ _(v) }}|{{ _('Hello %(name)s', name=n) }}|{{ ngettext('%(num)s film', '%(num)s films', k) }}"
    )
    out = template.render(v="<img src=x onerror=alert(1)>", n="<b>", k=2)
    assert out == "&lt;img src=x onerror=alert(1)&gt;|Hello &lt;b&gt;|2 films"
    token = i18n.set_language("fr")
    try:
        assert template.render(v="Back to the library", n="x", k=0).startswith("Retour à la bibliothèque|")
        assert i18n.ngettext("%(num)s film", "%(num)s films", 0) == "0 film"
    finally:
        i18n.reset_language(token)


async def test_static_files_set_no_cookies(aiohttp_client, make_app):
    client = await aiohttp_client(make_app())
    resp = await client.get("/static/css/app.css?v=1")
    assert resp.status == 200 and "Set-Cookie" not in resp.headers
    resp = await client.get("/static/css/missing.css")
    assert resp.status == 404 and "Set-Cookie" not in resp.headers
