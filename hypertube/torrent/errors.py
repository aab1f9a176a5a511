"""Why a film cannot be streamed: each error carries the HTTP status, a machine code and a message."""

from __future__ import annotations


class TorrentError(Exception):
    status = 500
    code = "torrent_error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NoTorrent(TorrentError):
    status = 404
    code = "no_torrent"


class BadTorrent(TorrentError):
    status = 422
    code = "bad_torrent"


class TorrentUnreachable(TorrentError):
    status = 502
    code = "torrent_unreachable"


class NoVideo(TorrentError):
    status = 422
    code = "no_video"


class MetadataTimeout(TorrentError):
    status = 504
    code = "metadata_timeout"


class PeersTimeout(TorrentError):
    status = 504
    code = "peers_timeout"
