"""`make cluster`'s demo films: made once, the same torrents seeded by every node."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from hypertube.cluster import local
from hypertube.media.generate import DemoFilm
from hypertube.torrent.demo import DemoSwarm


def _generator(source: Path, made: list[Path]):
    """The demo generator's contract (films in folders of their own, existing ones kept), with one small film."""

    def generate(folder: Path) -> list[DemoFilm]:
        directory = folder / "harbor-pattern"
        directory.mkdir(parents=True, exist_ok=True)
        video = directory / "harbor-pattern.mp4"
        if not video.exists():
            shutil.copyfile(source, video)
            made.append(video)
        return [DemoFilm("harbor-pattern", "Harbor Pattern", directory, video)]

    return generate


async def test_every_node_seeds_the_same_demo_films(tmp_path, generated_films):
    made: list[Path] = []
    generate = _generator(generated_films["mp4"], made)
    root = tmp_path / "cluster"
    (root / "n2" / "demo" / "films").mkdir(parents=True)  # films n2 once made alone are replaced
    [entry] = await asyncio.to_thread(local.shared_demo, root, ["n1", "n2"], generate)
    [again] = await asyncio.to_thread(local.shared_demo, root, ["n1", "n2"], generate)
    assert len(made) == 1 and again["info_hash"] == entry["info_hash"]
    swarms = [DemoSwarm(root / node_id, generate) for node_id in ("n1", "n2")]
    try:
        manifests = [await swarm.start() for swarm in swarms]
        assert len(made) == 1  # the nodes reuse the shared films
        assert [m[0]["info_hash"] for m in manifests] == [entry["info_hash"]] * 2
        ports = {swarm.seeder.port for swarm in swarms if swarm.seeder is not None}
        assert len(ports) == 2
        for swarm in swarms:
            assert swarm.seeder is not None
            handle = swarm.seeder.handles[entry["info_hash"]]
            assert handle.status().is_seeding  # whole and verified: any node can fetch it from here
    finally:
        for swarm in swarms:
            await swarm.stop()
