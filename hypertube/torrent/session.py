"""The libtorrent session: its settings, and its alerts handed to asyncio through a table of handlers."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from typing import Any

import libtorrent as lt

log = logging.getLogger(__name__)

ALERT_MASK = (
    lt.alert_category.error
    | lt.alert_category.status
    | lt.alert_category.storage
    | lt.alert_category.piece_progress
)

AlertHandlers = dict[type, Callable[[Any], None]]
STOP_ANNOUNCES_S = 0.5  # on close, the trackers' answers to "stopped" are awaited this long at most
STOP_POLL_S = 0.02


def session_settings(port: int, dht: bool) -> dict[str, Any]:
    return {
        "listen_interfaces": f"0.0.0.0:{port},[::]:{port}",
        "enable_dht": dht,
        # Local service discovery is off: the session hears its own announce on its IPv6 address and
        # adds itself as a peer; the failed connection to itself, retried on every tracker answer
        # until the retry wait has passed, used up the torrent's "connect boost" (the immediate
        # connections libtorrent makes on a tracker answer), so the peers the tracker named were
        # dialled only on the next once-a-second tick. A cold magnet then met its peer 0.65-1.0 s
        # after the add instead of 12-28 ms (piece timeline with libtorrent's peer log).
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "tick_interval": 20,  # the default 500 ms delays every handshake and new torrent by a tick
        "alert_mask": ALERT_MASK,
        "allow_multiple_connections_per_ip": True,
        "min_reconnect_time": 1,
        "peer_connect_timeout": 5,
        # A player's window often completes while the rest of the film waits at priority 0: for
        # libtorrent the torrent is then "finished", and by default it hangs up on seeders
        # ("redundant" connections), to reconnect a second later when the window moves on.
        "close_redundant_connections": False,
        # A block a peer does not send within 10 s is asked for again (libtorrent waits 60 s and
        # 20 s by default: far too long for a player waiting on that very piece).
        "request_timeout": 10,
        "piece_timeout": 10,
        # At most about a second of requests queued at each peer (libtorrent's default is 3 s): after
        # a seek, the pieces asked for in the background drain first. Measured on a seek to 70 %
        # while the rest of the film was downloading: 0.60-1.12x the bound instead of 0.92-1.42x.
        "request_queue_time": 1,
        # Outgoing connections use TCP. uTP's delay-based congestion control backs off as soon as
        # the peer's queue grows: from a seeder capped at 2 MiB/s the first 3.3 MiB took 1.4-2.1x
        # the bound over uTP, with idle gaps of up to a second, against 1.1-1.2x over TCP.
        # Peers that reach us over uTP are still accepted.
        "enable_outgoing_utp": False,
        # Every tier of trackers is announced to, not only the first that answers (BEP 12's order):
        # the trackers the engine adds to a film's own (`HYPERTUBE_TORRENT_TRACKERS`, the demo
        # swarm's) come last, and were reached only once every public tracker before them had failed.
        "announce_to_all_tiers": True,
        # The "stopped" announces are awaited by `close_session`, on the event loop.
        "stop_tracker_timeout": 1,
        "user_agent": "Hypertube/0.1",
    }


class AlertPump:
    """Hands the session's alerts to the handler registered for their type, on the event loop.

    libtorrent writes a byte to a pipe when alerts are waiting; the loop watches it. A Python
    callback (`set_alert_notify`) would run on libtorrent's thread with its alert lock held and
    need the GIL, while the loop thread holds the GIL inside a libtorrent call that waits for
    that thread: a deadlock seen in the tests. A file descriptor needs no Python at all."""

    def __init__(self, session: lt.session, loop: asyncio.AbstractEventLoop, handlers: AlertHandlers):
        self.session: lt.session | None = session
        self.handlers = handlers
        self._loop = loop
        self._read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._read_fd, False)
        os.set_blocking(self._write_fd, False)
        session.set_alert_fd(self._write_fd)
        loop.add_reader(self._read_fd, self._on_fd)

    def _on_fd(self) -> None:
        try:
            while os.read(self._read_fd, 4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass
        self.drain()

    def drain(self) -> None:
        if self.session is None:
            return
        for alert in self.session.pop_alerts():
            handler = self._handler(type(alert))
            if handler is None:
                continue
            try:
                handler(alert)
            except Exception:
                log.exception("torrent alert %s failed", type(alert).__name__)

    def _handler(self, kind: type) -> Callable[[Any], None] | None:
        for cls in kind.__mro__:
            handler = self.handlers.get(cls)
            if handler is not None:
                return handler
        return None

    def stop(self) -> None:
        """Stops watching; the pipe is closed once the session is gone (`close_fds`)."""
        self.session = None
        self._loop.remove_reader(self._read_fd)

    def close_fds(self) -> None:
        for fd in (self._read_fd, self._write_fd):
            if fd >= 0:
                os.close(fd)
        self._read_fd = self._write_fd = -1


async def close_session(holder: list[lt.session]) -> None:
    """Pauses the session, gives the trackers' "stopped" announces `STOP_ANNOUNCES_S` at most, then
    drops it (the only reference, in `holder`) on a worker thread without waiting for trackers again.

    libtorrent's destructor waits for the announces still out, up to `stop_tracker_timeout`, and
    holds the GIL meanwhile: a tracker in this process (the demo's, the tests') could not answer,
    and every close waited the whole timeout. The announces are awaited here instead, on the loop."""
    [session] = holder
    session.pause()  # the "stopped" announces leave now
    # Their answers are looked at in the trackers' state: the alert mask leaves tracker alerts out.
    for _ in range(round(STOP_ANNOUNCES_S / STOP_POLL_S)):
        if not any(_announcing(handle) for handle in session.get_torrents()):
            break
        await asyncio.sleep(STOP_POLL_S)
    session.apply_settings({"stop_tracker_timeout": 0})
    del session
    await asyncio.to_thread(holder.clear)


def _announcing(handle: lt.torrent_handle) -> bool:
    """Whether an announce of the torrent is still waiting for its tracker's answer."""
    try:
        trackers = handle.trackers()
    except RuntimeError:  # removed meanwhile
        return False
    return any(
        endpoint.get("updating") or any(h.get("updating") for h in endpoint.get("info_hashes", ()))
        for tracker in trackers
        for endpoint in tracker.get("endpoints", ())
    )
