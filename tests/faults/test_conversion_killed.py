"""kill -9 while an HLS segment is being cut: after the restart the segment is cut again and plays; no
half-written segment is ever served from the cache."""

from __future__ import annotations

import asyncio
import io

import av
import pytest

from tests.faults.support import add_film

pytestmark = pytest.mark.timeout(180)


def _frames(segment: bytes) -> int:
    with av.open(io.BytesIO(segment), format="mpegts") as container:
        return sum(1 for _ in container.decode(video=0))


async def test_a_segment_cut_when_the_server_was_killed_plays_after_the_restart(
    make_seeder, make_server, make_viewer, scratch_database, fault_films, figures
):
    seeder = make_seeder()
    seeded = await asyncio.to_thread(seeder.seed, fault_films["long_mkv"], piece_size=64 * 1024)
    server = make_server()
    await server.start()
    viewer = make_viewer(server.base)
    await viewer.sign_up()
    movie = await add_film(scratch_database, "Cut Film", magnet=seeded.magnet)
    code, plan = await viewer.json(f"/stream/{movie}")
    assert code == 200 and plan["kind"] == "hls", plan
    async with viewer.session.get(server.base + plan["url"]) as resp:
        segments = [line for line in (await resp.text()).splitlines() if line.endswith(".ts")]
    assert len(segments) >= 2
    late = f"/stream/{movie}/hls/{segments[-1]}"

    cutting = asyncio.ensure_future(viewer.session.get(server.base + late))
    await asyncio.sleep(0.3)
    server.kill()
    await asyncio.gather(cutting, return_exceptions=True)

    await server.start()
    cached = sorted((server.data_dir / "hls" / str(movie)).glob("*.ts"))
    for path in cached:
        assert await asyncio.to_thread(_frames, await asyncio.to_thread(path.read_bytes)) > 0, path
    async with viewer.session.get(server.base + late) as resp:
        assert resp.status == 200, await resp.text()
        segment = await resp.read()
    frames = await asyncio.to_thread(_frames, segment)
    assert frames > 0
    figures.record("conversion_killed_mid_segment", cached_segments_after_kill=len(cached), frames=frames)
