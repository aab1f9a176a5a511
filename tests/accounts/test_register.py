"""Registration: server-side rules, duplicates without case, bad input, and signing in afterwards."""

from __future__ import annotations

import bcrypt
import pytest

from hypertube.accounts.passwords import DEFAULT_COST, common_passwords, hash_password, verify_password
from hypertube.settings import Settings
from tests.fixtures.accounts import STRONG_PASSWORD, post_form, register


async def count(db, table: str = "users") -> int:
    return await db.fetchval(f"SELECT count(*) FROM {table}")


async def test_register_creates_account_and_signs_in(accounts_client, db):
    resp, data = await register(accounts_client)
    assert resp.status == 303, await resp.text()
    assert resp.headers["Location"] == "/"
    row = await db.fetchrow("SELECT * FROM users WHERE username = $1", data["username"])
    assert row["email"] == data["email"] and row["first_name"] == "Ada"
    assert row["password_hash"].startswith("$2b$04$")
    assert not row["email_verified"]
    profile = await accounts_client.get("/profile", allow_redirects=False)
    assert profile.status == 200
    assert data["username"] in await profile.text()
    assert await count(db, "refresh_tokens") == 1


def test_default_bcrypt_cost_is_at_least_12():
    assert Settings().bcrypt_cost >= 12 and DEFAULT_COST >= 12


async def test_hashes_run_off_the_loop_and_check_long_passwords():
    long_password = "é" * 100  # 200 bytes: more than bcrypt's 72
    hashed = await hash_password(long_password, 4)
    assert hashed.startswith("$2b$04$") and bcrypt.checkpw  # bcrypt format
    assert await verify_password(long_password, hashed, 4)
    assert not await verify_password("é" * 99 + "e", hashed, 4)
    assert not await verify_password("anything", None, 4)
    assert not await verify_password("anything", "not-a-hash", 4)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("", "Enter a password."),
        ("Short-1a", "Use at least 10 characters."),
        ("x" * 129, "Use at most 128 characters."),
        ("password123", "too common"),
        ("QWERTYUIOP", "too common"),
        ("1234567890", "too common"),
        ("my-ada_name-is-long", "must not contain your username"),
        ("ada.l@example.orgX1", "must not contain your username"),
    ],
)
async def test_password_rules(accounts_client, db, password, message):
    resp, _ = await register(
        accounts_client, username="ada_name", email="ada.l@example.org", password=password
    )
    assert resp.status == 400
    assert message in await resp.text()
    assert await count(db) == 0


def test_common_password_list_is_shipped_and_large():
    words = common_passwords()
    assert len(words) > 3000
    assert "password" in words and "iloveyou" in words


async def test_duplicates_are_refused_without_case(accounts_client, db):
    resp, data = await register(accounts_client, username="Grace", email="grace@example.org")
    assert resp.status == 303
    accounts_client.session.cookie_jar.clear()
    resp, _ = await register(accounts_client, username="GRACE", email="other@example.org")
    assert resp.status == 400 and "already taken" in await resp.text()
    # A used address is not revealed (tests/security/test_enumeration.py): the answer is a new account's,
    # no account is made, and the owner is mailed instead.
    resp, _ = await register(accounts_client, username="grace2", email="GRACE@Example.ORG")
    assert resp.status == 303 and "already uses this email" not in await resp.text()
    assert await count(db) == 1
    assert await db.fetchval("SELECT count(*) FROM mail_outbox WHERE subject LIKE 'Someone tried%'") == 1


NASTY = [
    # (field, value, expected message fragment or None when the value is acceptable and must come back escaped)
    ("email", "", "Enter your email address."),
    ("email", "not-an-email", "valid email address"),
    ("email", "a@b", "valid email address"),
    ("email", "x" * 300 + "@example.org", "valid email address"),
    ("email", "<script>alert(1)</script>@example.org", "valid email address"),
    ("email", "ü@exämple.org", "valid email address"),
    ("email", "a@example.org' OR '1'='1", "valid email address"),
    ("username", "", "Choose a username."),
    ("username", "ab", "3 to 30 letters"),
    ("username", "a" * 31, "3 to 30 letters"),
    ("username", "<script>", "3 to 30 letters"),
    ("username", "robert'); DROP TABLE users;--", "3 to 30 letters"),
    ("username", "zoë", "3 to 30 letters"),
    ("username", "with space", "3 to 30 letters"),
    ("username", "x" * 100_000, "3 to 30 letters"),
    ("first_name", "", "This field is required."),
    ("first_name", "n" * 61, "at most 60"),
    ("first_name", "bad\x00name", "control characters"),
    ("last_name", "line\nbreak", "control characters"),
    ("last_name", "\u202eevil", "control characters"),
    ("last_name", "   ", "This field is required."),
]


@pytest.mark.parametrize(
    ("field", "value", "message"), NASTY, ids=[f"{f}-{i}" for i, (f, _, _) in enumerate(NASTY)]
)
async def test_bad_input_gets_a_message_and_no_row(accounts_client, db, field, value, message):
    resp, _ = await register(accounts_client, **{field: value})
    text = await resp.text()
    assert resp.status == 400
    assert message in text.replace("&#39;", "'")
    assert "<script>alert" not in text
    assert await count(db) == 0 and await count(db, "refresh_tokens") == 0


@pytest.mark.parametrize(
    "name", ["<script>alert(1)</script>", "Zoë 😀", "O'Brien; DROP TABLE users;--", "李"]
)
async def test_odd_but_valid_names_are_kept_and_escaped(accounts_client, db, name):
    resp, data = await register(accounts_client, first_name=name)
    assert resp.status == 303
    assert await db.fetchval("SELECT first_name FROM users") == name
    page = await (await accounts_client.get("/profile")).text()
    assert "<script>alert(1)</script>" not in page


async def test_wrong_types_and_missing_fields(accounts_client, db):
    from tests.fixtures.accounts import page_csrf

    token = await page_csrf(accounts_client, "/register")
    # a file where text is expected, and no password at all
    import aiohttp

    form = aiohttp.FormData()
    form.add_field("csrf_token", token)
    form.add_field("email", b"a@example.org", filename="x.txt", content_type="text/plain")
    form.add_field("username", "valid_name")
    resp = await accounts_client.post("/register", data=form, allow_redirects=False)
    text = await resp.text()
    assert resp.status == 400
    assert "Enter your email address." in text and "Enter a password." in text
    assert await count(db) == 0


async def test_register_needs_csrf_token(accounts_client, db):
    resp = await accounts_client.post(
        "/register",
        data={
            "email": "a@example.org",
            "username": "abcdef",
            "first_name": "A",
            "last_name": "B",
            "password": STRONG_PASSWORD,
        },
        allow_redirects=False,
    )
    assert resp.status == 403
    assert await count(db) == 0


async def test_register_is_rate_limited_per_account(accounts_client, db):
    statuses = []
    for i in range(7):
        resp = await post_form(
            accounts_client,
            "/register",
            {
                "email": "same@example.org",
                "username": f"u{i}",
                "first_name": "A",
                "last_name": "B",
                "password": "short",
            },
        )
        statuses.append(resp.status)
    assert statuses[:5] == [400] * 5 and statuses[-1] == 429
    assert int(resp.headers["Retry-After"]) > 0
    assert "Too many attempts" in await resp.text()


async def test_the_form_gets_the_same_common_list(accounts_client):
    resp = await accounts_client.get("/password/common.txt")
    words = set((await resp.text()).split("\n"))
    assert resp.status == 200 and "max-age" in resp.headers["Cache-Control"]
    assert "password123" in words and "qwertyuiop" in words
    assert all(len(w) >= 10 for w in words)  # shorter ones fail the length rule anyway
    assert words <= common_passwords()
