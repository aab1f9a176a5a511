"""Adaptive streaming of a converted film: its renditions (the source and smaller H.264 transcodes), the
master playlist that lists them, and their segments, cut on demand with at most N transcodes at once."""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from pathlib import Path

from hypertube.media import segments
from hypertube.media.convert import MediaInfo
from hypertube.media.service import MediaService

# Heights and bitrates (bits/s) of the smaller renditions, as commonly used for H.264 at 25–30 fps.
LADDER = ((720, 2_800_000), (480, 1_400_000))
# The source's bitrate is not known before it is read: about 0.1 bit per pixel per frame at 25 fps.
SOURCE_BITS_PER_PIXEL = 2.5
SOURCE = "source"


@dataclass(frozen=True)
class Rendition:
    name: str  # "source", "720p", "480p"
    width: int
    height: int
    bandwidth: int
    transcoded: bool  # made here from the source (the source rendition is the film's own segments)


def renditions(info: MediaInfo) -> list[Rendition]:
    """The source, then each smaller rendition of the ladder (never one as large as the source)."""
    found = [
        Rendition(
            SOURCE, info.width, info.height, int(info.width * info.height * SOURCE_BITS_PER_PIXEL), False
        )
    ]
    for height, bandwidth in LADDER:
        if height < info.height:
            width = round(info.width * height / info.height / 2) * 2
            found.append(Rendition(f"{height}p", width, height, bandwidth, True))
    return found


def master_playlist(info: MediaInfo, playlist_url: dict[str, str]) -> str:
    """The HLS master playlist: one variant per rendition, the source first; `playlist_url` by name."""
    codecs = "avc1.640028" + (",mp4a.40.2" if info.audio_action != "none" else "")
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for r in renditions(info):
        attributes = f'BANDWIDTH={r.bandwidth},RESOLUTION={r.width}x{r.height},NAME="{r.name}"'
        if r.transcoded or info.video_action == "transcode":
            attributes += f',CODECS="{codecs}"'
        lines += [f"#EXT-X-STREAM-INF:{attributes}", playlist_url[r.name]]
    return "\n".join(lines) + "\n"


def find(info: MediaInfo, name: str) -> Rendition | None:
    return next((r for r in renditions(info) if r.name == name), None)


class RenditionSegments:
    """Segments of the transcoded renditions, cached per rendition next to the film's own segments.

    Every rendition shares the source's segment timeline, so a player can switch between them at any
    segment. Transcodes beyond `max_transcodes` wait for a free slot (`waiting` counts them)."""

    def __init__(self, media: MediaService, max_transcodes: int):
        self.media = media
        self._slots = asyncio.Semaphore(max(1, max_transcodes))
        self.waiting = 0

    def path(self, movie_id: int, rendition: Rendition, index: int, audio: int | None = None) -> Path:
        """`<rendition>/<n>.ts` with the film's default audio track, `<rendition>/<n>.a<stream>.ts` with
        another one."""
        suffix = "" if audio is None else f".a{int(audio)}"
        return self.media.movie_dir(movie_id) / rendition.name / f"{int(index)}{suffix}.ts"

    async def segment(
        self, movie_id: int, info: MediaInfo, rendition: Rendition, index: int, *, audio: int | None = None
    ) -> Path:
        """The rendition's segment with the audio track whose stream index is `audio` (None or the
        default: the default track)."""
        if not rendition.transcoded:
            return await self.media.segment(movie_id, index, audio=audio)
        if audio is not None and info.audio_track(audio) is None:
            raise IndexError(audio)
        audio = None if audio == info.audio_index else audio
        path = self.path(movie_id, rendition, index, audio)
        if path.exists():
            return path
        scaled = dataclasses.replace(
            info, width=rendition.width, height=rendition.height, video_action="transcode"
        )
        self.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
        try:
            return await self.media.cut_once(
                movie_id,
                (rendition.name, index),
                path,
                info,
                lambda opener: segments.make_segment(opener, scaled, index, audio),
                audio=audio,
            )
        finally:
            self._slots.release()
