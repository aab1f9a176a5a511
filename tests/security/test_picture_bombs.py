"""Finding 3: a small file that declares a huge picture is refused from its header, before any decoding;
big phone photos still work (JPEGs decode at reduced size); picture changes are rate-limited."""

from __future__ import annotations

import asyncio
import io
import struct
import time
import zlib

import pytest
from PIL import Image

from hypertube.accounts.picture_decode import PictureError, convert_blocking
from tests.accounts.test_profile import post_profile
from tests.security.helpers import sign_up

SIDE = 6300


def png_bomb(side: int = SIDE) -> bytes:
    """A valid RGB PNG of side×side black pixels: ~115 KB on disk, ~120 MB once decoded (~400 MB as the
    conversions go). Compressed row by row so the test itself never holds the pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    packer = zlib.compressobj(9)
    row = b"\x00" + b"\x00" * (side * 3)  # filter byte, then the pixels
    stream = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", stream) + chunk(b"IEND", b"")


def encoded(fmt: str, size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(out, format=fmt)
    return out.getvalue()


def profile(data: dict) -> dict:
    return {k: data[k] for k in ("email", "username", "first_name", "last_name")} | {"language": "en"}


def test_the_bomb_is_small_and_valid():
    bomb = png_bomb()
    assert 100_000 < len(bomb) < 130_000
    with Image.open(io.BytesIO(bomb)) as img:
        assert img.size == (SIDE, SIDE) and img.format == "PNG"


def test_decoder_refuses_from_the_header_without_decoding():
    bomb = png_bomb()
    start = time.perf_counter()
    with pytest.raises(PictureError) as info:
        convert_blocking(bomb)
    assert info.value.message == "This picture has too many pixels."
    assert time.perf_counter() - start < 0.5  # decoding it takes seconds


@pytest.mark.parametrize(
    ("fmt", "size", "accepted"),
    [
        ("JPEG", (4000, 3000), True),  # a phone photo: decoded at 1/8 size
        ("PNG", (2000, 2000), True),
        ("PNG", (3000, 3000), False),  # 9 MP decoded in full
        ("WEBP", (3000, 2500), False),
        ("PNG", (20_000, 1), False),  # a side past the cap
    ],
)
def test_pixel_caps(fmt, size, accepted):
    data = encoded(fmt, size)
    if accepted:
        out = Image.open(io.BytesIO(convert_blocking(data)))
        assert out.size == (256, 256)
    else:
        with pytest.raises(PictureError):
            convert_blocking(data)


async def test_three_bombs_at_once_through_the_profile_form(site, db):
    member = await sign_up(site)
    bomb = png_bomb()
    start = time.perf_counter()
    answers = await asyncio.gather(
        *(post_profile(site, profile(member), ("bomb.png", bomb, "image/png")) for _ in range(3))
    )
    for resp in answers:
        assert resp.status == 400 and "too many pixels" in await resp.text()
    assert time.perf_counter() - start < 5
    assert await db.fetchval("SELECT picture FROM users") is None
    # The server is still quick to answer.
    start = time.perf_counter()
    assert (await site.get("/healthz")).status == 200
    assert time.perf_counter() - start < 1


async def test_picture_changes_are_rate_limited(site, db):
    member = await sign_up(site)
    small = encoded("PNG", (64, 64))
    statuses = []
    for _ in range(15):
        resp = await post_profile(site, profile(member), ("p.png", small, "image/png"))
        statuses.append(resp.status)
    assert statuses[0] == 303 and statuses[-1] == 429, statuses
    # Saving the profile without a new picture is not limited.
    assert (await post_profile(site, profile(member))).status == 303
