"""Password reset by mail: the outbox, a real SMTP server, the .eml fallback, single use and expiry."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re

import asyncpg
import pytest

from hypertube.accounts import mail
from hypertube.accounts.mail import MailSender
from hypertube.keys import SETTINGS
from tests.fixtures.accounts import STRONG_PASSWORD, cookie, post_form, register

NEW_PASSWORD = "Lantern-Orbit-Maple-93"


async def wait_for(predicate, within: float = 10.0):
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while loop.time() < end:
        result = predicate()
        if result:
            return result
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


def eml_text(path) -> str:
    with path.open("rb") as fh:
        msg = email.message_from_binary_file(fh, policy=email.policy.default)
    return msg.get_content()


def reset_mails(folder) -> list:
    """The reset mails written to `folder`, oldest first (registration also sends a confirmation mail)."""
    if not folder.is_dir():
        return []
    return [p for p in sorted(folder.glob("*.eml")) if "/password/reset/" in eml_text(p)]


def reset_path(text: str) -> str:
    m = re.search(r"http://127\.0\.0\.1:8000(/password/reset/[A-Za-z0-9_\-]+)", text)
    assert m, text
    return m.group(1)


async def member(client):
    resp, data = await register(client)
    assert resp.status == 303
    return data


@pytest.fixture
async def smtp_client(aiohttp_client, make_app, smtp_server):
    return await aiohttp_client(make_app(bcrypt_cost=4, smtp_url=smtp_server.url))


def strip_token(html: str) -> str:
    return re.sub(r'(csrf_token" value=|csrf-token" content=)"[^"]*"', "", html)


async def test_forgot_answers_the_same_whether_or_not_the_email_exists(accounts_client, db):
    data = await member(accounts_client)
    accounts_client.session.cookie_jar.clear()
    known = await post_form(accounts_client, "/password/forgot", {"email": data["email"]})
    unknown = await post_form(accounts_client, "/password/forgot", {"email": "nobody@example.org"})
    assert known.status == unknown.status == 200
    k, u = strip_token(await known.text()), strip_token(await unknown.text())
    assert k.replace(data["email"], "X") == u.replace("nobody@example.org", "X")
    assert "If an account uses this address" in k
    assert await db.fetchval("SELECT count(*) FROM mail_outbox WHERE subject LIKE 'Reset%'") == 1
    assert await db.fetchval("SELECT count(*) FROM password_resets") == 1


async def test_reset_through_a_real_smtp_server(smtp_client, smtp_server, db):
    data = await member(smtp_client)
    old_session = cookie(smtp_client, "refresh_token")
    resp = await post_form(smtp_client, "/password/forgot", {"email": data["email"].upper()})
    assert resp.status == 200
    resets = await wait_for(lambda: [m for m in smtp_server.inbox.messages if "Subject: Reset" in m["data"]])
    [message] = resets
    assert message["to"] == [data["email"]]
    parsed = email.message_from_string(message["data"], policy=email.policy.default)
    assert parsed["Subject"] == "Reset your Hypertube password"
    path = reset_path(parsed.get_content())
    stored = await db.fetchval("SELECT token_hash FROM password_resets")
    assert path.rsplit("/", 1)[1].encode() not in bytes(stored)  # only a hash is kept
    for _ in range(100):  # the sender marks it sent right after the server's answer
        if await db.fetchval("SELECT bool_and(sent_at IS NOT NULL) FROM mail_outbox"):
            break
        await asyncio.sleep(0.05)
    assert await db.fetchval("SELECT bool_and(sent_at IS NOT NULL) FROM mail_outbox") is True

    smtp_client.session.cookie_jar.clear(lambda c: c.key != "refresh_token")
    page = await smtp_client.get(path)
    assert page.status == 200 and 'name="password"' in await page.text()
    resp = await post_form(smtp_client, path, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert resp.status == 303 and resp.headers["Location"] == "/login?notice=password_reset"
    assert "Your password has been changed" in await (await smtp_client.get(resp.headers["Location"])).text()
    # Every session ended, including the one this browser still had.
    assert await db.fetchval("SELECT count(*) FROM session_families WHERE revoked_at IS NULL") == 0
    smtp_client.session.cookie_jar.clear()
    smtp_client.session.cookie_jar.update_cookies({"refresh_token": old_session})
    assert (await smtp_client.get("/profile", allow_redirects=False)).status == 303
    # Old password refused, new one accepted; the address counts as verified now.
    resp = await post_form(smtp_client, "/login", {"username": data["username"], "password": STRONG_PASSWORD})
    assert resp.status == 400
    resp = await post_form(smtp_client, "/login", {"username": data["username"], "password": NEW_PASSWORD})
    assert resp.status == 303
    assert await db.fetchval("SELECT email_verified FROM users") is True
    # Single use.
    resp = await post_form(smtp_client, path, {"password": "Another-Fresh-Pass-77"}, page="/password/forgot")
    assert resp.status == 400 and "invalid, already used or expired" in await resp.text()
    assert (await smtp_client.get(path)).status == 400


async def test_a_new_link_kills_older_ones_once_used(accounts_client, db):
    data = await member(accounts_client)
    for _ in range(2):
        await post_form(accounts_client, "/password/forgot", {"email": data["email"]})
    assert await db.fetchval("SELECT count(*) FROM password_resets WHERE used_at IS NULL") == 2
    mails_dir = accounts_client.app[SETTINGS].mail_dir
    files = await wait_for(lambda: reset_mails(mails_dir) if len(reset_mails(mails_dir)) == 2 else None)
    path = reset_path(eml_text(files[-1]))
    resp = await post_form(accounts_client, path, {"password": NEW_PASSWORD})
    assert resp.status == 303
    assert await db.fetchval("SELECT count(*) FROM password_resets WHERE used_at IS NULL") == 0


async def test_without_smtp_the_mail_is_written_as_a_file_promptly(accounts_client, db, settings, caplog):
    data = await member(accounts_client)
    caplog.set_level("INFO", logger="hypertube.accounts.mail")
    loop = asyncio.get_running_loop()
    started = loop.time()
    await post_form(accounts_client, "/password/forgot", {"email": data["email"]})
    files = await wait_for(lambda: reset_mails(settings.mail_dir), within=8)
    assert loop.time() - started < 5  # woken at once, not by a timer (the idle timer is 60 s)
    msg = email.message_from_binary_file(files[0].open("rb"), policy=email.policy.default)
    assert msg["To"] == data["email"]
    assert reset_path(msg.get_content())
    # The sender logs after it has also marked the row sent: the file can be seen a moment before.
    await wait_for(lambda: any(str(files[0]) in r.getMessage() for r in caplog.records), within=5)


async def test_expired_link_is_refused(accounts_client, db):
    data = await member(accounts_client)
    await post_form(accounts_client, "/password/forgot", {"email": data["email"]})
    files = await wait_for(lambda: reset_mails(accounts_client.app[SETTINGS].mail_dir))
    path = reset_path(eml_text(files[0]))
    await db.execute("UPDATE password_resets SET expires_at = now() - interval '1 second'")
    assert (await accounts_client.get(path)).status == 400
    resp = await post_form(accounts_client, path, {"password": NEW_PASSWORD}, page="/password/forgot")
    assert resp.status == 400 and "expired" in await resp.text()
    hash_before = await db.fetchval("SELECT password_hash FROM users")
    assert (
        hash_before
        and await db.fetchval("SELECT count(*) FROM session_families WHERE revoked_at IS NULL") == 1
    )


@pytest.mark.parametrize(
    ("password", "confirm", "message"),
    [
        ("", "", "Enter a password."),
        ("short", "", "at least 10"),
        ("password1234", "", "too common"),
        (NEW_PASSWORD, "Different-Pass-99", "The two passwords are different."),
        ("<script>x</script>", "", None),
        ("z" * 10_000, "", "at most 128"),
    ],
)
async def test_bad_new_passwords_keep_the_link_and_the_old_password(
    accounts_client, db, password, confirm, message
):
    data = await member(accounts_client)
    await post_form(accounts_client, "/password/forgot", {"email": data["email"]})
    settings = accounts_client.app[SETTINGS]
    files = await wait_for(lambda: reset_mails(settings.mail_dir))
    path = reset_path(eml_text(files[0]))
    before = await db.fetchval("SELECT password_hash FROM users")
    resp = await post_form(accounts_client, path, {"password": password, "password_confirm": confirm})
    if message is None:  # odd characters are a fine password
        assert resp.status == 303
        return
    text = await resp.text()
    assert resp.status == 400 and message in text
    assert await db.fetchval("SELECT password_hash FROM users") == before
    assert await db.fetchval("SELECT count(*) FROM password_resets WHERE used_at IS NULL") == 1


@pytest.mark.parametrize("token", ["nope", "x" * 5000, "' OR '1'='1", "%3Cscript%3E", "é"])
async def test_made_up_links_are_refused(accounts_client, token):
    resp = await accounts_client.get(f"/password/reset/{token}")
    assert resp.status == 400
    assert "invalid, already used or expired" in await resp.text()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "Enter your email address."),
        ("nope", "valid email address"),
        ("<script>alert(1)</script>", "valid email address"),
        ("a@example.org'; DELETE FROM users;--", "valid email address"),
        ("ü@example.org", "valid email address"),
        ("a" * 100_000, "valid email address"),
    ],
)
async def test_forgot_bad_input(accounts_client, db, value, message):
    resp = await post_form(accounts_client, "/password/forgot", {"email": value})
    text = await resp.text()
    assert resp.status == 400 and message in text and "<script>alert" not in text
    assert await db.fetchval("SELECT count(*) FROM mail_outbox") == 0
    assert await db.fetchval("SELECT count(*) FROM password_resets") == 0


async def test_forgot_is_rate_limited_per_address(accounts_client, db):
    statuses = []
    for _ in range(4):
        resp = await post_form(accounts_client, "/password/forgot", {"email": "target@example.org"})
        statuses.append(resp.status)
    assert statuses == [200, 200, 200, 429]
    assert resp.headers["Retry-After"] and "Too many attempts" in await resp.text()


async def test_outbox_keeps_and_retries_mail_while_smtp_is_down(database_url, settings, smtp_down, db):
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        sender = MailSender(pool, settings.replace(smtp_url=smtp_down.url), backoff=0.2)
        mail_id = await mail.enqueue(pool, "ada@example.org", "Hello", "Body with a link")
        assert await sender.send_due() == 0
        row = await db.fetchrow("SELECT * FROM mail_outbox WHERE id = $1", mail_id)
        assert row["sent_at"] is None and row["attempts"] == 1 and "Error" in row["last_error"]
        assert await db.fetchval("SELECT next_attempt_at > now() FROM mail_outbox") is True
        task = asyncio.create_task(sender.run())
        try:
            await asyncio.sleep(0.8)  # a few more failed attempts with growing waits
            attempts = await db.fetchval("SELECT attempts FROM mail_outbox")
            assert attempts >= 2
            smtp_down.start()
            await asyncio.to_thread(smtp_down.inbox.received.wait, 10)
            for _ in range(100):
                if await db.fetchval("SELECT sent_at IS NOT NULL FROM mail_outbox"):
                    break
                await asyncio.sleep(0.05)
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        [message] = smtp_down.inbox.messages
        assert message["to"] == ["ada@example.org"] and "Body with a link" in message["data"]
        row = await db.fetchrow("SELECT * FROM mail_outbox WHERE id = $1", mail_id)
        assert row["sent_at"] is not None and row["last_error"] is None
    finally:
        await pool.close()


async def test_reset_mail_is_in_the_users_language(accounts_client, make_user, db, settings):
    await make_user("francoise", email="francoise@example.org", language="fr")
    await post_form(accounts_client, "/password/forgot", {"email": "francoise@example.org"})
    files = await wait_for(lambda: reset_mails(settings.mail_dir))
    msg = email.message_from_binary_file(files[0].open("rb"), policy=email.policy.default)
    assert msg["Subject"] == "Réinitialisez votre mot de passe Hypertube"
    assert "Bonjour" in msg.get_content()
