"""OpenSubtitles REST API v1: find a film's subtitles by IMDb id and download one per language, backing
off (as the service asks with `Retry-After`) when it is busy, over its quota or failing."""

from __future__ import annotations

import logging
import time
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
import orjson

from hypertube.cache import Cache
from hypertube.capped import read_capped

log = logging.getLogger(__name__)
MAX_BYTES = 5 * 1024 * 1024
MAX_ANSWER_BYTES = 1024 * 1024  # a search or download answer is a few KiB of JSON
TIMEOUT = aiohttp.ClientTimeout(total=10)
BACKOFF_KEY = "opensubtitles:backoff"
FAILURES_KEY = "opensubtitles:failures"
FIRST_BACKOFF = 30.0
MAX_BACKOFF = 3600.0
# 429: too many requests; 406: the daily download quota is used up; 5xx: the service is failing.
BUSY = frozenset({406, 429})


class OpenSubtitlesBusy(Exception):
    """The service asked us to wait (or failed); nothing it said is to be kept."""


def retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header: a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class OpenSubtitles:
    def __init__(self, session: aiohttp.ClientSession, base_url: str, api_key: str, cache: Cache):
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.cache = cache
        self.headers = {"Api-Key": api_key, "Accept": "application/json", "User-Agent": "Hypertube v0.1"}

    async def _back_off(self, resp: aiohttp.ClientResponse) -> None:
        failures, _ = await self.cache.hit(FAILURES_KEY, MAX_BACKOFF)
        wait = retry_after(resp.headers.get("Retry-After"))
        if wait is None:
            wait = FIRST_BACKOFF * 2 ** (failures - 1)
        wait = min(max(wait, 1.0), MAX_BACKOFF)
        await self.cache.set(BACKOFF_KEY, 1, wait)
        log.info("OpenSubtitles answered %s; not asked again for %.0f s", resp.status, wait)
        raise OpenSubtitlesBusy(f"answered {resp.status}")

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON answer, or None when the request was refused for good (a bad key, an unknown
        file). Raises OpenSubtitlesBusy while backing off and for the answers that call for it."""
        if await self.cache.get(BACKOFF_KEY) is not None:
            raise OpenSubtitlesBusy("backing off")
        async with self.session.request(
            method, self.base_url + path, headers=self.headers, timeout=TIMEOUT, **kwargs
        ) as resp:
            if resp.status in BUSY or resp.status >= 500:
                await self._back_off(resp)
            if resp.status != 200:
                log.info("OpenSubtitles %s answered %s", path, resp.status)
                return None
            body = await read_capped(resp, MAX_ANSWER_BYTES)
        await self.cache.delete(FAILURES_KEY)
        if body is None:
            raise OpenSubtitlesBusy("answer larger than the limit")
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            raise OpenSubtitlesBusy("answer that is not JSON") from None

    async def search(self, imdb_id: str, languages: list[str]) -> dict[str, int]:
        """{language: file_id} with the most downloaded file of each language asked for."""
        number = imdb_id.removeprefix("tt").lstrip("0") or "0"
        params = {"imdb_id": number, "languages": ",".join(sorted(set(languages)))}
        body = await self._json("GET", "/subtitles", params=params)
        best: dict[str, tuple[int, int]] = {}
        items = body.get("data") if isinstance(body, dict) else None
        for item in items if isinstance(items, list) else []:
            attrs = (item.get("attributes") if isinstance(item, dict) else None) or {}
            lang = str(attrs.get("language") or "").lower()[:2]
            files = attrs.get("files") or []
            if lang not in languages or not files or not isinstance(files[0].get("file_id"), int):
                continue
            count = int(attrs.get("download_count") or 0)
            if lang not in best or count > best[lang][0]:
                best[lang] = (count, files[0]["file_id"])
        return {lang: fid for lang, (_, fid) in best.items()}

    async def download(self, file_id: int) -> bytes | None:
        body = await self._json("POST", "/download", json={"file_id": file_id})
        link = body.get("link") if isinstance(body, dict) else None
        if not isinstance(link, str) or not link.startswith(("http://", "https://")):
            return None
        async with self.session.get(link, timeout=TIMEOUT) as resp:
            if resp.status != 200:
                return None
            return await read_capped(resp, MAX_BYTES)
