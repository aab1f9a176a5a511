"""The page shell in a real browser: theme without flash, language switch, toasts, form validation,
keyboard use, and every page at 360 px and 1280 px without horizontal scrolling."""

from __future__ import annotations

import asyncio
import re

import pytest

from hypertube.keys import POOL
from tests.fixtures.browser import expect_error_status, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

# Registered before any page script: records the theme when the first frame is about to be painted.
FIRST_PAINT_PROBE = """
window.__firstPaint = null;
requestAnimationFrame(() => {
  const root = document.documentElement;
  window.__firstPaint = {
    theme: root.getAttribute("data-theme"),
    background: document.body ? getComputedStyle(document.body).backgroundColor : null,
  };
});
"""
DARK_BG = "rgb(14, 14, 18)"
LIGHT_BG = "rgb(245, 245, 248)"


async def signed_in_page(open_page, live_server, **options):
    """A page with a signed-in user (whose language is English) on the library, a page every build has."""
    page = await open_page(**options)
    await sign_in(page, live_server, await live_server.create_user())
    return page


async def body_background(page) -> str:
    return await page.evaluate("getComputedStyle(document.body).backgroundColor")


async def test_theme_follows_the_system_when_nothing_was_chosen(open_page, live_server):
    dark = await signed_in_page(open_page, live_server, color_scheme="dark")
    await dark.goto("/")
    assert await body_background(dark) == DARK_BG
    assert await dark.get_attribute("[data-theme-toggle]", "aria-pressed") == "true"
    light = await open_page(color_scheme="light")
    expect_error_status(light, 404)
    await light.goto("/no-such-page")
    assert await body_background(light) == LIGHT_BG
    assert await light.get_attribute("[data-theme-toggle]", "aria-pressed") == "false"


async def test_theme_toggle_persists_across_reload_without_flash(open_page, live_server):
    page = await signed_in_page(open_page, live_server, color_scheme="dark")
    await page.add_init_script(FIRST_PAINT_PROBE)
    await page.goto("/")
    assert await body_background(page) == DARK_BG
    await page.click("[data-theme-toggle]")
    assert await page.get_attribute("html", "data-theme") == "light"
    assert await body_background(page) == LIGHT_BG
    assert await page.get_attribute("[data-theme-toggle]", "aria-pressed") == "false"
    assert await page.evaluate("localStorage.getItem('theme')") == "light"
    cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
    assert cookies.get("theme") == "light"

    # The server renders the choice, so the very first frame after a reload is already light.
    response = await page.reload()
    assert response is not None
    assert re.search(r'<html[^>]*data-theme="light"', await response.text())
    await page.wait_for_function("window.__firstPaint !== null")
    first = await page.evaluate("window.__firstPaint")
    assert first["theme"] == "light", first
    assert first["background"] in (None, LIGHT_BG), first
    assert await body_background(page) == LIGHT_BG

    # Also when only localStorage remembers it (cookie lost): theme-init.js applies it before paint.
    await page.context.clear_cookies(name="theme")
    await page.goto("/")
    await page.wait_for_function("window.__firstPaint !== null")
    assert (await page.evaluate("window.__firstPaint"))["theme"] == "light"
    assert {c["name"]: c["value"] for c in await page.context.cookies()}.get("theme") == "light"

    await page.click("[data-theme-toggle]")
    await page.goto("/")
    assert await body_background(page) == DARK_BG
    assert await page.get_attribute("html", "data-theme") == "dark"


async def test_language_switch_to_french_and_back(open_page):
    page = await open_page()
    expect_error_status(page, 404)
    await page.goto("/no-such-page?x=1")
    assert await page.get_attribute("html", "lang") == "en"
    assert await page.inner_text("label[for=language-select]") == "Language"
    await page.select_option("#language-select", "fr")
    await page.wait_for_function("document.documentElement.lang === 'fr'")
    assert page.url.endswith("/no-such-page?x=1")
    assert await page.inner_text("h1") == "Page introuvable"
    assert await page.inner_text("label[for=language-select]") == "Langue"
    assert await page.inner_text(".skip-link") == "Aller au contenu"
    await page.reload()
    assert await page.get_attribute("html", "lang") == "fr"
    await page.select_option("#language-select", "en")
    await page.wait_for_function("document.documentElement.lang === 'en'")
    assert await page.inner_text("label[for=language-select]") == "Language"


async def test_accept_language_picks_french(open_page):
    page = await open_page(locale="fr-FR")
    expect_error_status(page, 404)
    await page.goto("/login")
    assert await page.get_attribute("html", "lang") == "fr"
    assert await page.inner_text("label[for=language-select]") == "Langue"


async def test_signed_in_users_language_wins(open_page, live_server):
    user = await live_server.create_user(language="fr")
    page = await open_page(locale="en-US")
    await sign_in(page, live_server, user)
    await page.goto("/")
    assert await page.get_attribute("html", "lang") == "fr"
    await page.select_option("#language-select", "en")
    await page.wait_for_function("document.documentElement.lang === 'en'")
    assert await live_server.app[POOL].fetchval("SELECT language FROM users WHERE id = $1", user.id) == "en"


async def test_skip_link_and_visible_focus(open_page, live_server):
    page = await signed_in_page(open_page, live_server)
    await page.goto("/")
    await page.keyboard.press("Tab")
    focused = await page.evaluate(
        "[document.activeElement.className, document.activeElement.textContent.trim()]"
    )
    assert focused == ["skip-link", "Skip to content"]
    # The link slides in with a short transition: wait for its end rather than sample mid-way (polled
    # from here: the page's CSP forbids the string evaluation `wait_for_function` would need).
    box = await page.locator(".skip-link").bounding_box()
    for _ in range(40):
        if box and box["y"] >= 0:
            break
        await asyncio.sleep(0.05)
        box = await page.locator(".skip-link").bounding_box()
    assert box and box["y"] >= 0, "the skip link must come into view when focused"
    outline = await page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    await page.keyboard.press("Enter")
    assert await page.evaluate("document.activeElement.id") == "main"
    # From the main content, the next stop is past the header (the skip link did its job).
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.closest('header') === null")
    assert await page.evaluate("document.activeElement !== document.body")

    # From the top, every control is reachable in order, each with a visible focus indicator.
    await page.reload()
    seen = []
    for _ in range(20):
        await page.keyboard.press("Tab")
        info = await page.evaluate(
            """() => { const el = document.activeElement; const s = getComputedStyle(el);
                 return [el.tagName, (el.getAttribute('aria-label') || el.textContent).trim().slice(0, 40),
                         s.outlineStyle, s.boxShadow]; }"""
        )
        if info[0] == "BODY":
            break
        seen.append(info[:2])
        assert info[2] != "none" or info[3] != "none", f"no visible focus on {info}"
    names = [name for _, name in seen]
    assert names[:2] == ["Skip to content", "Hypertube home"], names
    for expected in ("Library", "Profile", "Log out", "Dark theme", "English\n          Français"):
        assert any(n.startswith(expected.split("\n")[0]) for n in names), (expected, names)


async def test_theme_toggle_works_from_the_keyboard(open_page, live_server):
    page = await signed_in_page(open_page, live_server, color_scheme="light")
    await page.goto("/")
    await page.focus("[data-theme-toggle]")
    await page.keyboard.press("Enter")
    assert await page.get_attribute("html", "data-theme") == "dark"
    await page.keyboard.press("Space")
    assert await page.get_attribute("html", "data-theme") == "light"


async def test_without_scripts_the_shell_still_works(open_page):
    page = await open_page(java_script_enabled=False, color_scheme="dark")
    expect_error_status(page, 404)
    await page.goto("/no-such-page")
    assert await page.locator("[data-theme-toggle]").is_hidden()  # it would do nothing
    assert await body_background(page) == DARK_BG  # the system theme still applies
    button = page.locator(".language-form [type=submit]")
    assert await button.is_visible()
    await page.select_option("#language-select", "fr")
    async with page.expect_navigation():
        await button.click()
    assert await page.get_attribute("html", "lang") == "fr"


async def test_toasts_close_with_escape(open_page, live_server):
    page = await signed_in_page(open_page, live_server)
    await page.goto("/")
    await page.evaluate("import('/static/js/util.js').then((m) => m.toast('Hello', 'info', { timeout: 0 }))")
    await page.focus(".toast .toast-close")
    await page.keyboard.press("Escape")
    await page.locator(".toast").wait_for(state="detached")
