"""The account pages in a real browser: live password rules, registration, profile picture upload,
and no console error or warning anywhere on the way."""

from __future__ import annotations

import io

import pytest
import pytest_asyncio
from PIL import Image

from hypertube.keys import POOL
from tests.fixtures.browser import expect_error_status

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


@pytest_asyncio.fixture(loop_scope="session")
async def live_server(start_live_server):
    return await start_live_server(bcrypt_cost=4)


def png(path) -> str:
    buf = io.BytesIO()
    Image.new("RGB", (300, 200), (10, 120, 200)).save(buf, format="PNG")
    path.write_bytes(buf.getvalue())
    return str(path)


@pytest.mark.parametrize("width", [360, 1280])
async def test_register_with_live_rules_then_edit_profile(open_page, live_server, tmp_path, width):
    db = live_server.app[POOL]
    page = await open_page(width=width)
    await page.goto("/register")
    await page.fill("#field-email", "ada@example.org")
    await page.fill("#field-username", "ada_l")
    await page.fill("#field-first_name", "Ada")
    await page.fill("#field-last_name", "Lovelace")
    await page.fill("#field-password", "password123")
    await page.wait_for_selector('#register-rules [data-rule="common"].rule-bad')
    assert await page.get_attribute('#register-rules [data-rule="length"]', "class") == "rule-ok"
    await page.click("button[type=submit]")  # the shell's validation stops it with our rule's message
    assert "commonly used" in await page.inner_text("#field-password-error")
    assert page.url.endswith("/register")
    await page.fill("#field-password", "ada_l-is-my-name")
    await page.wait_for_selector('#register-rules [data-rule="personal"].rule-bad')
    await page.fill("#field-password", "Velvet-Harbor-Quartz-58")
    await page.wait_for_selector('#register-rules [data-rule="common"].rule-ok')
    async with page.expect_navigation():
        await page.click("button[type=submit]")
    assert await db.fetchval("SELECT username FROM users") == "ada_l"

    await page.goto("/profile")
    await page.set_input_files("#field-picture", png(tmp_path / "me.png"))
    await page.fill("#field-first_name", "Augusta Ada")
    async with page.expect_navigation():
        await page.click("form[action='/profile'] button[type=submit]")
    assert "notice=saved" in page.url
    src = await page.get_attribute("img[data-avatar-preview]", "src")
    assert src.startswith("/media/avatars/") and src.endswith(".webp")
    loaded = await page.evaluate("document.querySelector('img[data-avatar-preview]').naturalWidth")
    assert loaded == 256
    assert await db.fetchval("SELECT first_name FROM users") == "Augusta Ada"
    overflow = await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert overflow[0] <= overflow[1]


async def test_login_failure_message_and_forgot_page(page, live_server):
    expect_error_status(page, 400)  # the refused login answers 400 with the form
    await page.goto("/login")
    await page.fill("#field-username", "nobody")
    await page.fill("#field-password", "Wrong-password-42")
    async with page.expect_navigation():
        await page.click("button[type=submit]")
    assert "Wrong username or password." in await page.inner_text("[data-form-error]")
    await page.goto("/password/forgot")
    await page.fill("#field-email", "someone@example.org")
    async with page.expect_navigation():
        await page.click("button[type=submit]")
    assert "If an account uses this address" in await page.inner_text("main")
