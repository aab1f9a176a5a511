"""What the sources asked over HTTP share: the JSON fetcher, the service's base URL and a page size."""

from __future__ import annotations

from hypertube.catalog.fetch import JsonFetcher


class RemoteSource:
    name: str
    label: str

    def __init__(self, fetcher: JsonFetcher, base_url: str, page_size: int = 50):
        self.fetcher = fetcher
        self.base_url = base_url.rstrip("/")
        self.page_size = page_size
