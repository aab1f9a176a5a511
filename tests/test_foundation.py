"""The foundation: settings, migrations, health, error shapes, security headers and CSRF."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hypertube.db.migrate import apply_migrations
from hypertube.settings import SettingsError, ensure_secret_key, load_settings
from tests.conftest import csrf_for, login_as

STATIC = Path(__file__).resolve().parent.parent / "static"


def test_settings_read_env_and_dotenv(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("HYPERTUBE_BASE_URL='https://films.example'\n# comment\nHYPERTUBE_SOURCES=yts\n")
    s = load_settings(
        env={"HYPERTUBE_SOURCES": "yts,archive", "HYPERTUBE_ACCESS_TOKEN_TTL": "60"}, dotenv=dotenv
    )
    assert s.base_url == "https://films.example"
    assert s.sources == ("yts", "archive")
    assert s.access_token_ttl == 60
    assert s.secure is True


@pytest.mark.parametrize(
    "env",
    [
        {"HYPERTUBE_BASE_URL": "ftp://x"},
        {"HYPERTUBE_ACCESS_TOKEN_TTL": "soon"},
        {"HYPERTUBE_SOURCES": "yts,piratebay"},
        {"HYPERTUBE_DATABASE_URL": "mysql://x"},
    ],
)
def test_bad_settings_are_refused_with_a_message(env):
    with pytest.raises(SettingsError) as err:
        load_settings(env=env, dotenv=None)
    assert "HYPERTUBE_" in str(err.value)


def test_secret_key_generated_once_and_private(tmp_path):
    s = load_settings(env={"HYPERTUBE_DATA_DIR": str(tmp_path)}, dotenv=None)
    first = ensure_secret_key(s)
    second = ensure_secret_key(s)
    assert first.secret_key and first.secret_key == second.secret_key
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


async def test_migrations_are_idempotent(db):
    assert await apply_migrations(db) == []
    assert await db.fetchval("SELECT count(*) FROM schema_migrations") >= 1


async def test_healthz_reports_database(client):
    resp = await client.get("/healthz")
    assert resp.status == 200
    body = await resp.json()
    assert body["status"] == "ok" and body["database"] == "ok"


async def test_unknown_page_is_a_friendly_404(client):
    resp = await client.get("/no/such/page")
    assert resp.status == 404
    assert "text/html" in resp.headers["Content-Type"]
    assert "does not exist" in await resp.text()


async def test_unknown_api_route_is_json_404(client):
    resp = await client.get("/api/v1/nothing-here")
    assert resp.status == 404
    body = await resp.json()
    assert body["error"]["code"] == "not_found"


async def test_security_headers(client):
    resp = await client.get("/healthz")
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"]


async def test_static_files_are_cached(client):
    resp = await client.get("/static/css/app.css?v=abc")
    assert resp.status == 200
    assert "immutable" in resp.headers["Cache-Control"]


@pytest.mark.parametrize("path", ["vendor/hls.mjs", "vendor/swagger-ui/swagger-ui-bundle.js"])
async def test_the_big_bundles_are_sent_gzipped_to_browsers_that_accept_it(client, path):
    on_disk = await asyncio.to_thread((STATIC / path).read_bytes)
    resp = await client.get(f"/static/{path}", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert resp.status == 200
    assert resp.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in resp.headers["Vary"]
    assert int(resp.headers["Content-Length"]) < len(on_disk) / 3
    assert await resp.read() == on_disk
    resp = await client.get(f"/static/{path}", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in resp.headers and await resp.read() == on_disk


async def test_library_requires_sign_in(client, make_user):
    resp = await client.get("/", allow_redirects=False)
    assert resp.status == 303, await resp.text() and resp.headers["Location"].startswith("/login")
    login_as(client, await make_user())
    resp = await client.get("/", allow_redirects=False)
    assert resp.status == 200


async def test_csrf_refuses_cross_site_and_tokenless_posts(client):
    resp = await client.post("/language", data={"language": "fr"}, allow_redirects=False)
    assert resp.status == 403
    token = await csrf_for(client, "/no/such/page")
    resp = await client.post(
        "/language",
        data={"language": "fr", "csrf_token": token},
        headers={"Origin": "http://evil.example"},
        allow_redirects=False,
    )
    assert resp.status == 403
    resp = await client.post("/language", data={"language": "fr", "csrf_token": token}, allow_redirects=False)
    assert resp.status == 303, await resp.text()


def test_migration_files_are_numbered():
    folder = Path(__file__).resolve().parent.parent / "hypertube" / "db" / "migrations"
    assert all(p.name[:3].isdigit() for p in folder.glob("*.sql"))


def test_every_setting_is_documented_in_the_readme():
    import dataclasses

    from hypertube.settings import Settings

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    missing = []
    for f in dataclasses.fields(Settings):
        if f.name == "extra":
            continue
        name = f"HYPERTUBE_{f.name.upper()}"
        # grouped rows like `HYPERTUBE_OAUTH_FT_ID` / `_SECRET` document the siblings by suffix
        prefix, _, suffix = name.rpartition("_")
        if name not in readme and f"`_{suffix}`" not in readme:
            missing.append(name)
    assert not missing, f"settings missing from README.md: {missing}"
