"""Scanners against a signed-in session on the live app: wapiti (crawl and attack modules) over the library,
its infinite scroll and the API list, and sqlmap on the search and the API list; both must find nothing."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.fixtures.accounts import cookie
from tests.security.helpers import api_headers, sign_up

ROOT = Path(__file__).resolve().parents[2]
WAPITI = ROOT / ".venv-scanners" / "bin" / "wapiti"
SQLMAP = Path(sys.executable).parent / "sqlmap"
# Attack modules that need no outside service; the header and cookie checks assume https, which the
# test server does not speak (tests/security and tests/test_foundation cover those headers).
WAPITI_MODULES = "sql,exec,file,xss,permanentxss,crlf,redirect,csrf"
# Forms that would end the scanner's own session or change the account under it.
NOT_SUBMITTED = [
    "/logout",
    "/settings/sessions/*",
    "/settings/providers/*",
    "/settings/api-clients/*",
    "/profile/password",
    "/language",
]

SCAN_TIMEOUT = pytest.mark.timeout(200)


async def run(*command: str | Path, log: Path, limit: float) -> tuple[int, str]:
    """Runs a scanner with its output in `log`; returns its exit code and output."""
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            *map(str, command),
            stdout=out,
            stderr=out,
            env={**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONUNBUFFERED": "1"},
        )
        try:
            await asyncio.wait_for(proc.wait(), limit)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            text = await asyncio.to_thread(log.read_text, errors="replace")
            raise AssertionError(f"{command[0]} ran longer than {limit} s:\n{text[-3000:]}") from None
    return proc.returncode or 0, await asyncio.to_thread(log.read_text, errors="replace")


@pytest.fixture
async def films(api_movie) -> list[int]:
    """The library's films, The Matrix first."""
    return [await api_movie(title) for title in ("The Matrix", "Metropolis", "Nosferatu", "Sherlock Jr.")]


@pytest.fixture
async def signed_in_site(site, db, films):
    """(site, cookie header, bearer header) with a few films in the library."""
    await sign_up(site)
    cookies = "; ".join(f"{name}={cookie(site, name)}" for name in ("access_token", "refresh_token"))
    return site, cookies, (await api_headers(site))["Authorization"]


def wapiti_findings(report: dict) -> dict[str, list]:
    found = {k: v for k, v in report.get("vulnerabilities", {}).items() if v}
    found |= {k: v for k, v in report.get("anomalies", {}).items() if v}
    return found


@pytest.mark.slow
@SCAN_TIMEOUT
async def test_wapiti_finds_nothing(signed_in_site, films, tmp_path):
    if not WAPITI.exists():
        missing = "wapiti is installed into .venv-scanners by `make scanners` (and `make test`)"
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    site, cookies, authorization = signed_in_site
    report = tmp_path / "wapiti.json"
    starts = ["/?q=matrix", "/library/page?q=m&sort=name", "/api/v1/movies?q=matrix&limit=2"]
    command: list[str | Path] = [
        WAPITI, "-u", f"{site.url}/", "--scope", "folder", "-m", WAPITI_MODULES,
        "-C", cookies, "-H", f"Authorization: {authorization}",
        "-d", "2", "--max-links-per-page", "20", "--max-parameters", "6",
        "--max-scan-time", "75", "--max-attack-time", "20", "--tasks", "8",
        "--flush-session", "--store-session", tmp_path / "session", "--no-bugreport",
        "-f", "json", "-o", report, "-v", "0",
    ]  # fmt: skip
    for path in starts:
        command += ["-s", site.url + path]
    # Every film's page and forms run the same handlers: those of one film are attacked, the others'
    # would only repeat them (and leave the attack modules less of their time for the rest).
    for path in NOT_SUBMITTED + [f"/movies/{film}*" for film in films[1:]]:
        command += ["-x", site.url + path]
    code, out = await run(*command, log=tmp_path / "wapiti.log", limit=120)
    assert code == 0 and report.exists(), out[-3000:]
    data = json.loads(report.read_text())
    assert wapiti_findings(data) == {}, json.dumps(wapiti_findings(data), indent=1)[:4000]
    assert data["infos"]["crawled_pages_nbr"] >= 10, out[-3000:]
    print(f"wapiti: 0 findings over {data['infos']['crawled_pages_nbr']} pages and forms")


@pytest.mark.slow
@SCAN_TIMEOUT
async def test_sqlmap_finds_nothing(signed_in_site, tmp_path):
    if not SQLMAP.exists() and shutil.which("sqlmap") is None:
        missing = "sqlmap comes with the test extras"
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    site, cookies, authorization = signed_in_site
    targets = tmp_path / "targets.txt"
    targets.write_text(
        "\n".join(
            f"{site.url}{path}"
            for path in (
                "/?q=matrix&genre=Drama&sort=name",
                "/library/page?q=matrix&year_min=1900",
                "/api/v1/movies?q=matrix&genre=Drama&sort=year",
            )
        )
    )
    out_dir = tmp_path / "sqlmap"
    code, out = await run(
        SQLMAP if SQLMAP.exists() else "sqlmap",
        "-m", targets, "--batch", "--level", "1", "--risk", "1", "--technique", "BEU", "--dbms", "PostgreSQL",
        "--cookie", cookies, "--headers", f"Authorization: {authorization}",
        "--output-dir", out_dir, "--results-file", tmp_path / "results.csv",
        "--disable-coloring", "--flush-session", "--answers", "follow=N",
        log=tmp_path / "sqlmap.log",
        limit=150,
    )  # fmt: skip
    assert code == 0, out[-3000:]
    with (tmp_path / "results.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    injectable = [r for r in rows if r.get("Parameter")]
    assert injectable == [], injectable
    assert out.count("do not appear to be injectable") == 3, out[-3000:]
    print("sqlmap: 0 injectable parameters over 3 targets")


async def test_numbers_typed_beside_a_title_do_not_change_which_films_match(signed_in_site):
    """What the scanners' boolean probes look like: the films found must not depend on the numbers."""
    site, _, authorization = signed_in_site
    found = set()
    for probe in ("matrix", "matrix AND 24=24 AND 78=78", "matrix AND 24=53 AND 78=78", "matrix' AND 1=2"):
        resp = await site.get("/api/v1/movies", params={"q": probe}, headers={"Authorization": authorization})
        assert resp.status == 200
        found.add(tuple(m["name"] for m in (await resp.json())["data"]))
    assert found == {("The Matrix",)}
