"""`make cluster`: Traefik in front of two nodes sharing PostgreSQL and Redis, everything under var/cluster.

`python -m hypertube.cluster.local start|stop`. Each process writes `<name>.pid` and `<name>.log` there."""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from hypertube.cluster import processes, services, traefik
from hypertube.cluster.processes import ClusterError
from hypertube.cluster.registry import Node
from hypertube.settings import generated_once

ROOT = Path("var/cluster")
NODE_IDS = ("n1", "n2")
TRAEFIK = "traefik"
START_TIMEOUT = 90.0


def node_env(base: Mapping[str, str], node: Node, root: Path) -> dict[str, str]:
    env = dict(base)
    env.update(
        HYPERTUBE_NODE_ID=node.id,
        HYPERTUBE_NODE_URL=node.url,
        HYPERTUBE_DATA_DIR=str(root / node.id),
    )
    return env


def shared_demo(
    root: Path, node_ids: Sequence[str], generate: Callable[[Path], list[Any]] | None = None
) -> list[dict[str, Any]]:
    """Makes the demo films and their torrents once, in `root/demo` (reused on the next starts), and
    gives every node the same ones: each node's `demo/films` and `demo/torrents` link there. Every node
    then seeds every demo film from its own seeder with the same info hash, so whichever node holds
    a film can fetch it, whatever node is down. Returns the films' manifest entries."""
    from hypertube.torrent.demo import build_demo, default_generator

    shared = root / "demo"
    entries = build_demo(shared, generate or default_generator)
    for node_id in node_ids:
        folder = root / node_id / "demo"
        folder.mkdir(parents=True, exist_ok=True)
        for part in ("films", "torrents"):
            link = folder / part
            if link.is_symlink() and link.resolve() == (shared / part).resolve():
                continue
            if link.is_symlink() or link.is_file():
                link.unlink()
            elif link.exists():
                shutil.rmtree(link)  # films this node made on its own before: not the shared ones
            link.symlink_to((shared / part).resolve(), target_is_directory=True)
    return entries


def shared_env(root: Path, port: int, env: Mapping[str, str]) -> dict[str, str]:
    """What every node gets: one database, one Redis, one secret (so sessions work on any node)."""
    shared = dict(env)
    shared["HYPERTUBE_DATABASE_URL"] = services.database_url(root, env.get("HYPERTUBE_DATABASE_URL"))
    shared["HYPERTUBE_REDIS_URL"] = services.redis_url(root, env.get("HYPERTUBE_REDIS_URL"))
    shared.setdefault("HYPERTUBE_BASE_URL", f"http://127.0.0.1:{port}")
    if not shared.get("HYPERTUBE_SECRET_KEY"):
        shared["HYPERTUBE_SECRET_KEY"] = generated_once(
            root / "secret_key", lambda: secrets.token_urlsafe(48)
        )
    return shared


def start(
    root: Path,
    port: int,
    env: Mapping[str, str],
    node_ids: Sequence[str] = NODE_IDS,
    demo: bool = True,
    timeout: float = START_TIMEOUT,
) -> list[Node]:
    """Starts the shared services, the nodes and Traefik; returns once Traefik answers /healthz."""
    root = root.resolve()
    root.mkdir(parents=True, exist_ok=True)
    if any(processes.running(root, name) for name in (TRAEFIK, *node_ids)):
        raise ClusterError(f"a cluster is already running from {root}; stop it first")
    shared = shared_env(root, port, env)
    if demo:
        shared_demo(root, node_ids)
    nodes = [Node(node_id, f"http://127.0.0.1:{processes.free_port()}") for node_id in node_ids]
    for node in nodes:
        serve = [sys.executable, "-m", "hypertube", "serve", "--host", "127.0.0.1"]
        serve += ["--port", node.url.rsplit(":", 1)[1], *(["--demo"] if demo else [])]
        processes.spawn(root, node.id, serve, node_env(shared, node, root))
    for node in nodes:
        processes.wait_http(f"{node.url}/healthz", timeout, root, node.id)
    # Started after the nodes answer, so its first health checks do not mark a booting node down.
    config = traefik.write_config(root, port, nodes)
    processes.spawn(root, TRAEFIK, [traefik.binary(), f"--configFile={config}"], shared)
    processes.wait_http(f"http://127.0.0.1:{port}/healthz", timeout, root, TRAEFIK)
    return nodes


def stop(root: Path) -> list[str]:
    """Stops the proxy first, then the nodes, then the services they use; returns what was running."""
    names = {path.stem for path in root.glob("*.pid")}
    last = [services.REDIS, services.POSTGRES]
    nodes = sorted(names - {TRAEFIK, *last})
    return [name for stage in ([TRAEFIK], nodes, last) for name in processes.stop(root, stage)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m hypertube.cluster.local", description=__doc__)
    parser.add_argument("action", choices=["start", "stop"])
    args = parser.parse_args(argv)
    try:
        if args.action == "stop":
            stopped = stop(ROOT.resolve())
            print("stopped " + (", ".join(stopped) if stopped else "nothing (no cluster was running)"))
            return
        port = int(os.environ.get("HYPERTUBE_CLUSTER_PORT", "8080"))
        print("Preparing the demo films (made on the first start only)…", flush=True)
        nodes = start(ROOT, port, os.environ)
    except ClusterError as exc:
        print(f"cluster: {exc}", file=sys.stderr)
        if args.action == "start":
            print("`make cluster-stop` stops whatever did start.", file=sys.stderr)
        sys.exit(1)
    names = ", ".join(f"{node.id} ({node.url})" for node in nodes)
    print(f"Hypertube cluster on http://127.0.0.1:{port}: nodes {names}; logs and pids in {ROOT}/")
    print("`make cluster-stop` stops it.")


if __name__ == "__main__":
    main()
