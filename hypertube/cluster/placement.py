"""Which live node holds each film, as this node sees it: the owner by rendezvous hashing over the
node registry, asked afresh for each stream request, and the last answer kept for page links."""

from __future__ import annotations

import logging

from hypertube.cluster.hashing import owner
from hypertube.cluster.registry import Node, NodeRegistry

log = logging.getLogger(__name__)


class FilmPlacement:
    """`holder(movie_id)` is the node that downloads and streams a film; every node computes the
    same one from the same registry. With one live node (or none listed) this node holds every film."""

    def __init__(self, registry: NodeRegistry):
        self.registry = registry
        self.node = registry.node
        self.known: list[Node] = [registry.node]  # the live nodes at the last look

    async def refresh(self) -> list[Node]:
        """The live nodes now. When the registry cannot be read, the last list (a Redis hiccup must
        not stop streams); an empty registry means this node is alone."""
        try:
            live = await self.registry.live()
        except Exception:
            log.warning(
                "the node registry cannot be read; placing films by the last known list", exc_info=True
            )
            return self.known
        self.known = live or [self.node]
        return self.known

    async def holder(self, movie_id: int) -> Node:
        """The film's node among the live nodes now."""
        return owner(str(movie_id), await self.refresh())

    def last_holder(self, movie_id: int) -> Node:
        """The film's node by the last list seen (no I/O: for links in pages; the stream guard checks)."""
        return owner(str(movie_id), self.known)

    @property
    def shared(self) -> bool:
        """Whether other nodes were live at the last look (films are then placed, links pinned)."""
        return len(self.known) > 1
