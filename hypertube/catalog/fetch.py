"""JSON over HTTP for the sources: size and time limits, retries with exponential backoff, a TTL cache
with a stale copy served while a source is down, and a short note per source that could not be reached."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
import orjson

from hypertube.cache import Cache
from hypertube.capped import read_capped
from hypertube.catalog.records import SourceUnavailable

log = logging.getLogger(__name__)
STALE_TTL = 24 * 3600
# A source that could not be reached is left alone this long, so that pages stay fast while it is down;
# short, so that one bad moment does not hide it from every search for minutes.
HEALTH_TTL = 30
MAX_ANSWER_BYTES = 8 * 1024 * 1024  # the largest real answers (Archive metadata) are a few hundred KiB


class _Retryable(Exception):
    pass


@dataclass(frozen=True)
class _Request:
    source: str
    url: str
    params: list[tuple[str, str]]
    headers: dict[str, str] | None
    not_found_ok: bool


class JsonFetcher:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        cache: Cache,
        *,
        timeout: float = 4.0,
        retries: int = 2,
        backoff: float = 0.2,
        max_bytes: int = MAX_ANSWER_BYTES,
    ):
        self.session = session
        self.max_bytes = max_bytes
        self.cache = cache
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff

    async def get(
        self,
        source: str,
        url: str,
        params: list[tuple[str, str]] | dict[str, str] | None = None,
        *,
        ttl: float = 600,
        headers: dict[str, str] | None = None,
        not_found_ok: bool = False,
        check: Callable[[Any], object] | None = None,
    ) -> Any:
        """The decoded JSON answer, from the cache when fresh. Raises SourceUnavailable when the source
        fails and no earlier answer is kept; a kept answer is returned instead (and the failure noted).
        `check` raises SourceUnavailable for a service's own error answers, which are never cached."""
        items = sorted(params.items()) if isinstance(params, dict) else list(params or [])
        full = url + ("?" + urlencode(items) if items else "")
        key = "src:" + hashlib.sha1(full.encode()).hexdigest()
        cached = await self.cache.get(key)
        if cached is not None:
            return cached["v"]
        try:
            value = await self._fetch(_Request(source, url, items, headers, not_found_ok))
            if check is not None and value is not None:
                check(value)
        except SourceUnavailable as exc:
            if exc.down:
                await self.note_health(source, exc.reason)
            stale = await self.cache.get("stale:" + key)
            if stale is not None:
                log.warning("%s unavailable (%s); serving the kept answer", source, exc.reason)
                return stale["v"]
            raise
        await self.cache.set(key, {"v": value}, ttl)
        await self.cache.set("stale:" + key, {"v": value}, STALE_TTL)
        await self.note_health(source, None)
        return value

    async def _fetch(self, request: _Request) -> Any:
        reason = "no answer"
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                return await self._once(request)
            except _Retryable as exc:
                reason = str(exc)
                log.info("%s attempt %d failed: %s", request.source, attempt + 1, reason)
        raise SourceUnavailable(request.source, reason, down=True)

    async def _once(self, request: _Request) -> Any:
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        source = request.source
        try:
            async with self.session.get(
                request.url, params=request.params, headers=request.headers, timeout=timeout
            ) as resp:
                if resp.status >= 500:
                    raise _Retryable(f"server error {resp.status}")
                body = await read_capped(resp, self.max_bytes)
                if body is None:
                    raise SourceUnavailable(source, "sent an answer larger than the limit")
                if resp.status == 404 and request.not_found_ok:
                    return None
                if resp.status >= 400:
                    # 4xx will not get better by asking again.
                    raise SourceUnavailable(source, f"refused the request ({resp.status})")
        except TimeoutError:
            raise _Retryable("timed out") from None
        except aiohttp.ClientError as exc:
            raise _Retryable(f"connection failed ({type(exc).__name__})") from None
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            raise SourceUnavailable(source, "sent an answer that is not JSON") from None

    async def note_health(self, source: str, problem: str | None) -> None:
        if problem is None:
            await self.cache.delete(f"health:{source}")
        else:
            await self.cache.set(f"health:{source}", {"problem": problem, "at": time.time()}, HEALTH_TTL)

    async def problem(self, source: str) -> str | None:
        note = await self.cache.get(f"health:{source}")
        return note.get("problem") if isinstance(note, dict) else None
