"""A small disk quota while a film is watched through HLS: the sweep runs as soon as a download grows
past the quota and deletes an unwatched film, never the one being watched between segment requests."""

from __future__ import annotations

import asyncio
import time

import pytest

from hypertube.torrent.storage import disk_usage
from tests.faults.support import add_film

pytestmark = pytest.mark.timeout(240)

QUOTA_MB = 6.0  # three films of about 2.5 MB each do not fit


async def _hls_segments(viewer, movie: int) -> list[str]:
    code, plan = await viewer.json(f"/stream/{movie}")
    assert code == 200 and plan["kind"] == "hls", plan
    async with viewer.session.get(viewer.base + plan["url"]) as resp:
        assert resp.status == 200
        lines = (await resp.text()).splitlines()
    return [f"/stream/{movie}/hls/{line}" for line in lines if line.endswith(".ts")]


async def test_the_quota_sweep_spares_a_film_watched_through_hls(
    make_seeder, make_server, make_viewer, scratch_database, fault_films, figures
):
    seeder = make_seeder()
    watched_seed = await asyncio.to_thread(seeder.seed, fault_films["mkv"], piece_size=64 * 1024)
    old_seed = await asyncio.to_thread(seeder.seed, fault_films["other"], piece_size=64 * 1024)
    new_seed = await asyncio.to_thread(seeder.seed, fault_films["mp4"], piece_size=64 * 1024)
    server = make_server(disk_quota_gb=str(QUOTA_MB / 1024))
    await server.start()
    downloads = server.data_dir / "downloads"
    viewer = make_viewer(server.base)
    await viewer.sign_up()
    watched = await add_film(scratch_database, "Watched Film", magnet=watched_seed.magnet)
    old = await add_film(scratch_database, "Old Film", magnet=old_seed.magnet)
    new = await add_film(scratch_database, "New Film", magnet=new_seed.magnet)

    # The watched film is opened first (so its download is the oldest), and all of it arrives.
    segments = await _hls_segments(viewer, watched)
    for path in segments:
        async with viewer.session.get(viewer.base + path) as resp:
            assert resp.status == 200
            await resp.read()
    await viewer.wait_status(watched, lambda s: s["state"] == "finished", 60)
    # Another film is played to the end and then left alone.
    await viewer.read_range(old, 0, 1023)
    await viewer.wait_status(old, lambda s: s["state"] == "finished", 60)

    quota = QUOTA_MB * 1024 * 1024
    samples: list[tuple[float, int]] = []
    segment_failures: list[int] = []

    async def keep_watching() -> None:
        """A player going through the segments one by one, from the cache on disk."""
        index = 0
        while True:
            async with viewer.session.get(viewer.base + segments[index % len(segments)]) as resp:
                await resp.read()
                if resp.status != 200:
                    segment_failures.append(resp.status)
            index += 1
            await asyncio.sleep(0.5)

    player = asyncio.ensure_future(keep_watching())
    try:
        await asyncio.sleep(1.0)
        started = time.monotonic()
        await viewer.read_range(new, 0, 1023)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            usage = await asyncio.to_thread(disk_usage, downloads)
            samples.append((time.monotonic(), usage))
            assert (downloads / watched_seed.info_hash).exists(), "the film being watched was deleted"
            status = await viewer.status(new)
            if (
                status["state"] == "finished"
                and not (downloads / old_seed.info_hash).exists()
                and usage <= quota
            ):
                break
            await asyncio.sleep(0.25)
        else:
            raise AssertionError(f"the quota was not restored: {samples[-1][1] / 2**20:.1f} MB on disk")
        await asyncio.sleep(2.0)  # one more look: still nothing of the watched film deleted
        assert (downloads / watched_seed.info_hash).exists()
    finally:
        player.cancel()
        await asyncio.gather(player, return_exceptions=True)
    assert not segment_failures
    over = [t for t, usage in samples if usage > quota]
    figures.record(
        "quota_with_hls_viewer",
        quota_mb=QUOTA_MB,
        max_usage_mb=max(u for _, u in samples) / 2**20,
        seconds_over_quota=(max(over) - min(over)) if over else 0.0,
        seconds_to_settle=samples[-1][0] - started,
    )
