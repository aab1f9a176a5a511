"""Generic form validation, busy buttons, toasts and flash messages of the shell, in a real browser,
on a test page that extends base.html like every page of the site."""

from __future__ import annotations

import aiohttp_jinja2
import jinja2
import pytest
import pytest_asyncio
from aiohttp import web

from hypertube.http.flash import flash, flash_now
from tests.fixtures.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

FORM_PAGE = """{% extends "base.html" %}
{% block title %}Form{% endblock %}
{% block content %}
<form method="post" action="/test-form" id="test-form" class="card narrow form" enctype="multipart/form-data">
  <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
  <div class="field">
    <label for="email">Email</label>
    <input id="email" name="email" type="email" required maxlength="254">
  </div>
  <div class="field">
    <label for="username">Username</label>
    <input id="username" name="username" required minlength="3" pattern="[A-Za-z0-9_]+"
           data-msg-pattern="Letters, digits and _ only." aria-describedby="username-hint">
    <p class="hint" id="username-hint">3 characters or more.</p>
  </div>
  <div class="field">
    <label for="password">Password</label>
    <input id="password" name="password" type="password" required minlength="10" data-differs="username">
  </div>
  <div class="field">
    <label for="confirm">Confirm password</label>
    <input id="confirm" name="confirm" type="password" required data-match="password">
  </div>
  <div class="field">
    <label for="picture">Picture</label>
    <input id="picture" name="picture" type="file" accept="image/png,image/jpeg" data-max-bytes="100">
  </div>
  <div class="form-actions"><button type="submit">Save</button></div>
</form>
{% endblock %}
"""


def add_form_page(app: web.Application) -> None:
    env = aiohttp_jinja2.get_env(app)
    env.loader = jinja2.ChoiceLoader([jinja2.DictLoader({"test_form.html": FORM_PAGE}), env.loader])

    async def show(request: web.Request) -> web.StreamResponse:
        if request.query.get("now"):
            flash_now(request, "Shown right away.", "warning")
        return aiohttp_jinja2.render_template("test_form.html", request, {})

    async def submit(request: web.Request) -> web.StreamResponse:
        form = await request.post()
        picture = form.get("picture")
        size = len(picture.file.read()) if isinstance(picture, web.FileField) else 0
        raise flash(web.HTTPSeeOther("/test-form"), f"Saved {form['username']} ({size} bytes).", "success")

    app.router.add_get("/test-form", show)
    app.router.add_post("/test-form", submit)


@pytest_asyncio.fixture(loop_scope="session")
async def form_page(open_page, start_live_server):
    server = await start_live_server(prepare=add_form_page)
    page = await open_page(base_url=server.url)
    await sign_in(page, server, await server.create_user())
    await page.goto("/test-form")
    return page


async def error_of(page, field_id: str) -> str:
    return (await page.locator(f"#{field_id}-error").inner_text()).strip()


async def test_empty_submit_shows_inline_messages_and_focuses_the_first(form_page):
    page = form_page
    await page.click("#test-form button[type=submit]")
    assert page.url.endswith("/test-form")
    assert await page.evaluate("document.activeElement.id") == "email"
    assert await page.get_attribute("#email", "aria-invalid") == "true"
    assert await error_of(page, "email") == "Please fill in this field."
    described = (await page.get_attribute("#username", "aria-describedby")).split()
    assert described == ["username-hint", "username-error"]
    assert await page.locator(".field-error:not([hidden])").count() == 4  # the picture is optional


async def test_rules_check_as_the_user_types(form_page):
    page = form_page
    await page.fill("#email", "not-an-email")
    await page.press("#email", "Tab")
    assert await error_of(page, "email") == "Please enter a valid email address."
    await page.fill("#email", "ada@example.org")
    assert await page.get_attribute("#email", "aria-invalid") is None
    assert await page.locator("#email-error").is_hidden()

    await page.fill("#username", "a b")
    await page.press("#username", "Tab")
    assert await error_of(page, "username") == "Letters, digits and _ only."
    await page.fill("#username", "ab")
    assert await error_of(page, "username") == "Please use at least 3 characters."
    await page.fill("#username", "ada_lovelace")
    assert await page.get_attribute("#username", "aria-describedby") == "username-hint"

    await page.fill("#password", "ada_lovelace")
    await page.press("#password", "Tab")
    assert await error_of(page, "password") == "This must be different from your username."
    await page.fill("#password", "analytical-engine")
    await page.fill("#confirm", "analytical")
    await page.press("#confirm", "Tab")
    assert await error_of(page, "confirm") == "The two values do not match."
    await page.fill("#confirm", "analytical-engine")
    assert await page.locator("#confirm-error").is_hidden()

    await page.set_input_files("#picture", {"name": "big.png", "mimeType": "image/png", "buffer": b"x" * 500})
    assert await error_of(page, "picture") == "This file is too large (at most 100 B)."
    await page.set_input_files("#picture", {"name": "a.gif", "mimeType": "image/gif", "buffer": b"GIF89a"})
    assert await error_of(page, "picture") == "This type of file is not accepted."
    await page.set_input_files("#picture", {"name": "a.png", "mimeType": "image/png", "buffer": b"\x89PNG"})
    assert await page.locator("#picture-error").is_hidden()

    # Valid: the form is sent, the button shows it is busy, and the server's flash comes back as a toast.
    async with page.expect_navigation():
        await page.click("#test-form button[type=submit]")
    toast = page.locator(".toast-success")
    await toast.wait_for()
    assert await toast.locator(".toast-text").inner_text() == "Saved ada_lovelace (4 bytes)."
    assert await page.locator("[data-toast-region=polite]").get_attribute("role") == "status"
    await toast.locator(".toast-close").click()
    await toast.wait_for(state="detached")
    # Shown once: the flash cookie is gone after the page that showed it.
    await page.reload()
    await page.wait_for_timeout(150)
    assert await page.locator(".toast").count() == 0


async def test_french_messages(form_page):
    page = form_page
    await page.select_option("#language-select", "fr")
    await page.wait_for_function("document.documentElement.lang === 'fr'")
    await page.click("#test-form button[type=submit]")
    assert await error_of(page, "email") == "Veuillez remplir ce champ."


async def test_toast_api_and_flash_now(form_page):
    page = form_page
    await page.goto("/test-form?now=1")
    warning = page.locator(".toast-warning")
    await warning.wait_for()
    assert await warning.locator(".toast-text").inner_text() == "Shown right away."
    await page.evaluate("import('/static/js/util.js').then((m) => m.toast('Something failed', 'error'))")
    error = page.locator("[data-toast-region=assertive] .toast-error")
    await error.wait_for()
    assert await page.locator("[data-toast-region=assertive]").get_attribute("role") == "alert"
    assert await error.locator(".toast-close").get_attribute("aria-label") == "Dismiss"
    await page.keyboard.press("Escape")
