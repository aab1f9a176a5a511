"""Real processes for the fault tests: a PostgreSQL cluster, the server, a signed-in viewer, figures."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import libtorrent as lt

from bench.support import free_port, wait_healthy

PG_BIN = Path("/usr/lib/postgresql/15/bin")
TEST_SECRET = "faults-secret-" + "y" * 40
PASSWORD = "a long and quiet evening"


class PostgresCluster:
    """A PostgreSQL cluster of its own in a temporary folder on a free port, started and stopped at will.

    As root the server has to run as another user: Debian's `postgres` owns the folder then."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="ht-faults-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.log = self.folder / "server.log"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.folder, "postgres", "postgres")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        command = [str(a) for a in args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, capture_output=True, timeout=timeout)

    def init(self) -> None:
        self._run(PG_BIN / "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(PG_BIN / "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(PG_BIN / "pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass
class ServerProcess:
    """`hypertube serve` in its own process, on its own data dir; killed or interrupted by the test."""

    data_dir: Path
    database_url: str | None
    settings: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    starts: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.data_dir.parent / f"server-{self.data_dir.name}.log"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HYPERTUBE_")}
        env.update(
            HYPERTUBE_DATA_DIR=str(self.data_dir),
            HYPERTUBE_SECRET_KEY=TEST_SECRET,
            HYPERTUBE_SOURCES="",
            HYPERTUBE_LOG_LEVEL="INFO",
            HYPERTUBE_BCRYPT_COST="4",
            HYPERTUBE_BASE_URL=self.base,
        )
        if self.database_url:
            env["HYPERTUBE_DATABASE_URL"] = self.database_url
        env.update(self.settings)
        return env

    async def start(self, wait: float = 90) -> None:
        """Starts the server and waits until /healthz answers 200."""
        self.starts += 1

        def spawn() -> subprocess.Popen:
            with open(self.log, "ab") as out:
                out.write(f"\n--- start {self.starts} ---\n".encode())
                out.flush()
                return subprocess.Popen(
                    [sys.executable, "-m", "hypertube", "serve", "--port", str(self.port)],
                    env=self.env(),
                    cwd=self.data_dir.parent,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )

        self.process = await asyncio.to_thread(spawn)
        async with aiohttp.ClientSession() as session:
            try:
                await wait_healthy(session, self.base, wait, self.process)
            except RuntimeError as exc:
                raise AssertionError(f"{exc}:\n{self.output()[-6000:]}") from None

    def kill(self) -> None:
        """kill -9: nothing is saved, nothing is closed."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    async def interrupt(self, limit: float = 30) -> tuple[float, int]:
        """Ctrl-C; returns the seconds the process took to exit and its exit code."""
        assert self.process is not None
        started = time.monotonic()
        self.process.send_signal(signal.SIGINT)
        try:
            code = await asyncio.to_thread(self.process.wait, limit)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"the server did not stop within {limit} s") from None
        return time.monotonic() - started, code

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class Viewer:
    """A signed-in browser-like client of a server (cookies, CSRF token from the forms)."""

    def __init__(self, base: str):
        self.base = base
        self.session = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True), timeout=aiohttp.ClientTimeout(total=60)
        )

    async def close(self) -> None:
        await self.session.close()

    async def csrf(self, path: str) -> str:
        async with self.session.get(self.base + path) as resp:
            html = await resp.text()
        token = re.search(r'name="csrf_token" value="([^"]+)"', html)
        assert token, f"{path} carries a CSRF token"
        return token.group(1)

    async def post_form(
        self, path: str, form: dict[str, str], token: str | None = None
    ) -> aiohttp.ClientResponse:
        token = token or await self.csrf(path)
        resp = await self.session.post(
            self.base + path,
            data={"csrf_token": token, **form},
            headers={"Origin": self.base},
            allow_redirects=False,
        )
        await resp.read()
        return resp

    async def register(self, username: str = "viewer", email: str | None = None) -> aiohttp.ClientResponse:
        form = {
            "email": email or f"{username}@example.org",
            "username": username,
            "first_name": "Film",
            "last_name": "Viewer",
            "password": PASSWORD,
        }
        return await self.post_form("/register", form)

    async def sign_up(self, username: str = "viewer") -> None:
        resp = await self.register(username)
        assert resp.status == 303, await resp.text()

    async def json(self, path: str) -> tuple[int, Any]:
        async with self.session.get(self.base + path) as resp:
            return resp.status, await resp.json(content_type=None)

    async def status(self, movie_id: int) -> dict[str, Any]:
        code, body = await self.json(f"/stream/{movie_id}/status")
        assert code == 200, body
        return body

    async def wait_status(self, movie_id: int, ready, limit: float, step: float = 0.25) -> dict[str, Any]:
        """Polls the film's download status until `ready(status)`; fails with the last one on timeout."""
        end = time.monotonic() + limit
        status: dict[str, Any] = {}
        while time.monotonic() < end:
            status = await self.status(movie_id)
            if ready(status):
                return status
            await asyncio.sleep(step)
        raise AssertionError(f"status not reached in {limit} s: {status}")

    async def read_range(self, movie_id: int, first: int, last: int) -> bytes:
        headers = {"Range": f"bytes={first}-{last}"}
        async with self.session.get(f"{self.base}/stream/{movie_id}/file", headers=headers) as resp:
            assert resp.status == 206, await resp.text()
            return await resp.read()


async def add_film(
    database_url: str, title: str, *, magnet: str | None = None, torrent_url: str | None = None
) -> int:
    """A film with one torrent, written straight into the server's database (no catalog source needed)."""
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval(
            """WITH film AS (INSERT INTO movies (title, year) VALUES ($1, 2020) RETURNING id),
                    torrent AS (INSERT INTO torrents (movie_id, source, quality, magnet, torrent_url, seeders)
                                SELECT id, 'test', '720p', $2, $3, 1 FROM film
                                WHERE $2::text IS NOT NULL OR $3::text IS NOT NULL)
               SELECT id FROM film""",
            title,
            magnet,
            torrent_url,
        )
    finally:
        await conn.close()


def verified_pieces(torrent_file: Path, data_file: Path) -> set[int]:
    """Pieces of a single-file torrent whose bytes on disk match their hash (blocking)."""
    info = lt.torrent_info(str(torrent_file))
    size = info.piece_length()
    good: set[int] = set()
    if not data_file.exists():
        return good
    with open(data_file, "rb") as fh:
        for piece in range(info.num_pieces()):
            fh.seek(piece * size)
            data = fh.read(info.piece_size(piece))
            if hashlib.sha1(data).digest() == bytes(info.hash_for_piece(piece)):
                good.add(piece)
    return good


def resume_pieces(resume_file: Path) -> set[int]:
    """The pieces a libtorrent resume file records as verified (blocking)."""
    params = lt.read_resume_data(resume_file.read_bytes())
    return {i for i, have in enumerate(params.have_pieces) if have}


def piece_bytes(torrent_file: Path, pieces: set[int]) -> int:
    info = lt.torrent_info(str(torrent_file))
    return sum(info.piece_size(p) for p in pieces)


class Figures:
    """The numbers the fault tests measure, printed and kept in one JSON file for the write-up."""

    def __init__(self, path: Path):
        self.path = path
        self.values: dict[str, dict[str, Any]] = {}
        if path.exists():
            try:
                self.values = json.loads(path.read_text())
            except ValueError:
                self.values = {}

    def record(self, test: str, **values: Any) -> None:
        rounded = {k: round(v, 2) if isinstance(v, float) else v for k, v in values.items()}
        self.values[test] = rounded
        print(f"\n[faults] {test}: " + ", ".join(f"{k}={v}" for k, v in rounded.items()), flush=True)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.values, indent=2, sort_keys=True) + "\n")
