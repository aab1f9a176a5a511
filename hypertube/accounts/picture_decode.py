"""Decodes a profile picture without letting its header decide how much memory it costs: dimensions are
read before decoding, JPEGs decode at reduced size, and a few decodes run at a time, in worker threads."""

from __future__ import annotations

import asyncio
import io
import weakref

from PIL import Image, ImageOps, UnidentifiedImageError

from hypertube.accounts.messages import N_

MAX_BYTES = 5 * 1024 * 1024
# Pixels actually decoded (after a JPEG's reduced-size decode): 6 MP is ~24 MB as RGBA.
MAX_DECODED_PIXELS = 6_000_000
# What a JPEG header may declare; it decodes at down to 1/8 of each side, so this costs at most ~1 MP.
MAX_DECLARED_JPEG_PIXELS = 64_000_000
MAX_SIDE = 16_384
CONCURRENT_DECODES = 2
SIZE = 256
ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}

TOO_BIG = N_("The picture must be 5 MB or smaller.")
NOT_AN_IMAGE = N_("This file is not a JPEG, PNG, WebP or GIF picture.")
TOO_MANY_PIXELS = N_("This picture has too many pixels.")
TOO_LONG_A_SIDE = N_("This picture is too tall or too wide (at most 16,384 pixels on a side).")
EMPTY = N_("The picture file is empty.")

# One gate per event loop (a semaphore belongs to the loop it first waits on).
_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


class PictureError(ValueError):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _check_header(img: Image.Image) -> None:
    """Refuses what would cost too much to decode, from the header alone (`Image.open` is lazy)."""
    if img.format not in ALLOWED_FORMATS:
        raise PictureError(NOT_AN_IMAGE)
    width, height = img.size
    if not (1 <= width and 1 <= height):
        raise PictureError(NOT_AN_IMAGE)
    if width > MAX_SIDE or height > MAX_SIDE:
        raise PictureError(TOO_LONG_A_SIDE)
    limit = MAX_DECLARED_JPEG_PIXELS if img.format == "JPEG" else MAX_DECODED_PIXELS
    if width * height > limit:
        raise PictureError(TOO_MANY_PIXELS)


def _decode(img: Image.Image) -> Image.Image:
    """The first frame, decoded at the smallest size that still fills the square (JPEG's draft mode)."""
    if img.format == "JPEG":
        img.draft("RGB", (SIZE, SIZE))
    if img.size[0] * img.size[1] > MAX_DECODED_PIXELS:
        raise PictureError(TOO_MANY_PIXELS)
    img.seek(0)
    img.load()
    frame = ImageOps.exif_transpose(img) or img
    return frame.convert("RGBA" if frame.mode in ("RGBA", "LA", "P", "PA") else "RGB")


def convert_blocking(data: bytes) -> bytes:
    """`data` as a SIZE×SIZE WebP with no metadata; raises PictureError. Runs in a worker thread."""
    if not data:
        raise PictureError(EMPTY)
    if len(data) > MAX_BYTES:
        raise PictureError(TOO_BIG)
    try:
        with Image.open(io.BytesIO(data)) as img:
            _check_header(img)
            frame = _decode(img)
        square = ImageOps.fit(frame, (SIZE, SIZE), method=Image.Resampling.LANCZOS)
        out = io.BytesIO()
        # A fresh image carries no EXIF, ICC or XMP data from the upload.
        square.save(out, format="WEBP", quality=85, method=4)
        return out.getvalue()
    except PictureError:
        raise
    except Image.DecompressionBombError as exc:
        raise PictureError(TOO_MANY_PIXELS) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise PictureError(NOT_AN_IMAGE) from exc


async def convert_picture(data: bytes) -> bytes:
    """`convert_blocking` in a worker thread, at most CONCURRENT_DECODES at once per process."""
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = asyncio.Semaphore(CONCURRENT_DECODES)
    async with gate:
        return await asyncio.to_thread(convert_blocking, data)
