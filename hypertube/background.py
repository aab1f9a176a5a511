"""Background tasks a long-lived object starts: kept until they end, and cancelled and awaited when it closes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any


class BackgroundTasks:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Future[Any]] = set()

    def start(self, work: Awaitable[Any]) -> asyncio.Future[Any]:
        """Runs `work` as a task, referenced until it is done (the loop itself keeps only weak ones)."""
        future = asyncio.ensure_future(work)
        self._tasks.add(future)
        future.add_done_callback(self._tasks.discard)
        return future

    async def settle(self) -> None:
        """Waits for the running tasks, and for those they start meanwhile."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
