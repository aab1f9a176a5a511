"""Several nodes behind one proxy: who this node is, which nodes are alive, and which one owns a film."""

from hypertube.cluster.hashing import owner, ranked
from hypertube.cluster.identity import ensure_node_identity, node_url_for
from hypertube.cluster.registry import Node, NodeRegistry, make_registry

__all__ = [
    "Node",
    "NodeRegistry",
    "ensure_node_identity",
    "make_registry",
    "node_url_for",
    "owner",
    "ranked",
]
