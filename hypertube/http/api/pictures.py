"""Downloads a profile picture from a URL for `PATCH /api/v1/users/{id}`, refusing private addresses.

The bytes then go through the same conversion as an uploaded picture (hypertube.accounts.profile), so
`users.picture` stays a file name under the avatar folder."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from hypertube.accounts import avatars
from hypertube.keys import HTTP, PICTURE_FETCH


class PictureUnavailable(avatars.PictureError):
    """The URL cannot be fetched; the message is meant for the user."""


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    return ip.is_global and not ip.is_multicast


async def download_picture(app: web.Application, url: str) -> bytes:
    """The bytes at `url` (5 MB at most); raises PictureUnavailable, or avatars.PictureError when too big."""
    policy = app[PICTURE_FETCH]
    parts = urlsplit(url)
    if parts.scheme not in policy.schemes or not parts.hostname:
        raise PictureUnavailable(f"The picture must be a {' or '.join(policy.schemes)} URL.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        lookup = asyncio.get_running_loop().getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
        infos = await asyncio.wait_for(lookup, policy.timeout)
    except (OSError, ValueError, UnicodeError, TimeoutError):
        raise PictureUnavailable("This picture's address cannot be reached.") from None
    if not policy.allow_private and not all(_public(str(info[4][0])) for info in infos):
        raise PictureUnavailable("This picture's address is not on the public internet.")
    try:
        async with app[HTTP].get(
            url,
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=policy.timeout),
            headers={"Accept": "image/*"},
        ) as resp:
            if resp.status != 200:
                raise PictureUnavailable(f"The picture's server answered {resp.status}.")
            chunks: list[bytes] = []
            size = 0
            async for chunk in resp.content.iter_chunked(65536):
                size += len(chunk)
                if size > avatars.MAX_BYTES:
                    raise avatars.PictureError(avatars.TOO_BIG)
                chunks.append(chunk)
            data = b"".join(chunks)
    except (aiohttp.ClientError, TimeoutError, ValueError):
        raise PictureUnavailable("The picture could not be downloaded.") from None
    return data
