"""kill -9 in the middle of a download, then a restart: the film carries on by itself from what is on
disk, and no piece already verified there is downloaded again."""

from __future__ import annotations

import asyncio
import math
import time

import pytest

from tests.faults.support import add_film, piece_bytes, resume_pieces, verified_pieces

pytestmark = pytest.mark.timeout(240)

PIECE = 16 * 1024
RATE = 256 * 1024  # the seeder's upload cap: the 2.5 MB film takes about 10 s, the kill comes in its first 4 s
SETTLE_S = 2.0  # libtorrent adds up its transfer counters once a second


def _uploaded(seeder, info_hash: str) -> int:
    return seeder.handles[info_hash].status().all_time_upload


async def _start_download(make_seeder, make_server, make_viewer, scratch_database, film):
    seeder = make_seeder(upload_rate=RATE)
    seeded = await asyncio.to_thread(seeder.seed, film, piece_size=PIECE)
    server = make_server()
    await server.start()
    viewer = make_viewer(server.base)
    await viewer.sign_up()
    movie = await add_film(scratch_database, "Kept Film", magnet=seeded.magnet)
    # The first bytes are played; the rest of the film then downloads in the background.
    assert len(await viewer.read_range(movie, 0, 1023)) == 1024
    return seeder, seeded, server, viewer, movie


async def _restart_and_finish(seeder, seeded, server, viewer, movie, on_disk: set[int]) -> int:
    """Restarts the server, checks the download carries on with nobody playing it, returns the pieces
    the seeder sent again although they were verified on disk before the kill."""
    await asyncio.sleep(SETTLE_S)  # what the seeder sent before the kill is counted by now
    before = _uploaded(seeder, seeded.info_hash)
    await server.start()
    status = await viewer.status(movie)
    # Whatever the status says, the restarted session has that download.
    assert status["state"] in ("metadata", "checking", "downloading", "waiting_for_peers", "finished"), status
    await viewer.wait_status(movie, lambda s: s["state"] == "finished", 60)
    sent = _uploaded(seeder, seeded.info_hash) - before
    total = await asyncio.to_thread(_piece_count, seeded.torrent_file)
    needed = piece_bytes(seeded.torrent_file, set(range(total)) - on_disk)
    return max(0, math.ceil((sent - needed) / PIECE))


def _piece_count(torrent_file) -> int:
    import libtorrent as lt

    return lt.torrent_info(str(torrent_file)).num_pieces()


async def test_killed_before_any_resume_save_the_download_resumes_from_disk(
    make_seeder, make_server, make_viewer, scratch_database, fault_films, figures
):
    film = fault_films["mp4"]
    seeder, seeded, server, viewer, movie = await _start_download(
        make_seeder, make_server, make_viewer, scratch_database, film
    )
    status = await viewer.wait_status(movie, lambda s: s["progress"] >= 0.25, 60)
    server.kill()
    data_file = server.data_dir / "downloads" / seeded.info_hash / film.name
    on_disk = await asyncio.to_thread(verified_pieces, seeded.torrent_file, data_file)
    assert on_disk, "pieces were on disk when the server was killed"

    twice = await _restart_and_finish(seeder, seeded, server, viewer, movie, on_disk)
    figures.record(
        "kill_before_resume_save",
        progress_at_kill=status["progress"],
        pieces_on_disk=len(on_disk),
        pieces_downloaded_twice=twice,
    )
    assert twice == 0
    final = await asyncio.to_thread(verified_pieces, seeded.torrent_file, data_file)
    assert len(final) == await asyncio.to_thread(_piece_count, seeded.torrent_file)


async def test_killed_after_a_resume_save_no_verified_piece_is_downloaded_again(
    make_seeder, make_server, make_viewer, scratch_database, fault_films, figures
):
    film = fault_films["mp4"]
    seeder, seeded, server, viewer, movie = await _start_download(
        make_seeder, make_server, make_viewer, scratch_database, film
    )
    resume = server.data_dir / "downloads" / ".resume" / f"{seeded.info_hash}.fastresume"
    data_file = server.data_dir / "downloads" / seeded.info_hash / film.name
    end = time.monotonic() + 60
    while not resume.exists():
        assert time.monotonic() < end, "resume data was saved while the film downloaded"
        await asyncio.sleep(0.2)
    status = await viewer.wait_status(movie, lambda s: s["progress"] >= 0.4, 60)
    server.kill()
    saved = await asyncio.to_thread(resume_pieces, resume)
    on_disk = await asyncio.to_thread(verified_pieces, seeded.torrent_file, data_file)
    assert len(on_disk) >= len(saved)

    twice = await _restart_and_finish(seeder, seeded, server, viewer, movie, on_disk)
    figures.record(
        "kill_after_resume_save",
        progress_at_kill=status["progress"],
        pieces_in_resume_data=len(saved),
        pieces_on_disk=len(on_disk),
        pieces_downloaded_twice=twice,
    )
    assert twice == 0
