"""Closing the media service stops the work it started in the background, including shared jobs
whose callers went away."""

from __future__ import annotations

import asyncio

from hypertube.media.service import MediaService


async def test_close_cancels_shared_jobs_left_by_their_callers(tmp_path):
    service = MediaService(tmp_path)
    started = asyncio.Event()
    ended: list[str] = []

    async def endless() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            ended.append("cancelled")

    caller = asyncio.create_task(service._once((1, "job"), endless))
    await started.wait()
    caller.cancel()  # the request went away; the shared job goes on for other callers
    await asyncio.gather(caller, return_exceptions=True)
    assert ended == []
    await service.close()
    assert ended == ["cancelled"]
