"""Adaptive streaming of a film: its renditions (the source and smaller H.264 transcodes), the master
playlist that lists them, and their segments, cut on demand with at most N transcodes at once."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path

from hypertube.media import segments
from hypertube.media.convert import MediaError, MediaInfo
from hypertube.media.service import MediaService, NoFilm, WaitingForPeers

log = logging.getLogger(__name__)

# Heights and bitrates (bits/s) of the smaller renditions, as commonly used for H.264 at 25–30 fps.
LADDER = ((720, 2_800_000), (480, 1_400_000))
# Without byte positions in the index, the source's bitrate is guessed: 0.1 bit per pixel at 25 fps.
SOURCE_BITS_PER_PIXEL = 2.5
AUDIO_ALLOWANCE = 192_000  # bits/s of a rendition's bandwidth kept for its AAC sound
MPEG_TS_OVERHEAD = 1.1  # segments' bytes over the source's own: 188-byte packets' and PES headers
# RFC 6381 H.264 codec names: profile and constraint bytes of the source's copied video (SAFE_PROFILES),
# the transcodes' High profile otherwise; level 4.0 up to 1080p, 5.1 above.
AVC_PROFILES = {"Baseline": "42E0", "Constrained Baseline": "42E0", "Main": "4D40", "High": "6400"}
SOURCE = "source"


@dataclass(frozen=True)
class Rendition:
    name: str  # "source", "720p", "480p"
    width: int
    height: int
    bandwidth: int  # bits/s, the peak the master playlist announces (HLS BANDWIDTH)
    transcoded: bool  # made here from the source (the source rendition is the film's own segments)
    average_bandwidth: int = 0  # bits/s over the whole film (HLS AVERAGE-BANDWIDTH); 0 when unknown

    @property
    def video_bitrate(self) -> int:
        """The cap of a transcoded rendition's video, bits/s: its bandwidth less the sound's share and
        the MPEG-TS overhead (about 10 %), less the encoder's own overshoot (about 10 %)."""
        return max(int((self.bandwidth - AUDIO_ALLOWANCE) / 1.25), self.bandwidth // 3)


def source_bandwidth(info: MediaInfo) -> int:
    """The source's peak bitrate (bits/s): the largest segment's bytes over its length, from the
    index's byte positions; guessed from the picture size when the index has none."""
    rates = [
        (end - start) * 8 / info.length(i)
        for i, (start, end) in enumerate(info.spans[: len(info.segments)])
        if end > start and info.length(i) > 0.5
    ]
    if rates:
        return int(max(rates))
    return int(info.width * info.height * SOURCE_BITS_PER_PIXEL)


def source_average_bandwidth(info: MediaInfo) -> int:
    """The source's mean bitrate as sent (bits/s): the bytes from its first segment's start to its last
    known segment's end over their length, plus the MPEG-TS overhead; 0 without the index's byte
    positions. Segments' spans overlap a little (each starts at a keyframe's position), so they are not
    summed."""
    known = [i for i, (start, end) in enumerate(info.spans[: len(info.segments)]) if end > start]
    if not known:
        return 0
    size = max(info.spans[i][1] for i in known) - min(info.spans[i][0] for i in known)
    seconds = sum(info.length(i) for i in known)
    return int(size * 8 / seconds * MPEG_TS_OVERHEAD) if seconds > 0 else 0


def renditions(info: MediaInfo) -> list[Rendition]:
    """The source, then each smaller rendition of the ladder (never one as large as the source)."""
    peak = source_bandwidth(info)
    average = min(source_average_bandwidth(info), peak)
    found = [Rendition(SOURCE, info.width, info.height, peak, False, average)]
    for height, bandwidth in LADDER:
        if height < info.height:
            width = round(info.width * height / info.height / 2) * 2
            found.append(Rendition(f"{height}p", width, height, bandwidth, True))
    return found


def master_playlist(info: MediaInfo, playlist_url: dict[str, str]) -> str:
    """The HLS master playlist: one variant per rendition, the source first; `playlist_url` by name."""
    audio = ",mp4a.40.2" if info.audio_action != "none" else ""
    copied = info.video_action == "copy" and info.video_codec == "h264"
    profile = AVC_PROFILES.get(info.profile, "6400") if copied else "6400"
    level = "28" if info.height <= 1088 else "33"
    # Every variant names its codecs: hls.js switches only between variants of the same codec family,
    # so a source without CODECS would never be climbed back to from a transcode.
    source_codecs = f"avc1.{profile}{level}{audio}"
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for r in renditions(info):
        codecs = source_codecs if r.name == SOURCE else f"avc1.640028{audio}"
        attributes = f"BANDWIDTH={r.bandwidth}"
        if r.average_bandwidth:
            # hls.js weighs a rendition by its mean rather than its peak once two segments are buffered,
            # so a link that recovers gets the source back sooner.
            attributes += f",AVERAGE-BANDWIDTH={r.average_bandwidth}"
        attributes += f',RESOLUTION={r.width}x{r.height},NAME="{r.name}"'
        attributes += f',CODECS="{codecs}"'
        lines += [f"#EXT-X-STREAM-INF:{attributes}", playlist_url[r.name]]
    return "\n".join(lines) + "\n"


def find(info: MediaInfo, name: str) -> Rendition | None:
    return next((r for r in renditions(info) if r.name == name), None)


class RenditionSegments:
    """Segments of the transcoded renditions, cached per rendition next to the film's own segments.

    Every rendition shares the source's segment timeline, so a player can switch between them at any
    segment. Transcodes beyond `max_transcodes` wait for a free slot: `waiting` counts them, and
    `queue(movie_id)` says how many of a film's wait and run."""

    def __init__(self, media: MediaService, max_transcodes: int):
        self.media = media
        self.slots = max(1, max_transcodes)
        self._slots = asyncio.Semaphore(self.slots)
        self.waiting = 0
        self._waiting: dict[int, int] = {}
        self._running: dict[int, int] = {}

    def queue(self, movie_id: int) -> dict[str, int]:
        """The converter's state for a film: {"waiting": its transcodes waiting for a slot, "running":
        its transcodes running, "slots": transcodes allowed at once, all films together}."""
        return {
            "waiting": self._waiting.get(movie_id, 0),
            "running": self._running.get(movie_id, 0),
            "slots": self.slots,
        }

    def path(
        self,
        movie_id: int,
        rendition: Rendition,
        index: int,
        audio: int | None = None,
        copy: str | None = None,
    ) -> Path:
        """`<rendition>/<n>.ts` with the film's default audio track, `<rendition>/<n>.a<stream>.ts` with
        another one."""
        suffix = "" if audio is None else f".a{int(audio)}"
        return self.media.movie_dir(movie_id, copy) / rendition.name / f"{int(index)}{suffix}.ts"

    async def segment(
        self,
        movie_id: int,
        info: MediaInfo,
        rendition: Rendition,
        index: int,
        *,
        audio: int | None = None,
        prefetch: int = 1,
    ) -> Path:
        """The rendition's segment with the audio track whose stream index is `audio` (None or the
        default: the default track); the next `prefetch` segments are cut in the background. Raises
        IndexError for a segment or audio track the film lacks."""
        if not rendition.transcoded:
            return await self.media.segment(movie_id, index, audio=audio, copy=info.copy or None)
        if not 0 <= index < len(info.segments):
            raise IndexError(index)
        if audio is not None and info.audio_track(audio) is None:
            raise IndexError(audio)
        audio = None if audio == info.audio_index else audio
        path = await self._segment(movie_id, info, rendition, index, audio)
        for nxt in range(index + 1, min(index + 1 + prefetch, len(info.segments))):
            if not self.path(movie_id, rendition, nxt, audio, info.copy).exists():
                self.media.background(self._prefetch(movie_id, info, rendition, nxt, audio))
        return path

    async def _prefetch(
        self, movie_id: int, info: MediaInfo, rendition: Rendition, index: int, audio: int | None
    ) -> None:
        try:
            await self._segment(movie_id, info, rendition, index, audio)
        except (MediaError, WaitingForPeers, NoFilm) as exc:
            log.info("%s segment %s of film %s not prepared ahead: %s", rendition.name, index, movie_id, exc)

    async def _segment(
        self, movie_id: int, info: MediaInfo, rendition: Rendition, index: int, audio: int | None
    ) -> Path:
        path = self.path(movie_id, rendition, index, audio, info.copy)
        if path.exists():
            return path
        return await self.media.once(
            (movie_id, ("slot", rendition.name, index, audio, info.copy)),
            lambda: self._transcode(movie_id, info, rendition, index, audio, path),
        )

    async def _transcode(
        self, movie_id: int, info: MediaInfo, rendition: Rendition, index: int, audio: int | None, path: Path
    ) -> Path:
        scaled = dataclasses.replace(
            info, width=rendition.width, height=rendition.height, video_action="transcode"
        )
        cap = rendition.video_bitrate
        _add(self._waiting, movie_id, 1)
        self.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
            _add(self._waiting, movie_id, -1)
        _add(self._running, movie_id, 1)
        try:
            if await asyncio.to_thread(path.exists):  # made meanwhile (the worker that pre-makes renditions)
                return path
            return await self.media.cut_once(
                movie_id,
                (rendition.name, index),
                path,
                info,
                lambda opener: segments.make_segment(opener, scaled, index, audio, max_bitrate=cap),
                audio=audio,
            )
        finally:
            _add(self._running, movie_id, -1)
            self._slots.release()


def _add(counts: dict[int, int], key: int, step: int) -> None:
    value = counts.get(key, 0) + step
    if value:
        counts[key] = value
    else:
        counts.pop(key, None)
