"""PostgreSQL and Redis shared by the local cluster's nodes: the configured ones, else started here."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from hypertube.cluster.processes import ClusterError, free_port, spawn, wait_port, write_pid
from hypertube.db.pool import start_embedded

POSTGRES = "postgres"
REDIS = "redis"


def database_url(root: Path, configured: str | None) -> str:
    """The configured database, else an embedded PostgreSQL in `root/pg` left running for the nodes."""
    if configured:
        return configured
    # PostgreSQL's socket lock files want a private runtime dir; the data dir's parent is not one.
    runtime = root / "run"
    runtime.mkdir(mode=0o700, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
    server = start_embedded(root / "pg", cleanup_mode=None)
    write_pid(root, POSTGRES, server.get_pid())
    return server.get_uri()


def redis_url(root: Path, configured: str | None) -> str:
    """The configured Redis, else a `redis-server` on a free loopback port keeping nothing on disk."""
    if configured:
        return configured
    binary = shutil.which("redis-server")
    if binary is None:
        raise ClusterError("redis-server not found: install Debian's redis-server or set HYPERTUBE_REDIS_URL")
    port = free_port()
    (root / REDIS).mkdir(exist_ok=True)
    argv = [binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(root / REDIS), "--save", ""]
    spawn(root, REDIS, argv, {})
    wait_port(port, 10, root, REDIS)
    return f"redis://127.0.0.1:{port}/0"
