"""The live nodes: each node announces itself in Redis with a heartbeat; without Redis it is alone."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import orjson

log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL = 2.0
# Three missed heartbeats and a node counts as gone.
NODE_TTL = 6.0


@dataclass(frozen=True, order=True)
class Node:
    id: str
    url: str  # internal address other nodes and the proxy reach it at


class NodeRegistry(Protocol):
    node: Node

    async def beat(self) -> None:
        """Announces (or re-announces) this node as alive for the next NODE_TTL seconds."""
        ...

    async def live(self) -> list[Node]:
        """Every node alive now, this one included, sorted by id."""
        ...

    async def claim(self, chore: str, seconds: float) -> bool:
        """Whether this node does `chore` this round: true for the first node to ask, then false for
        every node until `seconds` have passed (a chore shared by the cluster runs once per round)."""
        ...

    async def leave(self) -> None: ...
    async def close(self) -> None: ...


class LoneRegistry:
    """A node without shared state knows no other node."""

    def __init__(self, node: Node):
        self.node = node

    async def beat(self) -> None:
        return None

    async def live(self) -> list[Node]:
        return [self.node]

    async def claim(self, chore: str, seconds: float) -> bool:
        return True

    async def leave(self) -> None:
        return None

    async def close(self) -> None:
        return None


class RedisNodeRegistry:
    """One key per node expiring after NODE_TTL, and a set of the ids to find them without a scan."""

    def __init__(self, url: str, prefix: str, node: Node, ttl: float = NODE_TTL):
        import redis.asyncio as redis

        self.node = node
        self._redis = redis.from_url(url, decode_responses=True)
        self._members = prefix + "nodes"
        self._prefix = prefix + "node:"
        self._chores = prefix + "chore:"
        self._ttl_ms = int(ttl * 1000)

    async def beat(self) -> None:
        value = orjson.dumps({"id": self.node.id, "url": self.node.url})
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._prefix + self.node.id, value, px=self._ttl_ms)
            pipe.sadd(self._members, self.node.id)
            await pipe.execute()

    async def live(self) -> list[Node]:
        ids = sorted(str(member) for member in await self._redis.smembers(self._members))
        if not ids:
            return []
        values = await self._redis.mget([self._prefix + node_id for node_id in ids])
        gone = [node_id for node_id, value in zip(ids, values, strict=True) if value is None]
        if gone:
            # A node removed here just as it beats again is back in the set with its next beat.
            await self._redis.srem(self._members, *gone)
        return [Node(**orjson.loads(value)) for value in values if value is not None]

    async def claim(self, chore: str, seconds: float) -> bool:
        key = self._chores + chore
        if await self._redis.set(key, self.node.id, nx=True, px=max(1, int(seconds * 1000))):
            log.info("%s: this round runs on this node (%s)", chore, self.node.id)
            return True
        log.info("%s: this round is node %s's", chore, await self._redis.get(key))
        return False

    async def leave(self) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._prefix + self.node.id)
            pipe.srem(self._members, self.node.id)
            await pipe.execute()

    async def close(self) -> None:
        await self._redis.aclose()


def make_registry(redis_url: str | None, prefix: str, node: Node) -> NodeRegistry:
    return RedisNodeRegistry(redis_url, prefix, node) if redis_url else LoneRegistry(node)


async def keep_alive(
    registry: NodeRegistry,
    interval: float = HEARTBEAT_INTERVAL,
    after_beat: Callable[[], Awaitable[object]] | None = None,
) -> None:
    """Beats every `interval` seconds until cancelled, then awaits `after_beat` (if any); a Redis
    hiccup costs one beat, not the loop."""
    while True:
        await asyncio.sleep(interval)
        try:
            await registry.beat()
            if after_beat is not None:
                await after_beat()
        except Exception:
            log.warning("node heartbeat failed; retrying in %.0f s", interval, exc_info=True)
