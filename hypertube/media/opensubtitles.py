"""OpenSubtitles REST API v1: find a film's subtitles by IMDb id and download one per language."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp

log = logging.getLogger(__name__)
MAX_BYTES = 5 * 1024 * 1024


class OpenSubtitles:
    def __init__(self, session: aiohttp.ClientSession, base_url: str, api_key: str):
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.headers = {"Api-Key": api_key, "Accept": "application/json", "User-Agent": "Hypertube v0.1"}

    async def search(self, imdb_id: str, languages: list[str]) -> dict[str, int]:
        """{language: file_id} with the most downloaded file of each language asked for."""
        number = imdb_id.removeprefix("tt").lstrip("0") or "0"
        params = {"imdb_id": number, "languages": ",".join(sorted(set(languages)))}
        async with self.session.get(
            f"{self.base_url}/subtitles", params=params, headers=self.headers
        ) as resp:
            if resp.status != 200:
                log.info("OpenSubtitles search answered %s", resp.status)
                return {}
            body: Any = await resp.json(content_type=None)
        best: dict[str, tuple[int, int]] = {}
        for item in (body or {}).get("data") or []:
            attrs = item.get("attributes") or {}
            lang = str(attrs.get("language") or "").lower()[:2]
            files = attrs.get("files") or []
            if lang not in languages or not files or not isinstance(files[0].get("file_id"), int):
                continue
            count = int(attrs.get("download_count") or 0)
            if lang not in best or count > best[lang][0]:
                best[lang] = (count, files[0]["file_id"])
        return {lang: fid for lang, (_, fid) in best.items()}

    async def download(self, file_id: int) -> bytes | None:
        async with self.session.post(
            f"{self.base_url}/download", json={"file_id": file_id}, headers=self.headers
        ) as resp:
            if resp.status != 200:
                log.info("OpenSubtitles download answered %s", resp.status)
                return None
            body: Any = await resp.json(content_type=None)
        link = (body or {}).get("link")
        if not isinstance(link, str) or not link.startswith(("http://", "https://")):
            return None
        async with self.session.get(link) as resp:
            if resp.status != 200:
                return None
            data = await resp.content.read(MAX_BYTES + 1)
        return data if len(data) <= MAX_BYTES else None
