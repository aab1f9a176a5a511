"""Covers and backdrops from our own origin: fetched once by the server, checked, resized into WebP widths,
kept on disk and served with long cache headers; refused pictures leave the placeholder."""

from __future__ import annotations

import html as html_lib
import io
import re

import pytest
from PIL import Image

from hypertube.catalog.artwork import WIDTHS
from hypertube.keys import CATALOG
from tests.fixtures.catalog import jpeg, yts_movie


def pictures(page: str) -> list[dict[str, str]]:
    """The attributes of every picture the page shows from our origin."""
    found = []
    for tag in re.findall(r"<img [^>]*data-artwork[^>]*>", page):
        found.append({k: html_lib.unescape(v) for k, v in re.findall(r'([a-z-]+)="([^"]*)"', tag)})
    return found


@pytest.fixture
async def with_covers(signed_in, upstreams):
    upstreams.images["poster.jpg"] = (jpeg(600, 900), "image/jpeg")
    upstreams.images["backdrop.jpg"] = (jpeg(1600, 900, (20, 90, 200)), "image/jpeg")
    upstreams.yts_movies = [
        yts_movie(1, "Crimson Harbor", cover=upstreams.image_url("poster.jpg"))
        | {"background_image_original": upstreams.image_url("backdrop.jpg")}
    ]
    return await signed_in(sources=("yts",))


async def test_the_library_shows_covers_from_our_origin_in_several_widths(with_covers, upstreams):
    page = await (await with_covers.get("/")).text()
    [cover] = pictures(page)
    assert cover["src"].startswith("/images/cover/") and upstreams.base not in cover["src"].split("?")[0]
    assert [w.split()[-1] for w in cover["srcset"].split(", ")] == [f"{w}w" for w in WIDTHS["cover"]]
    assert (cover["width"], cover["height"]) == ("342", "513")  # the box is known before the picture
    assert "sizes" in cover and cover["loading"] == "lazy"


async def test_a_cover_is_fetched_once_and_served_as_webp_of_the_stated_width(
    with_covers, upstreams, tmp_path
):
    page = await (await with_covers.get("/")).text()
    [cover] = pictures(page)
    for entry in cover["srcset"].split(", "):
        url, width = entry.split()
        resp = await with_covers.get(url)
        assert resp.status == 200 and resp.headers["Content-Type"] == "image/webp"
        assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        picture = Image.open(io.BytesIO(await resp.read()))
        assert picture.format == "WEBP" and picture.size == (int(width[:-1]), int(width[:-1]) * 3 // 2)
    assert (await with_covers.get(cover["src"])).status == 200
    assert upstreams.hits["img:poster.jpg"] == 1
    images = tmp_path / "var" / "images"
    assert sorted(p.name for p in images.rglob("*.webp")) == sorted(f"{w}.webp" for w in WIDTHS["cover"])


async def test_the_film_page_shows_poster_and_backdrop_from_our_origin(with_covers, db, upstreams):
    await with_covers.get("/")
    movie_id = await db.fetchval("SELECT id FROM movies WHERE title = 'Crimson Harbor'")
    page = await (await with_covers.get(f"/movies/{movie_id}")).text()
    found = {p["src"].split("/")[2]: p for p in pictures(page)}
    assert set(found) == {"cover", "backdrop"}
    backdrop = found["backdrop"]
    resp = await with_covers.get(backdrop["src"])
    picture = Image.open(io.BytesIO(await resp.read()))
    assert picture.size == (int(backdrop["width"]), int(backdrop["height"])) == (1280, 720)
    assert upstreams.base not in page.replace(upstreams.base.replace(":", "%3A").replace("/", "%2F"), "")


async def test_the_content_security_policy_allows_pictures_from_our_origin_only(with_covers):
    resp = await with_covers.get("/")
    policy = dict(
        p.strip().split(" ", 1) for p in resp.headers["Content-Security-Policy"].split(";") if p.strip()
    )
    assert "https:" not in policy["img-src"] and "'self'" in policy["img-src"]


@pytest.mark.parametrize("case", ["not_a_picture", "huge", "internal", "missing", "svg"])
async def test_refused_covers_answer_404_and_leave_the_placeholder(signed_in, upstreams, case):
    upstreams.images["page.html"] = (b"<html><body>not a picture</body></html>", "image/jpeg")
    upstreams.images["drawing.svg"] = (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "image/svg+xml")
    url = {
        "not_a_picture": upstreams.image_url("page.html"),
        "huge": upstreams.image_url("huge.jpg"),
        # Loopback under another name than the fakes' host: an internal address, refused.
        "internal": upstreams.image_url("poster.jpg").replace("127.0.0.1", "127.0.0.2"),
        "missing": upstreams.image_url("gone.jpg"),
        "svg": upstreams.image_url("drawing.svg"),
    }[case]
    upstreams.yts_movies = [yts_movie(1, "Broken Cover", cover=url)]
    client = await signed_in(sources=("yts",))
    page = await (await client.get("/")).text()
    [cover] = pictures(page)
    assert 'class="movie-cover-placeholder"' in page  # under the picture, shown when it fails
    for _ in range(2):
        resp = await client.get(cover["src"])
        assert resp.status == 404 and resp.headers["Cache-Control"] == "no-store"
    # Refused once, not fetched again for every request.
    assert upstreams.hits.get(f"img:{url.rsplit('/', 1)[1]}", 0) <= 1
    if case == "huge":
        assert upstreams.sent_bytes < 20 * 1024 * 1024


async def test_addresses_not_signed_by_us_are_refused(with_covers, upstreams):
    page = await (await with_covers.get("/")).text()
    [cover] = pictures(page)
    signature = cover["src"].split("/")[3]
    other = f"/images/cover/{signature}/342.webp?src=" + upstreams.image_url("backdrop.jpg")
    assert (await with_covers.get(other)).status == 404
    assert (await with_covers.get(cover["src"].replace("/342.webp", "/343.webp"))).status == 404
    assert (await with_covers.get("/images/cover/" + "0" * 32 + "/342.webp")).status == 404
    assert upstreams.hits.get("img:backdrop.jpg") is None


async def test_many_asking_at_once_fetch_once(with_covers, upstreams):
    import asyncio

    page = await (await with_covers.get("/")).text()
    [cover] = pictures(page)
    answers = await asyncio.gather(*(with_covers.get(cover["src"]) for _ in range(8)))
    assert {a.status for a in answers} == {200}
    assert upstreams.hits["img:poster.jpg"] == 1
    # The asked width is served as soon as it is written; the other widths may still be under way.
    artwork = with_covers.app[CATALOG].artwork
    await asyncio.gather(*list(artwork._inflight.values()))
    assert artwork._inflight == {}
    assert upstreams.hits["img:poster.jpg"] == 1
