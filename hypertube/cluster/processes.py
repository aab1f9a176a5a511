"""Detached processes of the local cluster: each with `<name>.pid` and `<name>.log` in one folder."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path


class ClusterError(RuntimeError):
    """The local cluster cannot start or stop; the message says what to look at."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def spawn(root: Path, name: str, argv: Sequence[str], env: dict[str, str]) -> int:
    """Starts `argv` in its own session (so it outlives the caller), logging to `<name>.log`."""
    with open(root / f"{name}.log", "ab") as log:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    write_pid(root, name, process.pid)
    return process.pid


def write_pid(root: Path, name: str, pid: int) -> None:
    (root / f"{name}.pid").write_text(f"{pid}\n")


def read_pid(root: Path, name: str) -> int | None:
    try:
        return int((root / f"{name}.pid").read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def alive(pid: int) -> bool:
    try:
        # Reaps the process if this one started it, so a killed child is not mistaken for a live zombie.
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running(root: Path, name: str) -> int | None:
    pid = read_pid(root, name)
    return pid if pid is not None and alive(pid) else None


def stop(root: Path, names: Sequence[str], timeout: float = 15.0) -> list[str]:
    """Asks the processes in `<name>.pid` to stop, kills those still there after `timeout`; returns
    the names that were running."""
    pids = {name: pid for name in names if (pid := running(root, name)) is not None}
    for name in names:
        (root / f"{name}.pid").unlink(missing_ok=True)
    for pid in pids.values():
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while left := [pid for pid in pids.values() if alive(pid)]:
        if time.monotonic() > deadline:
            for pid in left:
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)
    return list(pids)


def wait_http(url: str, timeout: float, root: Path, name: str) -> None:
    """Waits until `url` answers 200; fails early, pointing at the log, when the process has died."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if running(root, name) is None:
            raise ClusterError(f"{name} stopped while starting; see {root / (name + '.log')}")
        if time.monotonic() > deadline:
            raise ClusterError(f"{url} did not answer within {timeout:.0f} s; see {root / (name + '.log')}")
        time.sleep(0.2)


def wait_port(port: int, timeout: float, root: Path, name: str) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            pass
        if running(root, name) is None or time.monotonic() > deadline:
            raise ClusterError(f"{name} is not listening on port {port}; see {root / (name + '.log')}")
        time.sleep(0.1)
