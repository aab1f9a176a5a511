"""A small TTL cache and counter store: in-process by default, Redis when HYPERTUBE_REDIS_URL is set."""

from __future__ import annotations

import time
from typing import Any, Protocol

import orjson


class Cache(Protocol):
    async def get(self, key: str) -> Any | None: ...
    async def set(self, key: str, value: Any, ttl: float) -> None: ...
    async def delete(self, key: str) -> None: ...
    async def hit(self, key: str, window: float) -> tuple[int, float]:
        """Counts one event in a fixed window; returns (count so far, seconds until the window resets)."""
        ...

    async def close(self) -> None: ...


class MemoryCache:
    def __init__(self, max_entries: int = 50_000):
        self._data: dict[str, tuple[float, Any]] = {}
        self._max = max_entries

    def _expire(self) -> None:
        now = time.monotonic()
        for k in [k for k, (exp, _) in self._data.items() if exp <= now]:
            del self._data[k]
        while len(self._data) >= self._max:
            self._data.pop(next(iter(self._data)))

    async def get(self, key: str) -> Any | None:
        item = self._data.get(key)
        if item is None:
            return None
        if item[0] <= time.monotonic():
            del self._data[key]
            return None
        return item[1]

    async def set(self, key: str, value: Any, ttl: float) -> None:
        if len(self._data) >= self._max:
            self._expire()
        self._data[key] = (time.monotonic() + ttl, value)

    async def delete(self, key: str) -> None:
        self._data.pop(key, None)

    async def hit(self, key: str, window: float) -> tuple[int, float]:
        now = time.monotonic()
        exp, count = self._data.get(key, (0.0, 0))
        if exp <= now:
            exp, count = now + window, 0
        count += 1
        self._data[key] = (exp, count)
        return count, exp - now

    async def close(self) -> None:
        self._data.clear()


class RedisCache:
    def __init__(self, url: str, prefix: str = "ht:"):
        import redis.asyncio as redis

        self._redis = redis.from_url(url)
        self._prefix = prefix

    async def get(self, key: str) -> Any | None:
        raw = await self._redis.get(self._prefix + key)
        return None if raw is None else orjson.loads(raw)

    async def set(self, key: str, value: Any, ttl: float) -> None:
        await self._redis.set(self._prefix + key, orjson.dumps(value), px=max(1, int(ttl * 1000)))

    async def delete(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)

    async def hit(self, key: str, window: float) -> tuple[int, float]:
        k = self._prefix + "hit:" + key
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(k)
            pipe.pexpire(k, max(1, int(window * 1000)), nx=True)
            pipe.pttl(k)
            count, _, ttl_ms = await pipe.execute()
        return int(count), max(ttl_ms, 0) / 1000

    async def close(self) -> None:
        await self._redis.aclose()


def make_cache(redis_url: str | None, prefix: str = "ht:") -> Cache:
    return RedisCache(redis_url, prefix) if redis_url else MemoryCache()
