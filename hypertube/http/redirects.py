"""Where a `next` parameter may send the browser after a form: paths on this site only."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

MAX_NEXT = 2000
# What a browser's URL parser ignores: C0 controls and spaces around the address, tab/CR/LF anywhere.
_EDGES = "".join(map(chr, range(0x21)))
_TAB_NEWLINE = re.compile("[\t\r\n]")
_CONTROL = re.compile("[\x00-\x1f\x7f]")


def safe_next(target: str | None) -> str | None:
    """`target` as the browser will read it when that is a path on this site, else None (no open redirect).

    The address is first normalised the way browsers parse it (`\\` counts as `/`), so that `/\\evil.com`
    or `/<tab>/evil.com`, which browsers follow to another host, are refused like `//evil.com`."""
    if not target:
        return None
    path = _TAB_NEWLINE.sub("", target.strip(_EDGES)).replace("\\", "/")
    if len(path) > MAX_NEXT or not path.startswith("/") or path.startswith("//") or _CONTROL.search(path):
        return None
    parts = urlsplit(path)
    if parts.scheme or parts.netloc:
        return None
    return path
