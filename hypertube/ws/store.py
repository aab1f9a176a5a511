"""Shared live state (rate counters, party state, presence, socket sessions): in-process, or Redis when
configured, so that limits and parties hold across server processes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

import orjson

from hypertube.cache import Cache, RedisCache

PRESENCE_TTL = 12 * 3600  # a crashed process leaves entries behind at most this long
LOCK_TTL = 5.0  # seconds a lock outlives a process that died holding it


class LiveStore(Cache, Protocol):
    """The cache's operations plus who is in which room."""

    async def presence_add(self, room: str, sid: str, member: dict[str, Any]) -> None: ...
    async def presence_remove(self, room: str, sid: str) -> None: ...
    async def presence_list(self, room: str) -> list[dict[str, Any]]: ...
    def lock(self, key: str) -> AbstractAsyncContextManager[None]:
        """Serialises read-modify-write of `key` (across processes with Redis)."""
        ...


class MemoryStore:
    def __init__(self) -> None:
        self._values: dict[str, tuple[float, Any]] = {}
        self._presence: dict[str, dict[str, dict[str, Any]]] = {}
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def _sweep(self) -> None:
        if len(self._values) > 10_000:
            now = time.monotonic()
            for k in [k for k, (exp, _) in self._values.items() if exp <= now]:
                del self._values[k]

    async def hit(self, key: str, window: float) -> tuple[int, float]:
        now = time.monotonic()
        exp, count = self._values.get(key, (0.0, 0))
        if exp <= now:
            self._sweep()
            exp, count = now + window, 0
        self._values[key] = (exp, count + 1)
        return count + 1, exp - now

    async def get(self, key: str) -> Any | None:
        item = self._values.get(key)
        if item is None or item[0] <= time.monotonic():
            return None
        return item[1]

    async def set(self, key: str, value: Any, ttl: float) -> None:
        self._sweep()
        self._values[key] = (time.monotonic() + ttl, value)

    async def delete(self, key: str) -> None:
        self._values.pop(key, None)

    async def presence_add(self, room: str, sid: str, member: dict[str, Any]) -> None:
        self._presence.setdefault(room, {})[sid] = member

    async def presence_remove(self, room: str, sid: str) -> None:
        members = self._presence.get(room)
        if members is not None:
            members.pop(sid, None)
            if not members:
                del self._presence[room]

    async def presence_list(self, room: str) -> list[dict[str, Any]]:
        return list(self._presence.get(room, {}).values())

    async def close(self) -> None:
        self._values.clear()
        self._presence.clear()


class RedisStore(RedisCache):
    def __init__(self, url: str, prefix: str):
        import redis.asyncio as redis

        # A blocking pool: a burst of joins waits for a connection instead of failing.
        pool = redis.BlockingConnectionPool.from_url(url, max_connections=32, timeout=10)
        self._redis = redis.Redis(connection_pool=pool)
        self._prefix = prefix

    @asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        async with self._redis.lock(
            self._prefix + "lock:" + key, timeout=LOCK_TTL, blocking_timeout=LOCK_TTL
        ):
            yield

    async def presence_add(self, room: str, sid: str, member: dict[str, Any]) -> None:
        k = self._prefix + "presence:" + room
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(k, sid, orjson.dumps(member))
            pipe.expire(k, PRESENCE_TTL)
            await pipe.execute()

    async def presence_remove(self, room: str, sid: str) -> None:
        await self._redis.hdel(self._prefix + "presence:" + room, sid)

    async def presence_list(self, room: str) -> list[dict[str, Any]]:
        raw = await self._redis.hvals(self._prefix + "presence:" + room)
        return [orjson.loads(v) for v in raw]


def make_store(redis_url: str | None, prefix: str) -> LiveStore:
    return RedisStore(redis_url, prefix) if redis_url else MemoryStore()
