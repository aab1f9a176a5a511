"""The parts of a play plan that depend on the user: which audio track plays, the audio and subtitle
menus in the order the player shows them, and the type of a file played as it is."""

from __future__ import annotations

from typing import Any

from hypertube.i18n import gettext as _
from hypertube.media.convert import MediaInfo
from hypertube.media.tracks import AudioTrack, choose_audio

LANGUAGE_LABELS = {
    "en": "English", "fr": "Français", "es": "Español", "de": "Deutsch", "it": "Italiano",
    "pt": "Português", "ru": "Русский", "ja": "日本語", "zh": "中文", "nl": "Nederlands",
}  # fmt: skip


def label(lang: str) -> str:
    return LANGUAGE_LABELS.get(lang, lang)


def menu_order(languages: list[str], user_language: str | None) -> list[str]:
    """The user's language first, then English, then the rest alphabetically."""
    first = [user_language] if user_language else []
    head = [lang for lang in (*first, "en") if lang in languages]
    return list(dict.fromkeys(head)) + sorted(lang for lang in languages if lang not in head)


def playlist_url(base: str, info: MediaInfo, track: AudioTrack | None, name: str = "index.m3u8") -> str:
    """The playlist with this audio track: the plain URL for the film's default track."""
    url = f"{base}/hls/{name}"
    return url if track is None or track.index == info.audio_index else f"{url}?audio={track.index}"


def master_url(base: str, info: MediaInfo, track: AudioTrack | None) -> str:
    """The master playlist of the renditions, each with this audio track."""
    return playlist_url(base, info, track, "master.m3u8")


UNKNOWN_LANGUAGES = frozenset({"", "und", "unk", "mis", "zxx"})  # ISO 639-2: none given, or not a language


def _track_label(track: AudioTrack, number: int) -> str:
    """The menu's name of the `number`th audio track (from 1): its title, else its language, else
    "Track 2" in the user's language."""
    known = track.language and track.language.lower() not in UNKNOWN_LANGUAGES
    name = track.title or (label(track.language) if known else _("Track %(number)s", number=number))
    return f"{name} ({track.codec}, {track.channels} ch)" if track.channels != 2 else name


def audio_menu(info: MediaInfo, base: str, user_language: str | None) -> tuple[AudioTrack | None, list[dict]]:
    """The track to play for this user, and every track with the playlists that carry it (the source's
    own and the renditions' master playlist)."""
    chosen = choose_audio(info.audio_tracks, user_language)
    entries = [
        {
            "index": t.index,
            "lang": t.language,
            "label": _track_label(t, number),
            "codec": t.codec,
            "default": t.default,
            "selected": chosen is not None and t.index == chosen.index,
            "url": playlist_url(base, info, t) if info.kind == "hls" else None,
            "master": master_url(base, info, t) if info.kind == "hls" else None,
        }
        for number, t in enumerate(info.audio_tracks, 1)
    ]
    return chosen, entries


def mime(info: MediaInfo) -> str:
    if info.kind != "direct":
        return "application/vnd.apple.mpegurl"
    return "video/webm" if info.container.startswith("matroska") else "video/mp4"


def image_subtitles(info: MediaInfo, files: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Image subtitle tracks and files: shown as not convertible to text, never as a text track."""
    inside = [
        {"lang": t.language, "label": label(t.language), "source": t.codec} for t in info.image_subtitles
    ]
    shipped = [{"lang": lang, "label": label(lang), "source": name} for lang, name in files]
    return inside + shipped
