"""The piece window on its own: plain numbers in, (piece, order) out; no session, no peers."""

from __future__ import annotations

from hypertube.torrent.window import EARLY_ORDER, PieceWindow, merge

KIB = 1024
PIECE = 16 * KIB


def nothing(piece: int) -> bool:
    return False


def test_offsets_map_to_pieces_from_the_files_start_in_the_torrent():
    window = PieceWindow(file_start=PIECE // 2, size=10 * PIECE, piece_size=PIECE)
    assert window.piece_at(0) == 0
    assert window.piece_at(PIECE // 2) == 1
    assert window.pieces(0, PIECE) == range(0, 2)
    assert window.pieces(PIECE // 2, PIECE) == range(1, 2)
    assert window.offset_of(1) == PIECE // 2 and window.offset_of(0) == -PIECE // 2


def test_nothing_is_wanted_before_the_first_read_and_for_an_empty_file():
    assert PieceWindow(0, 10 * PIECE, PIECE, "film.mp4").wanted(nothing) == []
    empty = PieceWindow(0, 0, PIECE, "film.mkv")
    empty.start_read(0, 1)
    assert empty.wanted(nothing) == []


def test_readahead_doubles_while_reads_follow_and_falls_back_after_a_jump():
    window = PieceWindow(0, 200 * PIECE, PIECE, "film.mp4")
    assert window.readahead_pieces == 1024 * KIB // PIECE
    window.start_read(0, 100)
    assert window.wanted(nothing) == [(0, 0)]
    offset, sizes = 100, []
    for _ in range(8):
        window.start_read(offset, 100)
        offset += 100
        sizes.append(len(window.wanted(nothing)))
    assert sizes == [2, 4, 8, 16, 32, 64, 64, 64]
    window.start_read(150 * PIECE, 100)  # a jump: a probe looking for the index
    assert window.wanted(nothing) == [(150, 0)]


def test_a_long_read_wants_the_whole_window_at_once_and_never_past_the_file():
    window = PieceWindow(0, 10 * PIECE, PIECE, "film.mp4")
    window.start_read(PIECE, 2 * PIECE)
    assert window.wanted(nothing) == [(p, p - 1) for p in range(1, 10)]


def test_an_announced_span_is_asked_for_before_it_is_reached_and_stops_the_window_at_its_end():
    window = PieceWindow(0, 200 * PIECE, PIECE, "film.mp4")
    window.start_read(0, 100)  # a header read
    window.expect(50 * PIECE, 53 * PIECE)
    assert window.wanted(nothing) == [(0, 0), (50, 1), (51, 2), (52, 3)]
    window.start_read(50 * PIECE, 100)  # inside the span: a full window, up to its end only
    assert window.wanted(nothing) == [(50, 0), (51, 1), (52, 2)]
    window.start_read(53 * PIECE, 100)  # past it: one piece at a time
    assert window.wanted(nothing) == [(53, 0)]


def test_a_span_is_clipped_to_the_file_and_an_empty_one_is_none():
    window = PieceWindow(0, 10 * PIECE, PIECE)
    window.expect(-5, 20 * PIECE)
    assert window.span == (0, 10 * PIECE)
    window.expect(4 * PIECE, 4 * PIECE)
    assert window.span is None


def test_matroska_gets_its_head_and_tail_early_until_they_are_here():
    window = PieceWindow(0, 100 * PIECE, PIECE, "Film.MKV")
    window.start_read(10 * PIECE, 100)
    assert window.wanted(nothing) == [(10, 0), (0, EARLY_ORDER), (99, EARLY_ORDER + 1)]
    assert window.wanted(lambda piece: piece == 0) == [(10, 0), (99, EARLY_ORDER)]
    assert window.wanted(nothing) == [(10, 0), (99, EARLY_ORDER)]  # a piece once here is not asked again
    other = PieceWindow(0, 100 * PIECE, PIECE, "film.mp4")
    other.start_read(10 * PIECE, 100)
    assert other.wanted(nothing) == [(10, 0)]


def test_tail_bytes_is_the_files_part_of_its_last_piece_within_bounds():
    window = PieceWindow(file_start=PIECE // 2, size=10 * PIECE, piece_size=PIECE)
    assert window.tail_bytes(1024 * KIB) == 16 * KIB  # 8 KiB of it in the last piece, but never under 16
    big = PieceWindow(file_start=0, size=100 * 256 * KIB + 200 * KIB, piece_size=256 * KIB)
    assert big.tail_bytes(1024 * KIB) == 200 * KIB
    assert big.tail_bytes(100 * KIB) == 100 * KIB
    assert PieceWindow(0, 10 * KIB, PIECE).tail_bytes(1024 * KIB) == 10 * KIB


def test_merged_windows_keep_each_piece_at_its_most_urgent_order():
    assert merge([[(1, 0), (2, 1)], [(2, 0), (3, 5)], []]) == {1: 0, 2: 0, 3: 5}
