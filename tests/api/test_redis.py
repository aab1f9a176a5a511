"""Two app instances sharing Redis: a revoked client is refused by both at once, limits are shared."""

from __future__ import annotations

from hypertube.accounts.api_clients import revoke_client
from hypertube.http.api.policy import Limits
from hypertube.keys import API_LIMITS, CACHE, POOL


async def test_revocation_and_rate_limits_hold_across_instances(
    aiohttp_client, make_app, make_user, api_token, redis_settings
):
    apps = [make_app(**redis_settings), make_app(**redis_settings)]
    for app in apps:
        app[API_LIMITS] = Limits(requests=4, window=60)
    first, second = [await aiohttp_client(app) for app in apps]
    user = await make_user()
    bearer = await api_token(first, user)
    cid = await first.app[POOL].fetchval("SELECT client_id FROM api_clients WHERE user_id = $1", user.id)
    # Both instances have the client's state cached once they have seen the token.
    assert (await first.get("/api/v1/movies", headers=bearer)).status == 200
    assert (await second.get("/api/v1/movies", headers=bearer)).status == 200
    # The limit counts requests on both instances together.
    assert (await first.get("/api/v1/movies", headers=bearer)).status == 200
    assert (await second.get("/api/v1/movies", headers=bearer)).status == 200
    limited = await first.get("/api/v1/movies", headers=bearer)
    assert limited.status == 429 and "Retry-After" in limited.headers

    other = await api_token(first, user)
    assert (await second.get("/api/v1/movies", headers=other)).status == 200
    other_cid = await first.app[POOL].fetchval(
        "SELECT client_id FROM api_clients WHERE user_id = $1 AND client_id <> $2", user.id, cid
    )
    assert await revoke_client(first.app[POOL], first.app[CACHE], user.id, other_cid)
    refused = await second.get("/api/v1/movies", headers=other)
    assert refused.status == 401 and 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
