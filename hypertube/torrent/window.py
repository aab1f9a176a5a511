"""Which pieces one reader of a file wants next, and how urgently: its read window, plain arithmetic."""

from __future__ import annotations

from collections.abc import Callable, Iterable

# Pieces with deadlines ahead of the read position. Kept short on purpose: with a long window
# libtorrent fetches the deadline pieces out of order and the first 2 MiB take 3–4x the bound.
# A reader starts with no readahead (a probe reads a header and jumps to the index: pieces past the
# header would be wasted bandwidth) and doubles it on each read that follows the previous one; inside
# a span announced with `expect()` (an HTTP range, a segment's bytes) the window is full at once and
# stops at the span's end.
READAHEAD_BYTES = 1024 * 1024
HEAD_BYTES = 1  # the first piece: the EBML header and segment info
TAIL_BYTES = 1  # the last piece: Matroska keeps its Cues (seek index) there
EARLY_ORDER = 8  # head and tail come right after the first 8 pieces of the read window
# Only Matroska/WebM gets its head and tail fetched early: a seek needs the Cues at the end. Other
# containers' players read the header first anyway, and early pieces would share the peer's
# bandwidth with the first piece a reader waits for (measured: +0.1-0.3 s on the first 2 MiB).
EARLY_SUFFIXES = (".mkv", ".webm", ".mka", ".mk3d")


class PieceWindow:
    """The pieces a reader of one file wants, as (piece, urgency order): the read window from its
    position (growing while reads follow each other), an announced span, and early head/tail pieces.

    `file_start` is the file's offset in the torrent, `size` its length, `piece_size` the torrent's."""

    def __init__(self, file_start: int, size: int, piece_size: int, name: str = ""):
        self.file_start = file_start
        self.size = size
        self.piece_size = max(1, piece_size)
        self.readahead_pieces = max(4, -(-READAHEAD_BYTES // self.piece_size))
        self.ahead = 1  # pieces in the window now (adaptive, up to readahead_pieces)
        self.position: int | None = None
        self.span: tuple[int, int] | None = None
        self._next: int | None = None  # where the previous read ended
        self._early: list[int] = []
        if size and name.lower().endswith(EARLY_SUFFIXES):
            head = list(self.pieces(0, HEAD_BYTES))
            tail = list(self.pieces(size - TAIL_BYTES, TAIL_BYTES))
            self._early = list(dict.fromkeys(head + tail))

    def piece_at(self, offset: int) -> int:
        """The piece holding the file's byte at `offset`."""
        return (self.file_start + offset) // self.piece_size

    def pieces(self, offset: int, length: int) -> range:
        """The pieces holding the file's bytes [offset, offset + length)."""
        return range(self.piece_at(offset), self.piece_at(max(offset, offset + length - 1)) + 1)

    def offset_of(self, piece: int) -> int:
        """Where `piece` starts, as an offset in the file (negative if it starts before the file)."""
        return piece * self.piece_size - self.file_start

    # --- moving the window --------------------------------------------------------------------
    def start_read(self, offset: int, length: int) -> None:
        """A read of [offset, offset + length) begins: the readahead grows, resets or fills up."""
        if length > self.piece_size:
            self.ahead = self.readahead_pieces  # a long read: it wants what lies ahead
        elif offset == self._next:
            self.ahead = min(self.readahead_pieces, self.ahead * 2)  # reading on: look further ahead
        elif self._next is not None:
            self.ahead = 1  # a jump (a probe looking for an index): no readahead until reads follow
        if self.span is not None and offset >= self.span[1]:
            self.ahead = 1  # past the announced bytes: whatever more is read, one piece at a time
        self._next = offset + length
        self.position = offset

    def expect(self, start: int, end: int) -> None:
        """Bytes [start, end) will be read in order: a full window that stops at `end`."""
        start = max(0, min(start, self.size))
        end = max(start, min(end, self.size))
        self.span = (start, end) if end > start else None

    # --- what to fetch ------------------------------------------------------------------------
    def wanted(self, has: Callable[[int], bool]) -> list[tuple[int, int]]:
        """(piece, urgency order) for the read window, the announced span and the early pieces
        the download does not `has` yet."""
        if not self.size:
            return []
        wanted: list[tuple[int, int]] = []
        position, span = self.position, self.span
        last = self.piece_at(self.size - 1)
        in_span = (
            span is not None and position is not None and span[0] - self.piece_size <= position < span[1]
        )
        if position is not None and position < self.size:
            first = self.piece_at(position)
            stop, count = last, self.ahead
            if span is not None and in_span:
                stop = min(last, self.piece_at(span[1] - 1))
                count = self.readahead_pieces
            wanted.extend((p, i) for i, p in enumerate(range(first, min(stop, first + count - 1) + 1)))
        if span is not None and not in_span and (position is None or position < span[0]):
            # Announced but not reached yet (a container header is read first): ask for it already.
            first = self.piece_at(span[0])
            stop = min(last, self.piece_at(span[1] - 1))
            base = len(wanted)
            wanted.extend(
                (p, base + i)
                for i, p in enumerate(range(first, min(stop, first + self.readahead_pieces - 1) + 1))
            )
        self._early = [p for p in self._early if not has(p)]
        wanted.extend((p, EARLY_ORDER + i) for i, p in enumerate(self._early))
        return wanted

    def tail_bytes(self, limit: int) -> int:
        """The file's bytes in its last piece (at least 16 KiB, at most `limit`): an index at the end
        of the film then costs one piece, not two."""
        if not self.size:
            return min(self.size, limit)
        in_last = self.size - self.offset_of(self.piece_at(self.size - 1))
        return min(self.size, limit, max(16 * 1024, in_last))


def merge(windows: Iterable[list[tuple[int, int]]]) -> dict[int, int]:
    """The union of several readers' wanted pieces, each at its most urgent order."""
    merged: dict[int, int] = {}
    for wanted in windows:
        for piece, order in wanted:
            if piece not in merged or order < merged[piece]:
                merged[piece] = order
    return merged
