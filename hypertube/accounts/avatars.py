"""Profile pictures: the format sniffed from the bytes, re-encoded to a small square WebP without metadata."""

from __future__ import annotations

import asyncio
import io
import secrets
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from hypertube.accounts.messages import N_
from hypertube.settings import Settings

MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000  # refuse decompression bombs before decoding
SIZE = 256
ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}
NAME_RE = r"[0-9a-f]{32}\.webp"

TOO_BIG = N_("The picture must be 5 MB or smaller.")
NOT_AN_IMAGE = N_("This file is not a JPEG, PNG, WebP or GIF picture.")
TOO_MANY_PIXELS = N_("This picture has too many pixels.")
EMPTY = N_("The picture file is empty.")


class PictureError(ValueError):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _convert(data: bytes) -> bytes:
    if not data:
        raise PictureError(EMPTY)
    if len(data) > MAX_BYTES:
        raise PictureError(TOO_BIG)
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format not in ALLOWED_FORMATS:
                raise PictureError(NOT_AN_IMAGE)
            width, height = img.size
            if width * height > MAX_PIXELS or width < 1 or height < 1:
                raise PictureError(TOO_MANY_PIXELS)
            img.seek(0)  # the first frame of an animation
            img.load()
            frame = ImageOps.exif_transpose(img) or img
            frame = frame.convert("RGBA" if frame.mode in ("RGBA", "LA", "P", "PA") else "RGB")
            square = ImageOps.fit(frame, (SIZE, SIZE), method=Image.Resampling.LANCZOS)
            out = io.BytesIO()
            # A fresh image carries no EXIF, ICC or XMP data from the upload.
            square.save(out, format="WEBP", quality=85, method=4)
            return out.getvalue()
    except PictureError:
        raise
    except Image.DecompressionBombError as exc:
        raise PictureError(TOO_MANY_PIXELS) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise PictureError(NOT_AN_IMAGE) from exc


async def convert_picture(data: bytes) -> bytes:
    return await asyncio.to_thread(_convert, data)


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
