"""An HTTP BitTorrent tracker (BEP 3 announce, BEP 23 compact and BEP 7 IPv6 peer lists): hands the
demo swarm's seeder to the engine, and the loopback swarms of the tests and benchmarks."""

from __future__ import annotations

import ipaddress
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import libtorrent as lt
from aiohttp import web

log = logging.getLogger(__name__)

ANNOUNCE_INTERVAL = 1800  # seconds between a client's regular announces (what public trackers ask)
MAX_PEERS = 200  # peers kept per torrent; the oldest goes first (never a pinned one)
NUMWANT = 50  # peers given in one answer when the client does not say how many it wants
KEPT_ANNOUNCES = 10_000  # the latest announces kept in `Tracker.announces`
EVENTS = ("", "started", "stopped", "completed", "paused", "empty")


@dataclass
class Announce:
    """One announce as the tracker read it (kept for the tests and benchmarks)."""

    info_hash: str
    event: str
    port: int
    left: int | None  # bytes the client still lacks; None when it did not say (counted as a leecher)
    at: float


class AnnounceError(ValueError):
    """A query the tracker cannot use; its text is the bencoded `failure reason`."""


@dataclass
class Tracker:
    """The announce handler: peers by torrent, from the announcing client's address and `port`.

    With `torrents` (v1 info hashes, 20 raw bytes each) it answers only for those and gives every other
    info hash a `failure reason`; without, it tracks any torrent. Every answer is bencoded with status
    200, bad queries included, as trackers do: a client reads the reason, never an HTTP error.

    A client that leaves out `left` is counted as a leecher. Peers whose (host, port) is in `pinned`
    (the demo's seeder) are never evicted and come first in every answer."""

    torrents: frozenset[bytes] | None = None
    swarms: dict[bytes, dict[bytes, tuple[str, int, bool]]] = field(default_factory=dict)
    announces: deque[Announce] = field(default_factory=lambda: deque(maxlen=KEPT_ANNOUNCES))
    on_announce: Callable[[Announce], None] | None = None  # called after each announce is recorded
    pinned: frozenset[tuple[str, int]] = frozenset()  # (host, port) of peers never evicted

    async def announce(self, request: web.Request) -> web.Response:
        try:
            answer = self.answer(request.rel_url.raw_query_string, request.remote or "")
        except AnnounceError as exc:
            return bencoded({"failure reason": str(exc)})
        return bencoded(answer)

    def answer(self, raw_query: str, remote: str) -> dict[str, int | str | bytes]:
        """The answer to an announce: its raw query string and the client's address.

        Raises `AnnounceError` for a query it cannot use or a torrent it does not track."""
        query = _query(raw_query)
        info_hash = query.get("info_hash", "").encode("latin-1")
        peer_id = query.get("peer_id", "").encode("latin-1")
        if len(info_hash) != 20:
            raise AnnounceError("info_hash must be 20 bytes")
        if self.torrents is not None and info_hash not in self.torrents:
            raise AnnounceError("unknown torrent")
        if len(peer_id) != 20:
            raise AnnounceError("peer_id must be 20 bytes")
        port = _number(query, "port", 1, 65535)
        left = _number(query, "left", 0, 1 << 62) if "left" in query else None
        wanted = _number(query, "numwant", 0, MAX_PEERS, default=NUMWANT)
        event = query.get("event", "")
        if event not in EVENTS:
            raise AnnounceError("unknown event")
        try:
            host = ipaddress.ip_address(remote)
        except ValueError:
            raise AnnounceError("no client address") from None
        if isinstance(host, ipaddress.IPv6Address) and host.ipv4_mapped is not None:
            host = host.ipv4_mapped
        self.announces.append(Announce(info_hash.hex(), event, port, left, time.monotonic()))
        swarm = self.swarms.setdefault(info_hash, {})
        swarm.pop(peer_id, None)
        if event != "stopped":
            swarm[peer_id] = (str(host), port, left == 0)
            while len(swarm) > MAX_PEERS:
                oldest = next((pid for pid, p in swarm.items() if p[:2] not in self.pinned), None)
                if oldest is None:
                    break
                del swarm[oldest]
        if self.on_announce is not None:
            self.on_announce(self.announces[-1])
        newest_first = [p for pid, p in reversed(swarm.items()) if pid != peer_id]
        others = sorted(newest_first, key=lambda p: p[:2] not in self.pinned)[:wanted]
        seeds = sum(1 for p in swarm.values() if p[2])
        return {
            "interval": ANNOUNCE_INTERVAL,
            "min interval": 1,
            "complete": seeds,
            "incomplete": len(swarm) - seeds,
            "peers": b"".join(_compact(h, p) for h, p, _ in others if ":" not in h),
            "peers6": b"".join(_compact(h, p) for h, p, _ in others if ":" in h),
        }


def _query(raw: str) -> dict[str, str]:
    # The info hash and peer id are raw bytes, percent-encoded: decoded as latin-1 they keep each byte.
    try:
        return {k: v[0] for k, v in parse_qs(raw, encoding="latin-1", max_num_fields=32).items()}
    except ValueError:
        raise AnnounceError("too many query fields") from None


def _number(query: dict[str, str], name: str, low: int, high: int, *, default: int | None = None) -> int:
    text = query.get(name)
    if text is None and default is not None:
        return default
    if text is None or not text.isascii() or not text.isdigit() or not low <= int(text) <= high:
        raise AnnounceError(f"{name} must be a number from {low} to {high}")
    return int(text)


def _compact(host: str, port: int) -> bytes:
    return ipaddress.ip_address(host).packed + port.to_bytes(2, "big")


def bencoded(answer: dict[str, int | str | bytes]) -> web.Response:
    """The answer bencoded (libtorrent's encoder wants bytes for the keys and texts)."""
    entry: dict[bytes, Any] = {k.encode(): v.encode() if isinstance(v, str) else v for k, v in answer.items()}
    return web.Response(body=lt.bencode(entry), content_type="text/plain")


class TrackerServer:
    """A tracker on its own listener (`/announce`), e.g. on 127.0.0.1 for the demo swarm."""

    def __init__(self, tracker: Tracker):
        self.tracker = tracker
        self.port = 0
        self.host = "127.0.0.1"
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/announce"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listens on `host:port` (0: any free port); raises `OSError` when the port is taken."""
        app = web.Application()
        app.router.add_get("/announce", self.tracker.announce)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        self.host = host
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
