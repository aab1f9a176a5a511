"""Rendezvous (highest random weight) hashing: which of the live nodes owns a film.

Every node computes the same answer from the same list, and when a node leaves only the films it
owned move, each to its own next choice."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from hypertube.cluster.registry import Node


def weight(key: str, node_id: str) -> int:
    digest = hashlib.blake2b(f"{node_id}\x00{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def ranked(key: str, nodes: Iterable[Node]) -> list[Node]:
    """The nodes in order of preference for `key`: the owner first, then who takes over if it dies."""
    # The id breaks (astronomically unlikely) ties, so the order never depends on the list's order.
    return sorted(nodes, key=lambda node: (weight(key, node.id), node.id), reverse=True)


def owner(key: str, nodes: Iterable[Node]) -> Node:
    """The node that holds `key` (a film id); raises ValueError when there is no node."""
    candidates = ranked(key, nodes)
    if not candidates:
        raise ValueError("no live node to own " + repr(key))
    return candidates[0]
