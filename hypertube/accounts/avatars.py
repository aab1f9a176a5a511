"""Stored profile pictures (decoded and re-encoded by hypertube.accounts.picture_decode): files under random
names in the avatar folder."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

from hypertube.settings import Settings

NAME_RE = r"[0-9a-f]{32}\.webp"


def _store(folder: Path, data: bytes) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(16)}.webp"
    tmp = folder / (name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(folder / name)
    return name


async def store_picture(folder: Path, data: bytes) -> str:
    """Writes converted picture bytes under a random name; returns the name."""
    return await asyncio.to_thread(_store, folder, data)


async def delete_picture(folder: Path, name: str | None) -> None:
    if name and "/" not in name and name.endswith(".webp"):
        await asyncio.to_thread((folder / name).unlink, True)


def avatar_folder(settings: Settings) -> Path:
    """Where stored profile pictures live."""
    return settings.data_dir / "avatars"
