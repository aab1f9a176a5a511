"""The engine's background work (rows, resume files, deletions, late `.torrent` files): tracked until
it ends, so that closing the engine can wait for it, bounded."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

from hypertube.torrent.errors import TorrentError

log = logging.getLogger(__name__)


class BackgroundWork:
    """Tasks started from alerts and callbacks, each kept until it ends; failures are logged."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Future[Any]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, work: Awaitable[Any], name: str) -> asyncio.Task:
        """Runs `work` in the background as a task named `name`, kept until it ends."""
        task = asyncio.ensure_future(work)
        assert isinstance(task, asyncio.Task)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Future[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        # A film that cannot be added is the caller's answer (a reader waits on the task), not a fault.
        if exc is not None and not isinstance(exc, TorrentError):
            name = task.get_name() if isinstance(task, asyncio.Task) else "background work"
            log.error("%s failed", name, exc_info=exc)

    async def settle(self, limit: float) -> None:
        """Waits up to `limit` seconds for the running tasks, including those they start meanwhile,
        then cancels what is left."""
        loop = asyncio.get_running_loop()
        end = loop.time() + limit
        while self._tasks and loop.time() < end:
            await asyncio.wait(set(self._tasks), timeout=end - loop.time())
        late = set(self._tasks)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
