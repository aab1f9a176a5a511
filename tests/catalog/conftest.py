"""Fixtures shared by the catalog tests."""

from __future__ import annotations

import pytest

from tests.conftest import login_as


@pytest.fixture
async def signed_in(aiohttp_client, make_app, make_user, upstreams):
    """A signed-in client on an app whose YTS and Archive are the fakes."""

    async def build(**overrides):
        client = await aiohttp_client(make_app(**{**upstreams.settings(), **overrides}))
        user = await make_user()
        login_as(client, user)
        client.user = user
        return client

    return build
