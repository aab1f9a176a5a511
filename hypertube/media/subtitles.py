"""Subtitles to WebVTT: SRT, ASS/SSA and VTT files, tracks inside the container, and OpenSubtitles."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av

MAX_SUBTITLE_BYTES = 5 * 1024 * 1024
SUBTITLE_EXTENSIONS = (".srt", ".ass", ".ssa", ".vtt")  # text: converted to WebVTT
IMAGE_SUBTITLE_EXTENSIONS = (".sub", ".idx", ".sup")  # VobSub pairs and PGS: pictures, never WebVTT


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str  # already WebVTT-safe: escaped, only <b>, <i>, <u> tags


_TIME = re.compile(r"(?:(\d{1,3}):)?(\d{1,2}):(\d{1,2})(?:[.,:](\d{1,3}))?")
_TIMING = re.compile(
    r"^\s*(?P<a>(?:\d{1,3}:)?\d{1,2}:\d{1,2}(?:[.,:]\d{1,3})?)\s*-+>\s*"
    r"(?P<b>(?:\d{1,3}:)?\d{1,2}:\d{1,2}(?:[.,:]\d{1,3})?)"
)
_ALLOWED_TAG = re.compile(r"<(/?)([biu])\s*>", re.IGNORECASE)
_ANY_TAG = re.compile(r"<[^>]*>")
_ASS_BLOCK = re.compile(r"\{[^}]*\}")  # in ASS every brace block is an override or a comment
_OVERRIDE_BLOCK = re.compile(r"\{(\\[^}]*)\}")  # in SRT only blocks starting with a backslash are
_STYLE_TOGGLE = re.compile(r"\\([biu])(\d*)(?![a-z])")  # \i1, \b0, \b700 — not \bord2, \blur, \iclip


def _seconds(value: str) -> float | None:
    m = _TIME.fullmatch(value.strip())
    if not m:
        return None
    h, mi, s, frac = m.groups()
    if int(mi) >= 60 or int(s) >= 60:
        return None
    fraction = int(frac) / 10 ** len(frac) if frac else 0.0
    return int(h or 0) * 3600 + int(mi) * 60 + int(s) + fraction


def clean_text(raw: str) -> str:
    """Cue text safe for WebVTT and for the page: keeps <b>, <i>, <u>; drops every other tag; escapes the rest."""
    keep: list[str] = []

    def stash(m: re.Match[str]) -> str:
        keep.append(f"<{m.group(1)}{m.group(2).lower()}>")
        return f"\x00{len(keep) - 1}\x00"

    text = _ALLOWED_TAG.sub(stash, raw)
    text = re.sub(r"<\s*(script|style)\b[^>]*>.*?<\s*/\s*\1\s*>", "", text, flags=re.IGNORECASE | re.DOTALL)
    text = _ANY_TAG.sub("", text)
    text = html.unescape(text)
    text = html.escape(text, quote=False)  # also turns a "-->" inside the text into "--&gt;"
    text = re.sub(r"\x00(\d+)\x00", lambda m: keep[int(m.group(1))], text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    text = re.sub(r"\n{2,}", "\n", text).strip()
    return text


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        text = data
    else:
        for enc in ("utf-8-sig", "utf-16") if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ("utf-8-sig",):
            try:
                text = data.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        else:
            text = data.decode("cp1252", errors="replace")
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")


def parse_srt(data: bytes | str) -> list[Cue]:
    """SRT or WebVTT text → cues. Tolerates a BOM, CRLF, missing numbers, '.' for ',', stray lines."""
    text = _decode(data)
    cues: list[Cue] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        m = _TIMING.match(lines[i])
        if not m:
            i += 1
            continue
        start, end = _seconds(m.group("a")), _seconds(m.group("b"))
        i += 1
        body: list[str] = []
        while i < len(lines) and lines[i].strip() and not _TIMING.match(lines[i]):
            body.append(lines[i])
            i += 1
        # A lone number right before the next timing line is that cue's counter, not text.
        if body and i < len(lines) and _TIMING.match(lines[i]) and body[-1].strip().isdigit():
            body.pop()
        if start is None or end is None or end <= start:
            continue
        cleaned = clean_text(translate_overrides("\n".join(body), every_block=False))
        if cleaned:
            cues.append(Cue(start, end, cleaned))
    cues.sort(key=lambda c: (c.start, c.end))
    return cues


def _style_tags(block: re.Match[str]) -> str:
    """An ASS override block → the <b>, <i>, <u> it switches on or off; positions, colours, fonts vanish."""
    return "".join(
        f"<{'/' if value in ('', '0') else ''}{letter}>"  # no value: back to the style's default, off
        for letter, value in _STYLE_TOGGLE.findall(block.group(1))
    )


def translate_overrides(text: str, *, every_block: bool) -> str:
    """Turns ASS override blocks (`{\\an8}`, `{\\i1}`) into simple tags; `every_block` (ASS) also drops
    brace blocks without a backslash, which are comments there but may be plain text in an SRT."""
    text = _OVERRIDE_BLOCK.sub(_style_tags, text)
    return _ASS_BLOCK.sub("", text) if every_block else text


def _ass_dialogue_text(text: str) -> str:
    text = text.replace("<", "&lt;").replace(">", "&gt;")  # "<" in an ASS line is text, never a tag
    text = translate_overrides(text, every_block=True)
    return clean_text(text.replace("\\N", "\n").replace("\\n", "\n").replace("\\h", " "))


def parse_ass(data: bytes | str) -> list[Cue]:
    """ASS/SSA script → cues, using the [Events] Format line to find Start, End and Text."""
    text = _decode(data)
    fields = ["Layer", "Start", "End", "Style", "Name", "MarginL", "MarginR", "MarginV", "Effect", "Text"]
    in_events = False
    cues: list[Cue] = []
    for raw in text.split("\n"):
        line = raw.strip()
        if line.startswith("["):
            in_events = line.lower() == "[events]"
            continue
        if not in_events:
            continue
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key == "format":
            fields = [f.strip() for f in value.split(",")]
        elif key == "dialogue" and "Text" in fields:
            parts = value.lstrip().split(",", len(fields) - 1)
            if len(parts) != len(fields):
                continue
            row = dict(zip(fields, parts, strict=True))
            start, end = _seconds(row.get("Start", "")), _seconds(row.get("End", ""))
            if start is None or end is None or end <= start:
                continue
            cleaned = _ass_dialogue_text(row["Text"])
            if cleaned:
                cues.append(Cue(start, end, cleaned))
    cues.sort(key=lambda c: (c.start, c.end))
    return cues


def _vtt_time(seconds: float) -> str:
    ms = max(0, int(round(seconds * 1000)))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def to_vtt(cues: Iterable[Cue]) -> str:
    blocks = ["WEBVTT\n"]
    for n, c in enumerate(cues, 1):
        blocks.append(f"{n}\n{_vtt_time(c.start)} --> {_vtt_time(c.end)}\n{c.text}\n")
    return "\n".join(blocks)


def convert_to_vtt(data: bytes | str, filename: str = "") -> str:
    """Any subtitle file we accept → WebVTT text. The format comes from the name, else from the content."""
    name = filename.lower()
    text = _decode(data)
    if name.endswith((".ass", ".ssa")) or "[events]" in text[:20000].lower():
        return to_vtt(parse_ass(text))
    return to_vtt(parse_srt(text))


def extract_track(source: Any, stream_index: int) -> str:
    """A subtitle track inside the container → WebVTT (blocking: demuxes the whole file, run it in a thread)."""
    container = av.open(source, "r", metadata_errors="ignore")
    try:
        stream = container.streams[stream_index]
        codec = stream.codec_context.name
        tb = stream.time_base or Fraction(1, 1000)
        cues: list[Cue] = []
        for packet in container.demux(stream):
            if packet.pts is None or not packet.size:
                continue
            start = float(packet.pts * tb)
            end = start + float((packet.duration or 0) * tb) if packet.duration else start + 3.0
            raw = bytes(packet).decode("utf-8", errors="replace")
            if codec in ("ass", "ssa"):
                # Matroska ASS blocks: ReadOrder, Layer, Style, Name, MarginL, MarginR, MarginV, Effect, Text.
                parts = raw.split(",", 8)
                text = _ass_dialogue_text(parts[-1] if len(parts) == 9 else raw)
            elif codec == "mov_text":
                text = clean_text(bytes(packet)[2:].decode("utf-8", errors="replace"))
            else:
                text = clean_text(translate_overrides(raw, every_block=False))
            if text and end > start:
                cues.append(Cue(start, end, text))
        cues.sort(key=lambda c: (c.start, c.end))
        return to_vtt(cues)
    finally:
        container.close()
