"""Who this node is: an id (configured, or generated once into the data dir) and its internal address."""

from __future__ import annotations

import re
import secrets
import socket

from hypertube.settings import Settings, generated_once

ANY_ADDRESS = ("", "0.0.0.0", "::")


def node_url_for(host: str, port: int) -> str:
    """The address other nodes reach a server at that listens on `host`:`port`."""
    if host in ANY_ADDRESS:
        host = socket.gethostname()
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _new_node_id() -> str:
    # The host name keeps ids readable in logs; the random tail keeps two nodes on one host apart.
    name = re.sub(r"[^A-Za-z0-9-]+", "-", socket.gethostname()).strip("-")[:40] or "node"
    return f"{name}-{secrets.token_hex(3)}"


def ensure_node_identity(settings: Settings) -> Settings:
    """Settings with a node id and a node URL: the configured ones, else a generated id and the base URL."""
    node_id = settings.node_id or generated_once(settings.data_dir / "node_id", _new_node_id)
    return settings.replace(node_id=node_id, node_url=settings.node_url or settings.base_url)
