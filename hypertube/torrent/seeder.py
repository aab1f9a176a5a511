"""A seeding-only libtorrent session on loopback: serves the demo films and the test swarm."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote

import libtorrent as lt
import torf

log = logging.getLogger(__name__)
PIECE_SIZE = 256 * 1024


def make_torrent(
    path: Path,
    out: Path,
    *,
    piece_size: int = PIECE_SIZE,
    name: str | None = None,
    trackers: tuple[str, ...] = (),
    web_seeds: tuple[str, ...] = (),
) -> str:
    """Writes a .torrent for a file or folder with torf, naming its trackers (`announce-list`) and web
    seeds (`url-list`); returns its info hash (blocking: call in a thread)."""
    torrent = torf.Torrent(
        path=path,
        piece_size=piece_size,
        name=name,
        created_by=None,
        private=False,
        trackers=list(trackers) or None,
        webseeds=list(web_seeds) or None,
    )
    torrent.generate()
    out.parent.mkdir(parents=True, exist_ok=True)
    torrent.write(out, overwrite=True)
    return str(torrent.infohash)


def magnet_for(
    info_hash: str, name: str, *, trackers: tuple[str, ...] = (), peers: tuple[tuple[str, int], ...] = ()
) -> str:
    """A magnet link naming its `trackers` (`tr`) and, for the tests' swarms, `x.pe` peer hints."""
    uri = f"magnet:?xt=urn:btih:{info_hash}&dn={quote(name)}"
    for url in trackers:
        uri += f"&tr={quote(url, safe='')}"
    for host, port in peers:
        uri += f"&x.pe={host}:{port}"
    return uri


class Seeder:
    """Seeds given torrents from a second session listening on 127.0.0.1.

    Peers on loopback fall in libtorrent's local peer class, which ignores rate limits: with an upload
    cap every address is mapped to the global class so the cap applies to loopback too."""

    def __init__(self, *, port: int = 0, upload_rate: int = 0):
        self.port = port
        self.upload_rate = upload_rate
        self.session: lt.session | None = None
        # (.torrent path, save path, trackers) to re-add after a restart
        self._torrents: list[tuple[Path, Path, tuple[str, ...]]] = []
        self.handles: dict[str, lt.torrent_handle] = {}

    def start(self) -> None:
        pack = {
            "listen_interfaces": f"127.0.0.1:{self.port}",
            "enable_dht": False,
            "enable_lsd": False,
            "enable_upnp": False,
            "enable_natpmp": False,
            "tick_interval": 20,
            "alert_mask": 0,
            "allow_multiple_connections_per_ip": True,
            "upload_rate_limit": self.upload_rate,
            "unchoke_slots_limit": -1,
            "seed_choking_algorithm": 1,
            # libtorrent sizes a peer's send buffer from the rate it has measured so far, so a capped
            # seeder starts by reading one block at a time: the first piece then takes ~0.7 s at
            # 2 MiB/s instead of 0.125 s. A fixed buffer lets it send at the cap from the start.
            "send_buffer_watermark": 2 * 1024 * 1024,
            "send_buffer_low_watermark": 512 * 1024,
            # No "stopped" announce when the seeder stops: `stop` runs on the caller's thread, often the
            # event loop that serves the test tracker, which could then not answer until it timed out.
            "stop_tracker_timeout": 0,
        }
        self.session = lt.session(pack)  # type: ignore[call-overload]
        if self.upload_rate:
            rules = lt.ip_filter()
            rules.add_rule("0.0.0.0", "255.255.255.255", 1 << self.session.global_peer_class_id)
            self.session.set_peer_class_filter(rules)
        self.port = self.session.listen_port()
        for torrent_file, save_path, trackers in self._torrents:
            self._add(torrent_file, save_path, trackers)

    def add(self, torrent_file: Path, save_path: Path, trackers: tuple[str, ...] = ()) -> str:
        """Seeds the torrent from files already complete under save_path, announcing to the trackers
        its file names and to `trackers`; returns the info hash."""
        self._torrents.append((torrent_file, save_path, trackers))
        return self._add(torrent_file, save_path, trackers)

    def _add(self, torrent_file: Path, save_path: Path, trackers: tuple[str, ...]) -> str:
        assert self.session is not None, "start() the seeder first"
        params = lt.add_torrent_params()
        params.ti = lt.torrent_info(str(torrent_file))
        params.save_path = str(save_path)
        params.trackers = list(dict.fromkeys([*params.trackers, *trackers]))
        params.flags = lt.torrent_flags.seed_mode | lt.torrent_flags.upload_mode
        handle = self.session.add_torrent(params)
        info_hash = str(params.ti.info_hashes().v1)
        self.handles[info_hash] = handle
        return info_hash

    def magnet(self, info_hash: str, name: str = "film") -> str:
        """A magnet with this seeder as its `x.pe` peer hint (the tests' swarms without a tracker)."""
        return magnet_for(info_hash, name, peers=(("127.0.0.1", self.port),))

    def stop(self) -> None:
        """Closes the session (peers see the seeder vanish); start() brings it back on the same port."""
        if self.session is not None:
            self.session.pause()
            for handle in self.handles.values():
                self.session.remove_torrent(handle)
            self.session = None
            self.handles = {}
