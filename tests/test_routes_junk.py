"""Every route of the app, with junk in each path parameter, signed in and out: a client error, never a 500."""

from __future__ import annotations

import re

import pytest
from yarl import URL

from tests.conftest import csrf_for, login_as

# As they appear on the wire (already percent-encoded where a browser would encode them).
JUNK = ("%C2%B2", "-1", "1e3", "1" * 25, "%00", "..%2F", "0", str(2**63))
CLIENT_ERRORS = {400, 401, 403, 404, 405}
PARAM = re.compile(r"\{(\w+)(?::[^{}]*(?:\{[^{}]*\}[^{}]*)*)?\}")


def junk_requests(app) -> list[tuple[str, str]]:
    """(method, path) for every route with path parameters: junk in one parameter, `1` in the others."""
    found = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        if "prefix" in info:  # static files
            found.update((route.method, f"{info['prefix']}/{junk}") for junk in JUNK)
            continue
        template = info.get("formatter")
        if template is None:
            continue
        names = PARAM.findall(template)
        for name in names:
            for junk in JUNK:
                values = {n: (junk if n == name else "1") for n in names}
                found.add((route.method, template.format_map(values)))
    return sorted(found)


# Routes whose answer to an unknown value is, on purpose, a redirect to a page that tells the outcome:
# a verification link from a mail lands on the profile (or login) page with a notice, and revoking a
# client that is not (or no longer) there is idempotent and goes back to the list of clients.
REDIRECTING = {
    re.compile(r"/email/verify/[^/]+"): ("/profile?notice=", "/login?notice="),
    re.compile(r"/settings/api-clients/[^/]+/revoke"): ("/settings/api-clients",),
}


def acceptable(path: str, status: int, location: str | None, signed_in: bool) -> bool:
    """A client error. Signed out, pages send the browser to the login page first, whatever the path
    holds: whether a film or comment exists is not told to strangers."""
    if status in CLIENT_ERRORS:
        return True
    if status != 303 or location is None:
        return False
    if not signed_in and location.startswith("/login"):
        return True
    return any(pattern.fullmatch(path) and location.startswith(to) for pattern, to in REDIRECTING.items())


@pytest.mark.parametrize("signed_in", [False, True], ids=["signed-out", "signed-in"])
async def test_junk_in_path_parameters_is_a_client_error(client, make_user, signed_in):
    if signed_in:
        login_as(client, await make_user())
    token = await csrf_for(client)
    base = str(client.make_url("/")).rstrip("/")
    headers = {"X-CSRF-Token": token, "Origin": base}
    requests = junk_requests(client.app)
    assert len(requests) > 50
    failures = []
    for method, path in requests:
        async with client.session.request(
            method, URL(base + path, encoded=True), headers=headers, allow_redirects=False
        ) as resp:
            await resp.read()
            if not acceptable(path, resp.status, resp.headers.get("Location"), signed_in):
                failures.append(f"{method} {path} -> {resp.status}")
    assert not failures, "\n".join(failures)


def test_route_parameters_are_found():
    assert PARAM.findall("/stream/{movie_id}/hls/{index}.ts") == ["movie_id", "index"]
