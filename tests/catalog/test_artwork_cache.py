"""The picture cache: the first library page's covers are made before a browser asks for them, and the
janitor prunes `$DATA_DIR/images/` by when each picture was last served and by total size."""

from __future__ import annotations

import os
import shutil
import time

from hypertube.catalog.artwork import WIDTHS, prune, resize
from hypertube.keys import CATALOG
from tests.catalog.test_artwork import pictures
from tests.fixtures.catalog import jpeg, yts_movie
from tests.fixtures.torrent import wait_until


def _made(images, kind: str = "cover") -> set[str]:
    """Signatures of the pictures on disk in every width of `kind`."""
    return {
        folder.name
        for folder in images.glob("??/*")
        if all((folder / f"{w}.webp").is_file() for w in WIDTHS[kind])
    }


async def test_the_first_pages_covers_are_made_before_a_browser_asks(signed_in, upstreams, settings):
    upstreams.images["poster.jpg"] = (jpeg(600, 900), "image/jpeg")
    upstreams.yts_movies = [yts_movie(1, "Crimson Harbor", cover=upstreams.image_url("poster.jpg"))]
    client = await signed_in(sources=("yts",))
    images = settings.data_dir / "images"
    [cover] = pictures(await (await client.get("/")).text())
    signature = cover["src"].split("/")[3]
    # The page only named the picture; the server made it meanwhile, in every width.
    await wait_until(lambda: signature in _made(images), 15)
    resp = await client.get(cover["src"])
    assert resp.status == 200 and resp.headers["Content-Type"] == "image/webp"
    assert upstreams.hits["img:poster.jpg"] == 1


async def test_a_restarted_server_makes_the_first_pages_covers_at_once(
    aiohttp_client, make_app, signed_in, upstreams, settings
):
    upstreams.images["poster.jpg"] = (jpeg(600, 900), "image/jpeg")
    upstreams.yts_movies = [yts_movie(1, "Crimson Harbor", cover=upstreams.image_url("poster.jpg"))]
    first = await signed_in(sources=("yts",))
    [cover] = pictures(await (await first.get("/")).text())
    signature = cover["src"].split("/")[3]
    images = settings.data_dir / "images"
    await wait_until(lambda: signature in _made(images), 15)
    await first.close()
    shutil.rmtree(images)  # pruned meanwhile
    # Nobody asks for anything: the stored films' first page has its covers again.
    await aiohttp_client(make_app(**upstreams.settings("yts")))
    await wait_until(lambda: signature in _made(images), 15)
    assert upstreams.hits["img:poster.jpg"] == 2


async def test_pictures_are_pruned_by_last_use_then_by_size(tmp_path):
    root = tmp_path / "images"
    now = time.time()
    ages = {"a" * 32: 40, "b" * 32: 10, "c" * 32: 5, "d" * 32: 1}  # days since last served
    for signature, days in ages.items():
        folder = root / signature[:2] / signature
        resize(jpeg(600, 900), "cover", folder)
        os.utime(folder, (now - days * 86400, now - days * 86400))
    one = sum(f.stat().st_size for f in (root / "dd" / ("d" * 32)).iterdir())
    # Not served for 30 days: gone, whatever room there is.
    assert prune(root, 30 * 86400, 10**9) == ["a" * 32]
    # Then, over the size limit, the least recently served go first, never one being made.
    assert prune(root, 30 * 86400, int(one * 1.5), busy=frozenset({"b" * 32})) == ["c" * 32]
    assert sorted(p.name for p in root.glob("??/*")) == ["b" * 32, "d" * 32]


async def test_a_served_picture_is_kept_and_an_unserved_one_pruned(signed_in, upstreams, settings):
    upstreams.images["poster.jpg"] = (jpeg(600, 900), "image/jpeg")
    upstreams.images["other.jpg"] = (jpeg(600, 900, (10, 200, 10)), "image/jpeg")
    upstreams.yts_movies = [
        yts_movie(1, "Crimson Harbor", cover=upstreams.image_url("poster.jpg")),
        yts_movie(2, "Green Harbor", cover=upstreams.image_url("other.jpg")),
    ]
    client = await signed_in(sources=("yts",))
    images = settings.data_dir / "images"
    covers = pictures(await (await client.get("/", params={"q": "harbor"})).text())
    signatures = [c["src"].split("/")[3] for c in covers]
    await wait_until(lambda: set(signatures) <= _made(images), 15)
    long_ago = time.time() - 40 * 86400
    for signature in signatures:
        os.utime(images / signature[:2] / signature, (long_ago, long_ago))
    # A browser still shows the first film: serving its picture dates it.
    assert (await client.get(covers[0]["src"])).status == 200
    assert await client.app[CATALOG].artwork.prune(30) == [signatures[1]]
    assert _made(images) == {signatures[0]}
