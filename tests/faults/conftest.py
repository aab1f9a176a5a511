"""Fixtures for the fault tests: scratch databases, the server as a subprocess, films, figures."""

from __future__ import annotations

import itertools
from contextlib import AsyncExitStack, ExitStack
from pathlib import Path

import pytest

from bench.support import create_database, drop_database
from tests.faults.support import Figures, PostgresCluster, ServerProcess, Viewer
from tests.fixtures.torrent import write_test_film

FIGURES = Path(__file__).resolve().parents[2] / "var" / "faults" / "figures.json"


@pytest.fixture(scope="session")
def figures() -> Figures:
    """Where each test records what it measured (printed with `-s`, kept in var/faults/figures.json)."""
    return Figures(FIGURES)


@pytest.fixture(scope="session")
def fault_films(tmp_path_factory) -> dict[str, Path]:
    """Films of a few MB: `mp4` plays direct, `mkv` through HLS, `other` is a second direct film;
    `long_mkv` (small frames) makes several HLS segments."""
    folder = tmp_path_factory.mktemp("fault-films")
    return {
        "mp4": write_test_film(folder / "Kept Film (2020)" / "kept.film.2020.mp4", seconds=4),
        "mkv": write_test_film(folder / "Cut Film (2020)" / "cut.film.2020.mkv", seconds=4),
        "other": write_test_film(folder / "Other Film (2020)" / "other.film.2020.mp4", seconds=4),
        "long_mkv": write_test_film(
            folder / "Long Film (2020)" / "long.film.2020.mkv", seconds=16, size=(160, 120)
        ),
    }


@pytest.fixture
async def scratch_database():
    """An empty database on the test server for one server process; dropped afterwards."""
    admin, url, embedded = await create_database("ht_faults")
    yield url
    await drop_database(admin, url, embedded)


@pytest.fixture
def pg_cluster():
    """A PostgreSQL cluster the test starts and stops itself."""
    cluster = PostgresCluster()
    cluster.init()
    cluster.start()
    yield cluster
    cluster.remove()


@pytest.fixture
def make_server(tmp_path, scratch_database):
    """Builds server processes on their own data dirs (under `root`, else the test's folder), on the
    scratch database unless told otherwise; every one still running is stopped afterwards, before
    the scratch database is dropped."""
    numbers = itertools.count()
    with ExitStack() as stack:

        def build(
            database_url: str | None = scratch_database, *, root: Path | None = None, **settings: str
        ) -> ServerProcess:
            data_dir = (root or tmp_path) / f"var{next(numbers)}"
            data_dir.mkdir()
            env = {f"HYPERTUBE_{k.upper()}": v for k, v in settings.items()}
            server = ServerProcess(data_dir, database_url, env)
            stack.callback(server.stop)
            return server

        yield build


@pytest.fixture
async def make_viewer():
    """Signed-out clients of a server (sign them up with `sign_up`); closed afterwards."""
    async with AsyncExitStack() as stack:

        def build(base: str) -> Viewer:
            viewer = Viewer(base)
            stack.push_async_callback(viewer.close)
            return viewer

        yield build
