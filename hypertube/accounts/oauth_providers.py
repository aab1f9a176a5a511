"""Talking to 42, GitHub and Google: their endpoints, the authorization URL (PKCE where supported),
exchanging the code for a token and reading who signed in."""

from __future__ import annotations

import base64
import hashlib
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp

from hypertube.accounts.oauth import Identity, OAuthError, picture_address
from hypertube.accounts.validation import email_problem
from hypertube.settings import Settings


@dataclass(frozen=True)
class Endpoints:
    authorize: str
    token: str
    scope: str
    pkce: bool


def endpoints(settings: Settings, provider: str) -> Endpoints:
    if provider == "ft":
        base = settings.oauth_ft_url.rstrip("/")
        return Endpoints(f"{base}/oauth/authorize", f"{base}/oauth/token", "public", pkce=False)
    if provider == "github":
        base = settings.oauth_github_url.rstrip("/")
        return Endpoints(
            f"{base}/login/oauth/authorize",
            f"{base}/login/oauth/access_token",
            "read:user user:email",
            pkce=True,
        )
    if provider == "google":
        return Endpoints(
            f"{settings.oauth_google_url.rstrip('/')}/o/oauth2/v2/auth",
            f"{settings.oauth_google_token_url.rstrip('/')}/token",
            "openid email profile",
            pkce=True,
        )
    raise OAuthError("unknown_provider", provider)


def redirect_uri(settings: Settings, provider: str) -> str:
    return f"{settings.base_url.rstrip('/')}/auth/{provider}/callback"


def new_verifier() -> str:
    return secrets.token_urlsafe(48)  # 64 characters, inside RFC 7636's 43..128


def code_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorization_url(settings: Settings, provider: str, state: str, verifier: str | None) -> str:
    config = settings.oauth_provider(provider)
    if config is None:
        raise OAuthError("not_configured", provider)
    ep = endpoints(settings, provider)
    params = {
        "client_id": config.client_id,
        "redirect_uri": redirect_uri(settings, provider),
        "response_type": "code",
        "scope": ep.scope,
        "state": state,
    }
    if ep.pkce and verifier:
        params["code_challenge"] = code_challenge(verifier)
        params["code_challenge_method"] = "S256"
    if provider == "google":
        params["prompt"] = "select_account"
    return f"{ep.authorize}?{urlencode(params)}"


async def _json(resp: aiohttp.ClientResponse) -> Any:
    try:
        return await resp.json(content_type=None)
    except (ValueError, aiohttp.ContentTypeError) as exc:
        raise OAuthError("provider", f"{resp.url} answered {resp.status} without JSON") from exc


async def exchange_code(
    http: aiohttp.ClientSession, settings: Settings, provider: str, code: str, verifier: str | None
) -> str:
    """Trades the authorization code for the provider's access token."""
    config = settings.oauth_provider(provider)
    if config is None:
        raise OAuthError("not_configured", provider)
    ep = endpoints(settings, provider)
    form = {
        "grant_type": "authorization_code",
        "client_id": config.client_id,
        "client_secret": config.client_secret,
        "code": code,
        "redirect_uri": redirect_uri(settings, provider),
    }
    if ep.pkce and verifier:
        form["code_verifier"] = verifier
    try:
        async with http.post(ep.token, data=form, headers={"Accept": "application/json"}) as resp:
            body = await _json(resp)
            status = resp.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise OAuthError("provider", f"token endpoint unreachable: {exc}") from exc
    # GitHub reports a bad code with status 200 and an "error" member, others with 400/401.
    if not isinstance(body, dict) or "error" in body or status >= 400:
        detail = body.get("error") if isinstance(body, dict) else status
        raise OAuthError("provider", f"token endpoint said {status} {detail}")
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise OAuthError("provider", "no access_token in the token response")
    return token


async def _get(http: aiohttp.ClientSession, url: str, token: str) -> Any:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    try:
        async with http.get(url, headers=headers) as resp:
            if resp.status >= 400:
                raise OAuthError("provider", f"{url} answered {resp.status}")
            return await _json(resp)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise OAuthError("provider", f"{url} unreachable: {exc}") from exc


def _text(value: Any, limit: int = 60) -> str:
    if not isinstance(value, str):
        return ""
    value = "".join(ch for ch in value if unicodedata.category(ch)[0] != "C").strip()
    return value[:limit].strip()


def _split_name(full: str) -> tuple[str, str]:
    first, _, last = _text(full, 200).rpartition(" ")
    if not first:
        return last[:60], ""
    return first[:60].strip(), last[:60].strip()


async def _ft_identity(http: aiohttp.ClientSession, settings: Settings, token: str) -> Identity:
    me = await _get(http, f"{settings.oauth_ft_url.rstrip('/')}/v2/me", token)
    if not isinstance(me, dict) or me.get("id") is None:
        raise OAuthError("provider", "42 profile without id")
    # 42 addresses are issued by the school, so they count as verified.
    return Identity(
        "ft",
        str(me["id"]),
        _email(me.get("email")),
        True,
        _text(me.get("login"), 100),
        _text(me.get("first_name")),
        _text(me.get("last_name")),
        picture_address((me.get("image") or {}).get("link") if isinstance(me.get("image"), dict) else None),
    )


async def _github_email(
    http: aiohttp.ClientSession, api: str, token: str, public: Any
) -> tuple[str | None, bool]:
    """The primary verified address when GitHub lists one, else the public profile's (unverified)."""
    try:
        emails = await _get(http, f"{api}/user/emails", token)
    except OAuthError:
        emails = []
    if isinstance(emails, list):
        good = [e for e in emails if isinstance(e, dict) and e.get("verified") and _email(e.get("email"))]
        good.sort(key=lambda e: not e.get("primary"))
        if good:
            return _email(good[0]["email"]), True
    return _email(public), False


async def _github_identity(http: aiohttp.ClientSession, settings: Settings, token: str) -> Identity:
    api = settings.oauth_github_api_url.rstrip("/")
    me = await _get(http, f"{api}/user", token)
    if not isinstance(me, dict) or me.get("id") is None:
        raise OAuthError("provider", "GitHub profile without id")
    email, verified = await _github_email(http, api, token, me.get("email"))
    first, last = _split_name(me.get("name") or "")
    return Identity(
        "github",
        str(me["id"]),
        email,
        verified,
        _text(me.get("login"), 100),
        first,
        last,
        picture_address(me.get("avatar_url")),
    )


async def _google_identity(http: aiohttp.ClientSession, settings: Settings, token: str) -> Identity:
    info = await _get(http, f"{settings.oauth_google_api_url.rstrip('/')}/v1/userinfo", token)
    if not isinstance(info, dict) or not info.get("sub"):
        raise OAuthError("provider", "Google profile without sub")
    email = _email(info.get("email"))
    verified = info.get("email_verified") in (True, "true")
    login = (email or "").partition("@")[0]
    return Identity(
        "google",
        str(info["sub"]),
        email,
        verified,
        _text(login, 100),
        _text(info.get("given_name")),
        _text(info.get("family_name")),
        picture_address(info.get("picture")),
    )


IDENTITY_READERS = {"ft": _ft_identity, "github": _github_identity, "google": _google_identity}


async def fetch_identity(
    http: aiohttp.ClientSession, settings: Settings, provider: str, token: str
) -> Identity:
    """Reads who signed in from the provider's user endpoint(s)."""
    reader = IDENTITY_READERS.get(provider)
    if reader is None:
        raise OAuthError("unknown_provider", provider)
    return await reader(http, settings, token)


def _email(value: Any) -> str | None:
    if isinstance(value, str) and email_problem(value.strip()) is None:
        return value.strip()
    return None
