"""Ctrl-C with films streaming: the server closes the streams, saves resume data and exits in about
two seconds."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from tests.faults.support import add_film, resume_pieces

pytestmark = pytest.mark.timeout(180)

STREAMS = 3


async def test_ctrl_c_with_three_streams_open_stops_quickly(
    make_seeder, make_server, make_viewer, scratch_database, fault_films, figures
):
    film = fault_films["mp4"]
    seeder = make_seeder(upload_rate=48 * 1024)  # the streams are still running when Ctrl-C comes
    seeded = await asyncio.to_thread(seeder.seed, film, piece_size=16 * 1024)
    server = make_server()
    await server.start()
    viewer = make_viewer(server.base)
    await viewer.sign_up()
    movie = await add_film(scratch_database, "Kept Film", magnet=seeded.magnet)

    started = asyncio.Event()

    async def watch() -> str:
        url = f"{server.base}/stream/{movie}/file"
        try:
            async with viewer.session.get(url, headers={"Range": "bytes=0-"}) as resp:
                assert resp.status == 206
                await resp.content.readexactly(1024)
                started.set()
                while await resp.content.read(64 * 1024):
                    pass
                return "ended"
        except (aiohttp.ClientError, asyncio.IncompleteReadError):
            return "cut"

    streams = [asyncio.ensure_future(watch()) for _ in range(STREAMS)]
    await asyncio.wait_for(started.wait(), 60)
    await asyncio.sleep(1.0)
    assert not any(s.done() for s in streams), "the streams are still open"

    seconds, code = await server.interrupt()
    endings = await asyncio.wait_for(asyncio.gather(*streams), 10)
    output = server.output()
    resume = server.data_dir / "downloads" / ".resume" / f"{seeded.info_hash}.fastresume"
    saved = await asyncio.to_thread(resume_pieces, resume)
    figures.record(
        "stop_with_streams_open", streams=STREAMS, seconds_to_stop=seconds, pieces_in_resume_data=len(saved)
    )
    assert code == 0, output[-4000:]
    assert "Traceback" not in output, output[-4000:]
    assert all(e in ("ended", "cut") for e in endings)
    assert saved, "resume data was saved on the way out"
    assert seconds < 4.0
