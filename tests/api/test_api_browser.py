"""In a real browser: create an API client on its page, then use it from Swagger UI's "Authorize"."""

from __future__ import annotations

import pytest

from tests.fixtures.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


async def test_client_page_then_swagger_authorize_and_try_it_out(open_page, live_server):
    user = await live_server.create_user()
    page = await open_page(width=360)
    await sign_in(page, live_server, user)
    await page.goto("/settings/api-clients")
    await page.get_by_label("Name").fill("Swagger")
    await page.get_by_role("button", name="Create client").click()
    client_id = await page.locator("[data-client-id]").get_attribute("data-client-id")
    secret = await page.locator("[data-client-secret]").get_attribute("data-client-secret")
    assert client_id and secret
    width = await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1]

    docs = await open_page()
    await docs.goto("/api/docs")
    await docs.locator("button.authorize").first.click()
    await docs.locator('input[id^="client_id_"]').fill(client_id)
    await docs.locator('input[id^="client_secret_"]').fill(secret)
    await docs.locator(".auth-btn-wrapper button.authorize").first.click()
    await docs.locator(".modal-ux").get_by_text("Authorized", exact=True).wait_for()
    await docs.locator(".auth-btn-wrapper button.btn-done").first.click()

    await docs.locator("#operations-movies-listMovies .opblock-summary").click()
    await docs.locator("#operations-movies-listMovies button.execute").click()
    status = docs.locator("#operations-movies-listMovies .live-responses-table tbody .response-col_status")
    await status.first.wait_for()
    assert (await status.first.inner_text()).strip().startswith("200")
    body = await docs.locator("#operations-movies-listMovies .live-responses-table").inner_text()
    assert "next_cursor" in body
