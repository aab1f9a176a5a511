"""What the account pages tell the user, in a real browser: the confirmation mail announced after
registering, a refused form that keeps what was typed (never the password), an API client's secret
shown once after a redirect, with a Copy button."""

from __future__ import annotations

import asyncio
import secrets

import pytest

from tests.fixtures.browser import expect_error_status, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

REGISTER = "form[action='/register']"


async def fill_registration(page, **values: str) -> None:
    for name, value in values.items():
        await page.fill(f"{REGISTER} [name={name}]", value)


async def test_register_keeps_the_fields_on_error_then_says_the_mail_was_sent(open_page, live_server):
    taken = await live_server.create_user()
    page = await open_page()
    expect_error_status(page, 400)
    name = f"ada_{secrets.token_hex(3)}"
    mail = f"{name}@example.org"
    await page.goto("/register")
    await fill_registration(
        page, email=mail, username=taken.username, first_name="Ada", last_name="Byron",
        password="analytical-Engine-1843",
    )  # fmt: skip
    async with page.expect_navigation():
        await page.click(f"{REGISTER} [type=submit]")

    # Refused by the server (the name is taken): the message is on the field, the rest is still there.
    assert await page.get_attribute(f"{REGISTER} [name=username]", "aria-invalid") == "true"
    assert await page.locator("#field-username-error").is_visible()
    kept = {
        n: await page.input_value(f"{REGISTER} [name={n}]")
        for n in ("email", "username", "first_name", "last_name")
    }
    assert kept == {"email": mail, "username": taken.username, "first_name": "Ada", "last_name": "Byron"}
    assert await page.input_value(f"{REGISTER} [name=password]") == ""

    before = len(live_server.mails())
    await fill_registration(page, username=name, password="analytical-Engine-1843")
    async with page.expect_navigation():
        await page.click(f"{REGISTER} [type=submit]")
    assert page.url == live_server.url + "/"
    toast = page.locator(".toast-success", has_text=mail)
    await toast.wait_for()
    assert "confirm" in (await toast.inner_text()).lower()
    for _ in range(100):  # and the mail it speaks of was written
        if len(live_server.mails()) > before:
            break
        await asyncio.sleep(0.05)
    assert mail in live_server.mails()[-1].read_text()


async def test_api_client_secret_is_shown_once_after_a_redirect_with_a_copy_button(open_page, live_server):
    user = await live_server.create_user()
    page = await open_page(permissions=["clipboard-read", "clipboard-write"])
    await sign_in(page, live_server, user)
    await page.goto("/settings/api-clients")
    await page.get_by_label("Name").fill("Nightly export")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Create client").click()

    assert page.url == live_server.url + "/settings/api-clients"  # redirected; nothing secret in the URL
    secret = await page.locator("[data-client-secret]").get_attribute("data-client-secret")
    assert secret and len(secret) >= 20 and secret not in page.url
    await page.get_by_role("button", name="Copy the client secret").click()
    await page.locator(".toast-success", has_text="Secret copied.").wait_for()
    assert await page.evaluate("navigator.clipboard.readText()") == secret

    await page.reload()  # repeats the GET: no second client, and the secret is gone
    assert await page.locator("[data-client-secret]").count() == 0
    assert await page.locator(".api-client").count() == 1
    assert secret not in await page.content()
