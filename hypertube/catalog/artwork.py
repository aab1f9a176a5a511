"""Covers and backdrops from our own origin: fetched once from the source, checked and resized into a few
WebP widths in a worker thread, kept under `$DATA_DIR/images/`, addressed by signed, immutable URLs."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import logging
import os
import shutil
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from PIL import Image, ImageOps, UnidentifiedImageError

from hypertube.cache import Cache
from hypertube.netfetch import FetchPolicy, FetchRefused, fetch

log = logging.getLogger(__name__)
# Widths made of each kind, and the shape every width is cut to (so that pages reserve the space).
WIDTHS = {"cover": (185, 342, 500), "backdrop": (780, 1280)}
SHAPES = {"cover": (2, 3), "backdrop": (16, 9)}
SIZES = {"cover": "(max-width: 600px) 45vw, 230px", "backdrop": "100vw"}
FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF"})
MAX_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 40_000_000  # larger pictures are refused before they are decoded
FETCH_TIMEOUT = 10.0
REFUSED_TTL = 3600  # a picture that could not be had is not asked for again for this long
QUALITY = 80
# Pruning (by the janitor): pictures not served for `max_age` days go, then the least recently served
# ones while the folder weighs more than MAX_STORED_BYTES (a cover in its 3 widths is ~50-100 KB). A
# pruned picture is made again when next asked for: its address does not change.
MAX_STORED_BYTES = 1024**3
SERVED_MARK_EVERY = 86400.0  # a picture's folder is dated when served, at most once a day
PREFETCH_AT_ONCE = 2  # pictures made ahead at the same time (each is one fetch and a resize)


class ArtworkRefused(Exception):
    """The picture could not be had or is not a picture we accept; the page shows its placeholder."""


@dataclass(frozen=True)
class Picture:
    """What an `<img>` needs: a fallback `src`, the `srcset` and `sizes`, and the box it fills."""

    src: str
    srcset: str
    sizes: str
    width: int
    height: int


def height_for(kind: str, width: int) -> int:
    across, down = SHAPES[kind]
    return width * down // across


def resize(data: bytes, kind: str, folder: Path) -> None:
    """Checks that `data` is a picture and writes it in every width of `kind` as WebP. Blocking."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in FORMATS:
                raise ArtworkRefused(f"not a picture we accept ({image.format})")
            if image.width * image.height > MAX_PIXELS:
                raise ArtworkRefused("too many pixels")
            largest = max(WIDTHS[kind])
            image.draft("RGB", (largest, height_for(kind, largest)))  # JPEG: decode at a reduced scale
            upright = ImageOps.exif_transpose(image).convert("RGB")
            outputs = {
                w: ImageOps.fit(upright, (w, height_for(kind, w)), Image.Resampling.LANCZOS)
                for w in WIDTHS[kind]
            }
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ArtworkRefused(f"not a picture ({type(exc).__name__})") from None
    folder.mkdir(parents=True, exist_ok=True)
    for width, picture in outputs.items():
        partial = folder / f".{width}.webp.part"
        picture.save(partial, "WEBP", quality=QUALITY, method=4)
        os.replace(partial, folder / f"{width}.webp")


class Artwork:
    def __init__(
        self,
        root: Path,
        secret: str,
        cache: Cache,
        allowed_hosts: tuple[str, ...] = (),
        read_local: Callable[[str], Awaitable[bytes | None]] | None = None,
    ):
        self.root = root
        self.secret = secret.encode()
        self.cache = cache
        self.policy = FetchPolicy(
            max_bytes=MAX_BYTES, timeout=FETCH_TIMEOUT, allowed_hosts=frozenset(allowed_hosts)
        )
        # Pictures whose address is not a URL (the demo films' frames) come from here.
        self.read_local = read_local
        self._inflight: dict[str, asyncio.Future[None]] = {}
        self._prefetching: set[asyncio.Task[None]] = set()
        self._prefetch_slots = asyncio.Semaphore(PREFETCH_AT_ONCE)

    async def close(self) -> None:
        """Stops the pictures still being made (their requests are ending with the server)."""
        tasks = [*self._inflight.values(), *self._prefetching]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def sign(self, kind: str, url: str) -> str:
        return hmac.new(self.secret, f"{kind}\n{url}".encode(), hashlib.sha256).hexdigest()[:32]

    def picture(self, kind: str, url: str | None) -> Picture | None:
        """The picture's addresses on our origin, or None when there is no picture to show."""
        if not url or kind not in WIDTHS:
            return None
        signature = self.sign(kind, url)
        source = quote(url, safe="")
        widths = WIDTHS[kind]
        srcset = ", ".join(f"/images/{kind}/{signature}/{w}.webp?src={source} {w}w" for w in widths)
        middle = widths[len(widths) // 2]
        return Picture(
            src=f"/images/{kind}/{signature}/{middle}.webp?src={source}",
            srcset=srcset,
            sizes=SIZES[kind],
            width=middle,
            height=height_for(kind, middle),
        )

    async def path(self, kind: str, signature: str, width: int, url: str) -> Path:
        """The WebP file of this picture in this width, made first when needed (once, however many ask).
        Raises ArtworkRefused for an unknown address or a picture that could not be had."""
        if kind not in WIDTHS or width not in WIDTHS[kind] or len(signature) != 32:
            raise ArtworkRefused("unknown picture")
        if not hmac.compare_digest(signature, self.sign(kind, url)):
            raise ArtworkRefused("signature does not match")
        target = self._folder(signature) / f"{width}.webp"
        if await asyncio.to_thread(_served, target):
            return target
        await asyncio.shield(await self._making(kind, url, signature))
        return target

    def _folder(self, signature: str) -> Path:
        return self.root / signature[:2] / signature

    async def _making(self, kind: str, url: str, signature: str) -> asyncio.Future[None]:
        """The task making this picture: the one under way, else a new one."""
        if await self.cache.get(f"artwork:refused:{signature}") is not None:
            raise ArtworkRefused("refused a moment ago")
        task = self._inflight.get(signature)
        if task is None:
            task = asyncio.ensure_future(self._make(kind, url, signature, self._folder(signature)))
            self._inflight[signature] = task
            task.add_done_callback(lambda _: self._inflight.pop(signature, None))
        return task

    def prefetch(self, kind: str, urls: Iterable[str | None]) -> None:
        """Makes these pictures ahead, in the background (`PREFETCH_AT_ONCE` at a time), so that the
        browsers that ask for them next find them made (the first library page's covers)."""
        for url in dict.fromkeys(u for u in urls if u):
            task = asyncio.ensure_future(self._prefetch_one(kind, url))
            self._prefetching.add(task)
            task.add_done_callback(self._prefetching.discard)

    async def _prefetch_one(self, kind: str, url: str) -> None:
        signature = self.sign(kind, url)
        largest = self._folder(signature) / f"{max(WIDTHS[kind])}.webp"
        async with self._prefetch_slots:
            if signature in self._inflight or await asyncio.to_thread(largest.is_file):
                return
            try:
                await asyncio.shield(await self._making(kind, url, signature))
            except ArtworkRefused:
                pass  # logged and remembered by `_make`; the page keeps its placeholder

    async def prune(self, max_age_days: float, max_bytes: int = MAX_STORED_BYTES) -> list[str]:
        """Deletes the pictures not served for `max_age_days`, then the least recently served ones while
        they weigh more than `max_bytes`; returns their signatures (in a worker thread)."""
        busy = frozenset(self._inflight)
        return await asyncio.to_thread(prune, self.root, max_age_days * 86400.0, max_bytes, busy)

    async def _make(self, kind: str, url: str, signature: str, folder: Path) -> None:
        try:
            data = await self._source(url)
            await asyncio.to_thread(resize, data, kind, folder)
        except ArtworkRefused as exc:
            log.info("picture %s refused: %s", url[:200], exc)
            await self.cache.set(f"artwork:refused:{signature}", 1, REFUSED_TTL)
            raise

    async def _source(self, url: str) -> bytes:
        if not url.startswith(("http://", "https://")):
            data = await self.read_local(url) if self.read_local is not None else None
            if data is None:
                raise ArtworkRefused("no such local picture")
            return data
        try:
            fetched = await fetch(url, self.policy, headers={"Accept": "image/*"})
        except FetchRefused as exc:
            raise ArtworkRefused(f"fetch refused ({exc.reason})") from None
        if fetched.status != 200:
            raise ArtworkRefused(f"answered {fetched.status}")
        return fetched.body


def _served(target: Path) -> bool:
    """Whether the picture file exists; if so its folder is dated now (at most once a day), which is
    how pruning knows the pictures nobody asks for any more. Blocking."""
    try:
        folder_time = target.parent.stat().st_mtime
        if not target.is_file():
            return False
        now = time.time()
        if now - folder_time > SERVED_MARK_EVERY:
            os.utime(target.parent, (now, now))
    except OSError:
        return False
    return True


def prune(root: Path, max_age_s: float, max_bytes: int, busy: frozenset[str] = frozenset()) -> list[str]:
    """Deletes picture folders (every width of one picture) last served more than `max_age_s` seconds
    ago, then the least recently served while all weigh more than `max_bytes`; never those in `busy`
    (being made). Returns the signatures deleted. Blocking."""
    folders = []
    for folder in root.glob("??/*"):
        try:
            when = folder.stat().st_mtime
            size = sum(f.stat().st_size for f in folder.iterdir())
        except OSError:
            continue
        if folder.name not in busy:
            folders.append((when, folder, size))
    folders.sort(key=lambda entry: entry[0])
    total = sum(size for _, _, size in folders)
    oldest_kept = time.time() - max_age_s
    removed = []
    for when, folder, size in folders:
        if when >= oldest_kept and total <= max_bytes:
            break
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder.name)
        total -= size
    return removed
