"""Where a film can be cut: its video keyframes (from the container's index, or a packet scan when the
index is missing or partial), segments of about 4 s between them, and the bytes each segment spans."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import av

TARGET_SEGMENT_S = 4.0  # segments are cut at the first keyframe at least this far from their start
MAX_SEGMENT_S = 10.0  # a film with sparse keyframes still gets cut (transcoding only; copies need keyframes)
SPAN_MARGIN = 256 * 1024  # past the next segment's keyframe: the cutter reads that whole packet
JUMP_S = 5.0  # consecutive video packets further apart than this: the recording's clock jumped

Gaps = list[tuple[float, float]]  # (source time where the clock jumped forward, seconds skipped)


@dataclass(frozen=True)
class Keyframes:
    points: list[tuple[float, int]]  # (source seconds, byte position or -1), sorted
    end: float | None  # when scanned: where the last video packet ends, i.e. what the file really holds
    gaps: Gaps = field(default_factory=list)  # when scanned: forward jumps of the clock (MPEG-TS)


def film_time(seconds: float, gaps: Gaps) -> float:
    """Source seconds on the film's own clock, without the time skipped by jumps up to then."""
    return seconds - sum(skipped for at, skipped in gaps if at <= seconds + 1e-6)


def source_time(seconds: float, gaps: Gaps) -> float:
    """The inverse of film_time: a point exactly at a jump maps to the first time after it."""
    for at, skipped in gaps:
        if film_time(at, gaps) <= seconds + 1e-6:
            seconds += skipped
    return seconds


def _indexed(stream: Any, size: int | None) -> dict[float, int]:
    tb = stream.time_base
    return {
        float(e.timestamp * tb): e.pos if e.pos is not None and e.pos >= 0 else -1
        for e in stream.index_entries
        if e.is_keyframe and e.timestamp is not None and (size is None or e.pos is None or e.pos < size)
    }


def _covers(found: dict[float, int], start: float, duration: float | None) -> bool:
    """A real index reaches the end of the film. The Matroska demuxer also adds the keyframes it has
    read so far to the same index, which for a file without Cues looks like an index of the film's
    first seconds only."""
    if len(found) < 2 or not duration:
        return False
    return max(found) >= start + duration - min(MAX_SEGMENT_S, max(TARGET_SEGMENT_S, duration / 4))


def _scan(container: Any, stream: Any) -> Keyframes:
    """Reads every video packet (not decoded): their keyframes, and where the last one ends."""
    tb = stream.time_base
    found: dict[float, int] = {}
    gaps: Gaps = []
    end = 0.0
    rate = stream.average_rate or stream.guessed_rate or 25
    frame_s = float(1 / rate)  # MPEG-TS packets often carry no duration
    container.seek(0, stream=stream, backward=True)
    try:
        for packet in container.demux(stream):
            if packet.pts is None:
                continue
            seconds = float(packet.pts * tb)
            if end and seconds - end > JUMP_S:
                gaps.append((seconds, seconds - end))
            end = max(end, seconds + (float(packet.duration * tb) if packet.duration else frame_s))
            if packet.is_keyframe:
                found.setdefault(seconds, packet.pos if packet.pos is not None else -1)
    except av.FFmpegError:
        pass  # a truncated or damaged tail: what was read before it still plays
    return Keyframes(sorted(found.items()), end or None, gaps)


def keyframes(
    container: Any, stream: Any, start: float, duration: float | None, size: int | None
) -> Keyframes:
    """Keyframes from the demuxer's index (MKV cues, AVI idx1, MP4 stss) when it covers the film and
    points inside the file; otherwise by scanning packets."""
    try:
        container.seek(0, stream=stream, backward=True)  # makes the Matroska demuxer read its cues
    except av.FFmpegError:
        pass
    found = _indexed(stream, size)
    if _covers(found, start, duration):
        return Keyframes(sorted(found.items()), None)
    return _scan(container, stream)


def segment_spans(
    segments: list[tuple[float, float]], keyframes: list[tuple[float, int]]
) -> list[tuple[int, int]]:
    """The bytes each segment is read from: from the keyframe at or before its start to a little past
    the first keyframe at or after its end. Empty when the index has no byte positions."""
    if not keyframes or any(pos < 0 for _, pos in keyframes):
        return []
    times = [t for t, _ in keyframes]
    spans = []
    for start, end in segments:
        before = bisect.bisect_right(times, start + 1e-6) - 1
        after = bisect.bisect_left(times, end - 1e-6)
        first = keyframes[max(0, before)][1]
        last = keyframes[after][1] + SPAN_MARGIN if after < len(keyframes) else -1
        spans.append((first, last))
    return spans


def plan_segments(
    keyframes: list[float], duration_end: float, *, any_cut: bool, forced: Sequence[float] = ()
) -> list[tuple[float, float]]:
    """Groups keyframes into segments of ≥ TARGET_SEGMENT_S; `any_cut` also splits long GOPs (transcoding);
    a segment always starts at the first keyframe at or after each `forced` time (a jump of the clock)."""
    points = [keyframes[0]]
    pending = sorted(forced)
    for kf in keyframes[1:]:
        while any_cut and kf - points[-1] > MAX_SEGMENT_S:
            points.append(points[-1] + TARGET_SEGMENT_S)
        must = bool(pending) and kf >= pending[0] - 1e-6
        while pending and kf >= pending[0] - 1e-6:
            pending.pop(0)
        if must or kf - points[-1] >= TARGET_SEGMENT_S - 1e-6:
            points.append(kf)
    while any_cut and duration_end - points[-1] > MAX_SEGMENT_S:
        points.append(points[-1] + TARGET_SEGMENT_S)
    if len(points) > 1 and duration_end - points[-1] < 1.0:
        points.pop()  # a tiny tail joins the segment before it
    ends = points[1:] + [max(duration_end, points[-1] + 0.1)]
    return list(zip(points, ends, strict=True))
