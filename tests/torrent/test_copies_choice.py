"""The arithmetic behind a film's change of copy: which smaller copy fits a measured rate, and the rate
window that counts only while the player's pieces are missing."""

from __future__ import annotations

from hypertube.torrent.copies import WINDOW_S, Copy, RateWindow, smaller_copy

DURATION = 100.0


def _copy(quality: str, size: int) -> Copy:
    return Copy(0, quality, size, quality, f"magnet:?xt=urn:btih:{quality}", None)


COPIES = [_copy("2160p", 4_000_000_000), _copy("1080p", 2_000_000_000), _copy("720p", 800_000_000)]


def test_the_largest_copy_that_fits_with_headroom_is_chosen():
    # 2160p plays at 40 MB/s; 1080p needs 20 MB/s, 720p 8 MB/s.
    assert smaller_copy(COPIES, 4_000_000_000, DURATION, 30_000_000).quality == "1080p"
    assert smaller_copy(COPIES, 4_000_000_000, DURATION, 20_000_000).quality == "720p"  # 20 > 0.8 × 20
    assert smaller_copy(COPIES, 4_000_000_000, DURATION, 9_000_000) is None  # 8 > 0.8 × 9
    assert smaller_copy(COPIES, 800_000_000, DURATION, 100_000_000) is None  # nothing smaller
    unknown = [_copy("720p", 0)]
    assert smaller_copy(unknown, 4_000_000_000, DURATION, 30_000_000) is None  # size unknown


def test_the_window_needs_its_whole_length_of_waiting():
    window = RateWindow()
    for second in range(int(WINDOW_S)):
        window.add(float(second), second * 1000, starving=True)
        assert window.rate(float(second)) is None
    window.add(WINDOW_S, int(WINDOW_S) * 1000, starving=True)
    assert window.rate(WINDOW_S) == 1000
    window.add(WINDOW_S + 1, 99_000, starving=False)  # the player has what it asked for
    assert window.rate(WINDOW_S + 1) is None
    window.add(WINDOW_S + 2, 100_000, starving=True)
    assert window.rate(WINDOW_S + 2) is None  # a new window starts
