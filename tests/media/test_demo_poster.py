"""Demo films come without a poster: theirs is made from one of their own frames (PyAV, in a worker)."""

from __future__ import annotations

import shutil

import orjson
from PIL import Image

from hypertube.cache import MemoryCache
from hypertube.catalog.artwork import Artwork
from hypertube.catalog.records import SearchFilters
from hypertube.catalog.sources import DemoSource
from hypertube.media.generate import DEMO_SPECS
from hypertube.media.poster import poster_frame


async def test_a_demo_film_gets_a_poster_from_its_own_frames(tmp_path, films):
    slug, title, container = DEMO_SPECS[0][:3]
    video = tmp_path / "demo" / "films" / slug / f"{slug}.{container}"
    video.parent.mkdir(parents=True)
    shutil.copy(films["mp4-h264-aac"], video)
    manifest = tmp_path / "demo" / "manifest.json"
    manifest.write_bytes(orjson.dumps([{"id": "demo-mp4", "title": title, "info_hash": "c" * 40}]))
    demo = DemoSource(manifest)
    [film] = await demo.search("", 1, SearchFilters())
    artwork = Artwork(tmp_path / "images", "secret", MemoryCache(), read_local=demo.poster)
    cover = artwork.picture("cover", film.cover_url)
    assert cover is not None and cover.src.startswith("/images/cover/")
    signature = cover.src.split("/")[3]
    path = await artwork.path("cover", signature, 342, film.cover_url or "")
    poster = Image.open(path)
    assert poster.format == "WEBP" and poster.size == (342, 513)
    low, high = poster.convert("L").getextrema()
    assert high - low > 30  # a picture of the film, not a blank


def test_a_file_without_video_gives_no_frame(tmp_path):
    (tmp_path / "x.mp4").write_bytes(b"not a film")
    assert poster_frame(tmp_path / "x.mp4") is None


async def test_an_unknown_demo_film_has_no_poster(tmp_path):
    demo = DemoSource(tmp_path / "manifest.json")
    assert await demo.poster("demo-frame:nothing") is None
    assert await demo.poster("https://example.org/x.jpg") is None
