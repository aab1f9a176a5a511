"""Film sources behind the `Source` protocol: YTS, the Internet Archive and the local demo films."""

from __future__ import annotations

from hypertube.cache import Cache
from hypertube.catalog.fetch import JsonFetcher
from hypertube.catalog.records import Source
from hypertube.catalog.sources.archive import ArchiveSource
from hypertube.catalog.sources.demo import DemoSource
from hypertube.catalog.sources.yts import YtsSource
from hypertube.settings import Settings


def build_sources(settings: Settings, fetcher: JsonFetcher, cache: Cache) -> list[Source]:
    sources: list[Source] = []
    for name in settings.sources:
        if name == "yts":
            sources.append(YtsSource(fetcher, settings.yts_url))
        elif name == "archive":
            sources.append(ArchiveSource(fetcher, settings.archive_url))
        elif name == "demo":
            sources.append(DemoSource(settings.data_dir / "demo" / "manifest.json"))
    return sources


__all__ = ["ArchiveSource", "DemoSource", "YtsSource", "build_sources"]
