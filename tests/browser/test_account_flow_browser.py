"""The whole account journey in a real browser, as a person would take it: register → log in → edit the
profile with a picture → switch theme and language → log out → forgot → reset (the mail is read from the
outbox folder) → log in with the new password. Any console error or warning on any page fails it."""

from __future__ import annotations

import asyncio
import email
import email.policy
import io
import re
import secrets

import pytest
from PIL import Image

from tests.fixtures.browser import LiveServer, no_horizontal_overflow

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


def png_picture() -> bytes:
    image = Image.new("RGB", (240, 180), (200, 40, 60))
    for x in range(0, 240, 20):
        for y in range(0, 180, 20):
            image.putpixel((x, y), (255, 255, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


async def reset_link_from_mail(server: LiveServer, before: int) -> str:
    for _ in range(100):
        new = server.mails()[before:]
        if new:
            message = email.message_from_bytes(new[-1].read_bytes(), policy=email.policy.default)
            body = " ".join(
                part.get_content() for part in message.walk() if part.get_content_maintype() == "text"
            )
            match = re.search(r"(/password/reset/[A-Za-z0-9_\-.~%]+)", body)
            assert match, body
            return match.group(1)
        await asyncio.sleep(0.1)
    raise AssertionError(f"no reset mail in {server.mail_dir}")


async def submit(page, form_selector: str) -> None:
    async with page.expect_navigation():
        await page.click(f"{form_selector} [type=submit]")


async def test_account_journey(open_page, live_server):
    page = await open_page(color_scheme="dark")
    name = f"grace_{secrets.token_hex(3)}"
    mail = f"{name}@example.org"
    password = "analytical-Engine-1843"
    new_password = "difference-Engine-1822"

    # Register: the browser checks the fields first, then the server signs the new user in.
    await page.goto("/register")
    form = "form[action='/register']"
    await page.click(f"{form} [type=submit]")
    assert await page.evaluate("document.activeElement.name") == "email"
    assert await page.get_attribute(f"{form} [name=email]", "aria-invalid") == "true"
    await page.fill(f"{form} [name=email]", mail)
    await page.fill(f"{form} [name=username]", name)
    await page.fill(f"{form} [name=first_name]", "Grace")
    await page.fill(f"{form} [name=last_name]", "Hopper")
    await page.fill(f"{form} [name=password]", password)
    await submit(page, form)
    assert page.url == live_server.url + "/"
    assert await page.locator("header form[action='/logout']").count() == 1

    # Log out, then in again.
    await submit(page, "header form[action='/logout']")
    assert "/login" in page.url
    await page.fill("form[action='/login'] [name=username]", name)
    await page.fill("form[action='/login'] [name=password]", password)
    await submit(page, "form[action='/login']")
    assert page.url == live_server.url + "/"

    # Profile: a new picture and a new first name.
    await page.goto("/profile")
    form = "form[action='/profile']"
    await page.set_input_files(
        f"{form} [name=picture]", {"name": "me.png", "mimeType": "image/png", "buffer": png_picture()}
    )
    await page.fill(f"{form} [name=first_name]", "Amazing Grace")
    await submit(page, form)
    assert "/profile" in page.url
    assert await page.input_value(f"{form} [name=first_name]") == "Amazing Grace"
    avatar = await page.get_attribute("header img.avatar", "src")
    assert avatar and avatar.startswith("/media/avatars/"), avatar
    await page.wait_for_function("document.querySelector('header img.avatar').naturalWidth > 0")
    await page.goto(f"/users/{name}")
    assert "Amazing Grace" in await page.inner_text("main")
    assert mail not in await page.content()

    # Theme and language, both remembered.
    await page.click("[data-theme-toggle]")
    assert await page.get_attribute("html", "data-theme") == "light"
    await page.select_option("#language-select", "fr")
    await page.wait_for_function("document.documentElement.lang === 'fr'")
    assert await page.get_attribute("html", "data-theme") == "light"
    assert await page.inner_text("header form[action='/logout'] button") == "Se déconnecter"

    # Log out, forget the password, reset it from the mail.
    await submit(page, "header form[action='/logout']")
    assert "/login" in page.url
    assert await page.get_attribute("html", "lang") == "fr"  # the language cookie stays after logout
    await page.goto("/password/forgot")
    before = len(live_server.mails())
    await page.fill("form[action='/password/forgot'] [name=email]", mail)
    await submit(page, "form[action='/password/forgot']")
    link = await reset_link_from_mail(live_server, before)
    await page.goto(link)
    form = "form[action^='/password/reset/']"
    await page.fill(f"{form} [name=password]", new_password)
    if await page.locator(f"{form} [name=password_confirm]").count():
        await page.fill(f"{form} [name=password_confirm]", new_password)
    await submit(page, form)
    assert "/login" in page.url

    # The old password no longer works; the new one does.
    await page.fill("form[action='/login'] [name=username]", name)
    await page.fill("form[action='/login'] [name=password]", new_password)
    await submit(page, "form[action='/login']")
    assert page.url == live_server.url + "/"
    assert await page.get_attribute("html", "lang") == "fr"
    assert await page.get_attribute("html", "data-theme") == "light"
    scroll_width, inner_width = await no_horizontal_overflow(page)
    assert scroll_width <= inner_width
