"""Screenshots of every page, dark and light, 1280 and 360 px wide, into docs/screens/ as WebP.

`make screens` runs it: it starts `hypertube serve --demo` on a free loopback port (data in `var/screens`,
the database from `HYPERTUBE_DATABASE_URL` or an embedded one there), registers a user through the
sign-up form (the demo films as the only source), opens each page in Debian's chromium and saves `docs/screens/{page}-{theme}-{width}.webp`.
`--url http://127.0.0.1:8000` uses a server that is already running instead.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from PIL import Image
from playwright.async_api import Page, async_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screens"
CHROMIUM = os.environ.get("HYPERTUBE_CHROMIUM", "/usr/bin/chromium")
WIDTHS = {1280: 800, 360: 740}
THEMES = ("dark", "light")
# Name of the shot → path; `{film}` and `{user}` are filled in once the library shows a film.
PAGES = {
    "library": "/",
    "film": "/movies/{film}",
    "profile": "/profile",
    "user": "/users/{user}",
    "sessions": "/settings/sessions",
    "api-clients": "/settings/api-clients",
    "api-docs": "/api/docs",
    "not-found": "/no-such-page",
}
PUBLIC_PAGES = {
    "login": "/login",
    "register": "/register",
    "forgot": "/password/forgot",
}
QUALITY = 50
# Wide shots are stored at three quarters of their size: readable, and the folder stays small.
SCALE = {1280: 0.75, 360: 1.0}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server() -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {
        **os.environ,
        "HYPERTUBE_DATA_DIR": str(ROOT / "var" / "screens"),
        # The demo films only: the same pictures every time, and no wait on sources out of reach.
        "HYPERTUBE_SOURCES": "demo",
        "HYPERTUBE_BCRYPT_COST": "4",
        "HYPERTUBE_LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "hypertube", "serve", "--demo", "--port", str(port)], cwd=ROOT, env=env
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped (exit status {server.returncode})")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return server, url
        except OSError:
            time.sleep(0.5)
    server.terminate()
    raise SystemExit("the server did not answer /healthz within 120 s")


async def register(page: Page) -> str:
    """Signs a new user up through the form; returns the username."""
    username = f"ada_{secrets.token_hex(3)}"
    await page.goto("/register")
    await page.fill("#field-email", f"{username}@example.org")
    await page.fill("#field-username", username)
    await page.fill("#field-first_name", "Ada")
    await page.fill("#field-last_name", "Lovelace")
    await page.fill("#field-password", "correct horse battery staple 42")
    async with page.expect_navigation():
        await page.click("form[data-account-form] button[type=submit]")
    return username


async def first_film(page: Page) -> str:
    """The id of the first film the library lists (the demo source fills it on first search)."""
    deadline = time.monotonic() + 600  # a first start generates the demo films: minutes on a busy machine
    while time.monotonic() < deadline:
        await page.goto("/")
        link = page.locator('a[href^="/movies/"]').first
        if await link.count():
            href = await link.get_attribute("href") or ""
            return href.rsplit("/", 1)[-1]
        await asyncio.sleep(1)
    raise SystemExit("the library showed no film within 10 minutes")


async def shoot(page: Page, name: str, path: str) -> int:
    total = 0
    for width, height in WIDTHS.items():
        await page.set_viewport_size({"width": width, "height": height})
        for theme in THEMES:
            await page.emulate_media(color_scheme=theme)
            await page.goto(path)
            await page.wait_for_load_state("networkidle")
            await page.evaluate("document.fonts.ready")
            png = await page.screenshot(animations="disabled", caret="hide")
            image = Image.open(io.BytesIO(png))
            if SCALE[width] != 1.0:
                size = (int(image.width * SCALE[width]), int(image.height * SCALE[width]))
                image = image.resize(size, Image.Resampling.LANCZOS)
            target = OUT / f"{name}-{theme}-{width}.webp"
            image.save(target, "WEBP", quality=QUALITY, method=6)
            total += target.stat().st_size
    return total


async def run(url: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        context = await browser.new_context(
            base_url=url, locale="en-US", viewport={"width": 1280, "height": 800}
        )
        page = await context.new_page()
        total = 0
        for name, path in PUBLIC_PAGES.items():
            total += await shoot(page, name, path)
        user = await register(page)
        film = await first_film(page)
        for name, path in PAGES.items():
            total += await shoot(page, name, path.format(film=film, user=user))
        await browser.close()
    print(f"{len(list(OUT.glob('*.webp')))} screenshots in {OUT.relative_to(ROOT)}, {total / 1024:.0f} KiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running Hypertube to photograph (default: start one with --demo)")
    args = parser.parse_args()
    if args.url:
        asyncio.run(run(args.url.rstrip("/")))
        return
    server, url = start_server()
    try:
        asyncio.run(run(url))
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
