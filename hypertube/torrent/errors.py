"""Why a film cannot be streamed: each error carries the HTTP status, a machine code and a message."""

from __future__ import annotations


class TorrentError(Exception):
    status = 500
    code = "torrent_error"

    def __init_subclass__(cls, *, status: int, code: str, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.status = status
        cls.code = code

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NoTorrent(TorrentError, status=404, code="no_torrent"):
    """The film has no torrent at all."""


class BadTorrent(TorrentError, status=422, code="bad_torrent"):
    """The film's magnet link or .torrent file is not valid."""


class TorrentUnreachable(TorrentError, status=502, code="torrent_unreachable"):
    """The film's .torrent file could not be fetched."""


class NoVideo(TorrentError, status=422, code="no_video"):
    """The torrent holds no video file (or not the file asked for)."""


class MetadataTimeout(TorrentError, status=504, code="metadata_timeout"):
    """No peer sent the torrent's metadata in time."""


class PeersTimeout(TorrentError, status=504, code="peers_timeout"):
    """The film's data did not come in time, or the download failed or was removed."""
