"""Fetches a URL that a user or an upstream chose: public addresses only, vetted at every redirect and
connected to exactly the address that was vetted, with caps on size and time."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from hypertube.settings import Settings

log = logging.getLogger(__name__)

REDIRECTS = frozenset({301, 302, 303, 307, 308})
# IPv6 ranges that carry an IPv4 address in their last 32 bits (NAT64): the embedded one is what is reached.
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class FetchRefused(Exception):
    """The URL was not fetched. Every reason (a private address, a refused port, a timeout, a body too
    large, too many redirects) gives this one message, so answers reveal nothing about the network."""

    MESSAGE = "This address cannot be fetched."

    def __init__(self, reason: str = ""):
        super().__init__(self.MESSAGE)
        self.reason = reason  # for the log only


@dataclass(frozen=True)
class FetchPolicy:
    max_bytes: int
    timeout: float = 10.0
    max_redirects: int = 5
    schemes: tuple[str, ...] = ("http", "https")
    # Hosts that may resolve to non-public addresses: empty in production; test settings name the
    # loopback host their fake servers listen on.
    allowed_hosts: frozenset[str] = field(default_factory=frozenset)

    def allows(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.allowed_hosts

    @classmethod
    def for_settings(cls, settings: Settings, max_bytes: int, **kw: Any) -> FetchPolicy:
        """A policy whose allow-list is HYPERTUBE_FETCH_ALLOWED_HOSTS."""
        hosts = frozenset(h.lower().rstrip(".") for h in settings.fetch_allowed_hosts)
        return cls(max_bytes=max_bytes, allowed_hosts=hosts, **kw)


@dataclass(frozen=True)
class Fetched:
    url: str
    status: int
    content_type: str
    body: bytes


def is_public(address: str) -> bool:
    """Whether `address` is reachable on the public internet (IPv4 embedded in IPv6 judged as IPv4)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            ip = embedded
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified or ip.is_loopback)


class PinnedResolver(AbstractResolver):
    """Answers every lookup with the one address that was vetted, so the connection cannot be sent
    elsewhere by a second DNS answer (rebinding)."""

    def __init__(self, address: str):
        self.address = address
        self.family = socket.AF_INET6 if ":" in address else socket.AF_INET

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[ResolveResult]:
        return [
            ResolveResult(
                hostname=host,
                host=self.address,
                port=port,
                family=self.family,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        return None


async def vet(url: str, policy: FetchPolicy) -> str:
    """Resolves `url`'s host once; returns the address to connect to, or raises FetchRefused."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise FetchRefused("malformed URL") from None
    if parts.scheme not in policy.schemes or not host or parts.username or parts.password:
        raise FetchRefused(f"scheme or host of {url[:200]}")
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError):
        raise FetchRefused(f"no address for {host}") from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise FetchRefused(f"no address for {host}")
    if not policy.allows(host) and not all(is_public(a) for a in addresses):
        raise FetchRefused(f"{host} resolves to a non-public address")
    return addresses[0]


async def _read_capped(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    if resp.content_length is not None and resp.content_length > limit:
        raise FetchRefused("body larger than the cap")
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_chunked(65536):
        size += len(chunk)
        if size > limit:
            raise FetchRefused("body larger than the cap")
        chunks.append(chunk)
    return b"".join(chunks)


async def _hop(url: str, policy: FetchPolicy, headers: dict[str, str]) -> Fetched | str:
    """One request to a vetted address: the answer, or the next URL when it redirects."""
    address = await vet(url, policy)
    connector = aiohttp.TCPConnector(resolver=PinnedResolver(address), use_dns_cache=False, force_close=True)
    async with (
        aiohttp.ClientSession(connector=connector, trust_env=False) as session,
        session.get(url, allow_redirects=False, headers=headers) as resp,
    ):
        if resp.status in REDIRECTS and "Location" in resp.headers:
            return urljoin(url, resp.headers["Location"])
        body = await _read_capped(resp, policy.max_bytes)
        return Fetched(url, resp.status, resp.content_type, body)


async def fetch(url: str, policy: FetchPolicy, *, headers: dict[str, Any] | None = None) -> Fetched:
    """GETs `url`, following up to `policy.max_redirects` redirects; every refusal is FetchRefused."""
    sent = {str(k): str(v) for k, v in (headers or {}).items()}
    try:
        async with asyncio.timeout(policy.timeout):
            for _ in range(policy.max_redirects + 1):
                answer = await _hop(url, policy, sent)
                if isinstance(answer, Fetched):
                    return answer
                url = answer
    except FetchRefused as exc:
        log.info("fetch refused: %s", exc.reason)
        raise
    except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
        log.info("fetch of %s failed: %s", url[:200], type(exc).__name__)
        raise FetchRefused(type(exc).__name__) from None
    raise FetchRefused("too many redirects")
