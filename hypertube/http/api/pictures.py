"""Downloads a profile picture from a URL for `PATCH /api/v1/users/{id}` through the fetch helper: public
addresses only, every redirect checked, 5 MB and 10 s at most, one answer for every refusal.

The bytes then go through the same conversion as an uploaded picture (hypertube.accounts.profile), so
`users.picture` stays a file name under the avatar folder."""

from __future__ import annotations

from aiohttp import web

from hypertube.accounts.messages import N_
from hypertube.accounts.picture_decode import MAX_BYTES, PictureError
from hypertube.keys import PICTURE_FETCH
from hypertube.netfetch import FetchPolicy, FetchRefused, fetch
from hypertube.settings import Settings

TIMEOUT = 10.0
# The same words whatever went wrong, so the answer tells nothing about what is behind the address.
UNAVAILABLE = N_("This picture cannot be fetched.")


class PictureUnavailable(PictureError):
    """The URL cannot be fetched; the message is meant for the user."""


def picture_policy(settings: Settings) -> FetchPolicy:
    return FetchPolicy.for_settings(settings, MAX_BYTES, timeout=TIMEOUT, schemes=("https",))


async def download_picture(app: web.Application, url: str) -> bytes:
    """The bytes at `url`; raises PictureUnavailable."""
    try:
        got = await fetch(url, app[PICTURE_FETCH], headers={"Accept": "image/*"})
    except FetchRefused:
        raise PictureUnavailable(UNAVAILABLE) from None
    if got.status != 200:
        raise PictureUnavailable(UNAVAILABLE)
    return got.body
