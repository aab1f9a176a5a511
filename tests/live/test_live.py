"""Socket.IO against the real app on a real port: auth, rooms, comments, chat, floods, parties, catch-up."""

from __future__ import annotations

import asyncio
import time

import jwt
import pytest
import socketio

from hypertube.accounts.tokens import issue_access_token
from hypertube.catalog import chat, comments
from hypertube.keys import EVENTS, LIVE, POOL
from hypertube.ws.chat import CHAT_LIMIT
from tests.fixtures.live import live_token


@pytest.fixture
async def served(aiohttp_client, make_app):
    """The app on a real loopback port; `.url` is its address."""
    client = await aiohttp_client(make_app())
    client.url = str(client.server.make_url("/")).rstrip("/")
    return client


async def _refused(url: str, **kwargs) -> str:
    """Connects expecting a refusal; returns the reason the server gave (what the page shows)."""
    sio = socketio.AsyncClient(reconnection=False)
    reasons: list = []
    sio.on("connect_error", lambda data: reasons.append(data))
    with pytest.raises(socketio.exceptions.ConnectionError):
        await sio.connect(url, transports=["websocket"], wait_timeout=5, retry=False, **kwargs)
    await sio.disconnect()
    assert reasons, "refused without a reason"
    return reasons[0]["message"]


# --- auth ----------------------------------------------------------------------------------------


async def test_refuses_anonymous_expired_and_forged_tokens(served, make_user):
    user = await make_user()
    assert "sign in" in await _refused(served.url)
    expired = issue_access_token("test-secret-" + "x" * 40, user.id, -60)
    assert "expired" in await _refused(served.url, headers={"Cookie": f"access_token={expired}"})
    forged = issue_access_token("another-secret-" + "y" * 40, user.id, 900)
    assert "sign in" in await _refused(served.url, headers={"Cookie": f"access_token={forged}"})
    none_alg = jwt.encode({"sub": str(user.id), "exp": int(time.time()) + 60}, None, algorithm="none")
    assert "sign in" in await _refused(served.url, auth={"token": none_alg})
    assert "sign in" in await _refused(served.url, auth={"token": "x" * 10_000})


async def test_refuses_other_origins_and_accepts_cookie_or_auth_token(served, make_user, live_client):
    user = await make_user()
    token = live_token(user)
    sio = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await sio.connect(
            served.url,
            headers={"Cookie": f"access_token={token}", "Origin": "https://evil.example"},
            transports=["websocket"],
            wait_timeout=5,
            retry=False,
        )
    await sio.disconnect()
    by_cookie = await live_client(served.url, token=token, headers={"Origin": served.url})
    by_auth = await live_client(served.url, auth={"token": token})
    assert by_cookie.sio.connected and by_auth.sio.connected


async def test_refusal_is_in_the_pages_language(served):
    reason = await _refused(served.url, headers={"Cookie": "lang=fr"})
    assert reason == "Connectez-vous pour voir les mises à jour en direct."
    assert "Connectez-vous" in await _refused(served.url, headers={"Accept-Language": "fr-FR,fr;q=0.9"})


async def test_deleted_user_is_refused(served, make_user, db):
    user = await make_user()
    token = live_token(user)
    await db.execute("DELETE FROM users WHERE id = $1", user.id)
    assert "sign in" in await _refused(served.url, auth={"token": token})


# --- rooms and comments --------------------------------------------------------------------------


async def test_comments_fan_out_to_the_films_room_only(served, make_user, make_movie, live_client):
    alice, bob, carol = await make_user(), await make_user(), await make_user()
    film, other = await make_movie(), await make_movie()
    a = await live_client(served.url, token=live_token(alice))
    b = await live_client(served.url, token=live_token(bob))
    c = await live_client(served.url, token=live_token(carol))
    assert (await a.call("join", {"movie_id": film}))["ok"]
    assert (await b.call("join", {"movie_id": film}))["ok"]
    assert (await c.call("join", {"movie_id": other}))["ok"]

    app = served.server.app
    t0 = time.monotonic()
    created = await comments.create_comment(
        app[POOL], app[EVENTS], user_id=alice.id, movie_id=film, body="<script>alert(1)</script> great"
    )
    for client in (a, b):
        got = await client.wait_for("comment:new")
        assert got["id"] == created["id"]
        assert got["text"] == "<script>alert(1)</script> great"
        assert got["author"] == alice.username
    assert time.monotonic() - t0 < 1.0
    await comments.update_comment(
        app[POOL], app[EVENTS], user_id=alice.id, comment_id=created["id"], body="edited"
    )
    assert (await b.wait_for("comment:update"))["text"] == "edited"
    await comments.delete_comment(app[POOL], app[EVENTS], user_id=alice.id, comment_id=created["id"])
    assert (await b.wait_for("comment:delete"))["id"] == created["id"]
    await asyncio.sleep(0.2)
    assert not c.received["comment:new"] and not c.received["comment:delete"]

    # After leaving, nothing more arrives.
    assert (await b.call("leave", {"movie_id": film}))["ok"]
    await comments.create_comment(app[POOL], app[EVENTS], user_id=alice.id, movie_id=film, body="second")
    await a.wait_for("comment:new", lambda p: p["text"] == "second")
    await asyncio.sleep(0.2)
    assert len(b.received["comment:new"]) == 1


async def test_joining_a_missing_film_is_refused(served, make_user, live_client):
    c = await live_client(served.url, token=live_token(await make_user()))
    reply = await c.call("join", {"movie_id": 999_999})
    assert reply["ok"] is False and reply["error"]["code"] == "not_found"
    assert (await c.wait_for("error"))["code"] == "not_found"


# --- chat ----------------------------------------------------------------------------------------


async def test_chat_reaches_the_room_with_author_and_presence(served, make_user, make_movie, live_client):
    alice, bob = await make_user(), await make_user()
    film, other = await make_movie(), await make_movie()
    a = await live_client(served.url, token=live_token(alice))
    b = await live_client(served.url, token=live_token(bob))
    outsider = await live_client(served.url, token=live_token(await make_user()))
    await a.call("join", {"movie_id": film})
    joined = await b.call("join", {"movie_id": film})
    assert {u["username"] for u in joined["presence"]} == {alice.username, bob.username}
    await a.wait_for("presence", lambda p: len(p["users"]) == 2)
    await outsider.call("join", {"movie_id": other})

    reply = await a.call("chat:send", {"movie_id": film, "text": "  hello <b>world</b>\n"})
    assert reply["ok"]
    got = await b.wait_for("chat:message")
    assert got["text"] == "hello <b>world</b>"
    assert got["author"] == alice.username and got["author_picture"].startswith("/")
    assert got["movie_id"] == film and got["id"] == reply["id"]

    await b.call("chat:typing", {"movie_id": film})
    assert (await a.wait_for("chat:typing"))["user"]["username"] == bob.username

    await b.sio.disconnect()
    await a.wait_for("presence", lambda p: [u["username"] for u in p["users"]] == [alice.username])
    await asyncio.sleep(0.1)
    assert not outsider.received["chat:message"]


async def test_chat_history_keeps_the_last_50(served, make_user, make_movie, live_client, db):
    user = await make_user()
    film = await make_movie()
    pool = served.server.app[POOL]
    for i in range(54):
        await chat.post_message(pool, movie_id=film, user_id=user.id, text=f"message {i}")
    c = await live_client(served.url, token=live_token(user))
    await c.call("join", {"movie_id": film})
    await c.call("chat:send", {"movie_id": film, "text": "message 54"})
    assert await db.fetchval("SELECT count(*) FROM chat_messages WHERE movie_id = $1", film) == 50

    late = await live_client(served.url, token=live_token(await make_user()))
    history = (await late.call("join", {"movie_id": film}))["chat"]
    assert [m["text"] for m in history] == [f"message {i}" for i in range(5, 55)]
    assert all(m["author"] == user.username for m in history)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("x" * 501, "too_long"),
        ("x" * 100_00, "too_long"),
        (42, "bad_payload"),
        (None, "bad_payload"),
        (["a"], "bad_payload"),
    ],
)
async def test_bad_chat_text_is_refused_and_not_stored(
    served, make_user, make_movie, live_client, db, text, code
):
    c = await live_client(served.url, token=live_token(await make_user()))
    film = await make_movie()
    await c.call("join", {"movie_id": film})
    reply = await c.call("chat:send", {"movie_id": film, "text": text})
    assert reply["ok"] is False and reply["error"]["code"] == code
    assert await db.fetchval("SELECT count(*) FROM chat_messages") == 0


async def test_chat_accepts_unicode_and_sql_looking_text_verbatim(served, make_user, make_movie, live_client):
    c = await live_client(served.url, token=live_token(await make_user()))
    film = await make_movie()
    await c.call("join", {"movie_id": film})
    text = "'; DROP TABLE chat_messages; -- 日本語 🎬 \u202eevil 👩\u200d💻 خانه\u200cها\x85"
    assert (await c.call("chat:send", {"movie_id": film, "text": text}))["ok"]
    got = await c.wait_for("chat:message")
    # The bidi override and the C1 control go; the joiners of an emoji sequence and a Persian word stay.
    assert got["text"] == "'; DROP TABLE chat_messages; -- 日本語 🎬 evil 👩\u200d💻 خانه\u200cها"


async def test_chat_flood_is_refused_then_disconnected(served, make_user, make_movie, live_client, db):
    user = await make_user()
    film = await make_movie()
    c = await live_client(served.url, token=live_token(user))
    await c.call("join", {"movie_id": film})
    replies = [await c.call("chat:send", {"movie_id": film, "text": f"m{i}"}) for i in range(CHAT_LIMIT + 1)]
    assert all(r["ok"] for r in replies[:CHAT_LIMIT])
    assert replies[-1]["error"]["code"] == "rate_limited"
    assert (await c.wait_for("error"))["code"] == "rate_limited"
    # A second tab of the same user shares the limit.
    tab = await live_client(served.url, token=live_token(user))
    await tab.call("join", {"movie_id": film})
    assert (await tab.call("chat:send", {"movie_id": film, "text": "tab"}))["error"]["code"] == "rate_limited"
    # Keeping on flooding closes the socket.
    for i in range(10):
        if not c.sio.connected:
            break
        await c.sio.emit("chat:send", {"movie_id": film, "text": f"flood {i}"})
    await asyncio.wait_for(c.disconnected.wait(), 3)
    assert (await c.wait_for("error", lambda e: e["code"] == "flood"))["message"]
    assert await db.fetchval("SELECT count(*) FROM chat_messages") == CHAT_LIMIT


async def test_any_event_flood_disconnects(served, make_user, live_client):
    c = await live_client(served.url, token=live_token(await make_user()))
    for _ in range(200):
        if not c.sio.connected:
            break
        await c.sio.emit("chat:typing", {"movie_id": 1})
    await asyncio.wait_for(c.disconnected.wait(), 3)


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "payload", "code"),
    [
        ("join", "not an object", "bad_payload"),
        ("join", [1, 2], "bad_payload"),
        ("join", {"movie_id": "1; DROP TABLE movies"}, "bad_payload"),
        ("join", {"movie_id": True}, "bad_payload"),
        ("join", {"movie_id": -3}, "bad_payload"),
        ("join", {"movie_id": 2**80}, "bad_payload"),
        ("join", {"movie_id": 1.5}, "bad_payload"),
        ("join", {"movie_id": None}, "bad_payload"),
        ("join", {"movie_id": 1, "since": "yesterday"}, "bad_payload"),
        ("join", {"movie_id": 1, "party": "<script>"}, "bad_payload"),
        ("chat:send", {"movie_id": 1, "text": "hi"}, "not_joined"),
        ("leave", {"movie_id": 1}, "not_joined"),
        ("party:play", {"movie_id": 1, "position": 3}, "not_joined"),
        ("progress", {"movie_ids": list(range(1, 500))}, "bad_payload"),
        ("progress", {"movie_ids": "1,2"}, "bad_payload"),
        ("auth:refresh", {"token": 5}, "bad_payload"),
        ("no:such:event", {"movie_id": 1}, "unknown_event"),
    ],
)
async def test_malformed_events_get_an_error_event(served, make_user, live_client, event, payload, code):
    c = await live_client(served.url, token=live_token(await make_user()))
    await c.sio.emit(event, payload)
    error = await c.wait_for("error")
    assert error["code"] == code and error["message"]
    assert c.sio.connected


async def test_events_without_or_with_many_arguments(served, make_user, make_movie, live_client):
    c = await live_client(served.url, token=live_token(await make_user()))
    await c.sio.emit("join")
    await c.sio.emit("join", ({"movie_id": 1}, {"movie_id": 2}))
    await c.wait_for("error", lambda e: e["code"] == "bad_payload")
    film = await make_movie()
    assert (await c.call("join", {"movie_id": film}))["ok"]  # still usable


async def test_party_in_a_room_not_joined_and_bad_positions(served, make_user, make_movie, live_client):
    film = await make_movie()
    user = await make_user()
    c = await live_client(served.url, token=live_token(user))
    await c.call("join", {"movie_id": film})
    assert (await c.call("party:play", {"movie_id": film, "position": 1}))["error"]["code"] == "not_joined"
    for bads in ((-1, "10", float("nan")), (None, 10**12, True)):
        # Each client stays under the number of refusals that closes a socket.
        c = await live_client(served.url, token=live_token(user))
        await c.call("join", {"movie_id": film, "party": "abcdef123"})
        for bad in bads:
            reply = await c.call("party:seek", {"movie_id": film, "position": bad})
            assert reply["error"]["code"] == "bad_payload", bad


async def test_oversized_message_closes_the_socket_and_server_lives_on(
    served, make_user, make_movie, live_client, db
):
    user = await make_user()
    film = await make_movie()
    c = await live_client(served.url, token=live_token(user))
    await c.call("join", {"movie_id": film})
    await c.sio.emit("chat:send", {"movie_id": film, "text": "x" * 100_000})
    await asyncio.wait_for(c.disconnected.wait(), 5)
    assert await db.fetchval("SELECT count(*) FROM chat_messages") == 0
    again = await live_client(served.url, token=live_token(user))
    assert (await again.call("join", {"movie_id": film}))["ok"]
    resp = await served.get("/healthz")
    assert resp.status == 200


# --- watch together ------------------------------------------------------------------------------


async def test_party_play_pause_seek_and_late_joiner(served, make_user, make_movie, live_client):
    film = await make_movie()
    code = "party-1234"
    alice, bob = await make_user(), await make_user()
    a = await live_client(served.url, token=live_token(alice))
    b = await live_client(served.url, token=live_token(bob))
    solo = await live_client(served.url, token=live_token(await make_user()))
    assert (await a.call("join", {"movie_id": film, "party": code}))["party"] is None
    await b.call("join", {"movie_id": film, "party": code})
    await solo.call("join", {"movie_id": film})
    members = await a.wait_for("party:members", lambda m: len(m["members"]) == 2)
    assert {(u["username"], u["status"]) for u in members["members"]} == {
        (alice.username, "joining"),
        (bob.username, "joining"),
    }

    # The first play sets the group going; bob, not in step yet, is not waited for.
    assert (await a.call("party:play", {"movie_id": film, "position": 10}))["state"]["state"] == "playing"
    state = await b.wait_for("party:state", lambda s: s["playing"])
    assert state["position"] == 10 and state["party"] == code and state["movie_id"] == film
    # Bob's pause before he is in step acts at the group's position, not at his.
    paused = (await b.call("party:pause", {"movie_id": film, "position": 0}))["state"]
    assert paused["state"] == "paused" and 10 <= paused["position"] < 11
    assert (await a.wait_for("party:state", lambda s: not s["playing"]))["position"] == paused["position"]
    assert (await b.call("party:ready", {"movie_id": film, "position": paused["position"]}))["ok"]
    await a.wait_for("party:members", lambda m: {u["status"] for u in m["members"]} == {"ready"})

    # A seek: the group waits until both have buffered at 100 s, then stays paused as it was.
    waiting = (await a.call("party:seek", {"movie_id": film, "position": 100}))["state"]
    assert waiting["state"] == "waiting" and waiting["wait_until"] > waiting["at"]
    assert (await b.wait_for("party:state", lambda s: s["position"] == 100))["state"] == "waiting"
    await a.call("party:ready", {"movie_id": film, "position": 100})
    await b.call("party:ready", {"movie_id": film, "position": 100.2})
    await a.wait_for("party:state", lambda s: s["state"] == "paused" and s["position"] == 100)
    await a.call("party:play", {"movie_id": film, "position": 100})
    await b.wait_for("party:state", lambda s: s["state"] == "playing" and s["position"] >= 100)

    # Bob stalls: the group holds until he has buffered again.
    held = (await b.call("party:buffering", {"movie_id": film, "position": 100.3}))["state"]
    assert held["state"] == "waiting" and held["by"] == bob.username
    await a.wait_for("party:state", lambda s: s["action"] == "buffering")
    await b.call("party:ready", {"movie_id": film, "position": held["position"]})
    await a.wait_for("party:state", lambda s: s["state"] == "playing" and s["action"] == "buffering")

    await asyncio.sleep(0.5)
    late = await live_client(served.url, token=live_token(await make_user()))
    joined = await late.call("join", {"movie_id": film, "party": code})
    assert joined["party"]["playing"] is True
    assert 100.4 <= joined["party"]["position"] <= 102
    assert (await late.wait_for("party:state"))["playing"] is True
    await a.wait_for("party:members", lambda m: len(m["members"]) == 3)
    # Leaving (here by disconnecting) takes bob off everyone's list.
    await b.close()
    await a.wait_for("party:members", lambda m: bob.username not in {u["username"] for u in m["members"]})
    await asyncio.sleep(0.1)
    assert not solo.received["party:state"] and not solo.received["party:members"]


async def test_party_reports_need_a_party_and_a_position(served, make_user, make_movie, live_client):
    film = await make_movie()
    c = await live_client(served.url, token=live_token(await make_user()))
    await c.call("join", {"movie_id": film})
    reply = await c.call("party:ready", {"movie_id": film, "position": 1})
    assert reply["error"]["code"] == "not_joined"
    await c.call("join", {"movie_id": film, "party": "report-test"})
    for bad in ({"movie_id": film}, {"movie_id": film, "position": "1"}):
        assert (await c.call("party:ready", bad))["error"]["code"] == "bad_payload"
    assert (await c.call("party:buffering", {"movie_id": film, "position": 3}))["ok"]


# --- reconnect catch-up --------------------------------------------------------------------------


async def test_rejoin_with_since_catches_up_on_comments_and_chat(served, make_user, make_movie, live_client):
    alice = await make_user()
    film = await make_movie()
    app = served.server.app
    pool, events = app[POOL], app[EVENTS]
    kept = await comments.create_comment(pool, events, user_id=alice.id, movie_id=film, body="kept")
    edited = await comments.create_comment(pool, events, user_id=alice.id, movie_id=film, body="old")
    gone = await comments.create_comment(pool, events, user_id=alice.id, movie_id=film, body="gone")
    c = await live_client(served.url, token=live_token(alice))
    first = await c.call("join", {"movie_id": film, "since": {"comment_id": gone["id"]}})
    assert first["comments"] == []
    await c.call("chat:send", {"movie_id": film, "text": "before"})
    seen_chat = (await c.wait_for("chat:message"))["id"]
    await c.sio.disconnect()

    await asyncio.sleep(0.05)
    await comments.update_comment(pool, events, user_id=alice.id, comment_id=edited["id"], body="new")
    await comments.delete_comment(pool, events, user_id=alice.id, comment_id=gone["id"])
    fresh = await comments.create_comment(pool, events, user_id=alice.id, movie_id=film, body="fresh")
    await chat.post_message(pool, movie_id=film, user_id=alice.id, text="while away")

    again = await live_client(served.url, token=live_token(alice))
    since = {"comment_id": gone["id"], "chat_id": seen_chat, "at": first["server_time"]}
    reply = await again.call("join", {"movie_id": film, "since": since})
    assert [m["text"] for m in reply["chat"]] == ["while away"]
    assert {(x["id"], x["text"]) for x in reply["comments"]} == {
        (edited["id"], "new"),
        (fresh["id"], "fresh"),
    }
    assert gone["id"] not in reply["comment_ids"] and kept["id"] in reply["comment_ids"]
    assert reply["comment_ids_complete"] is True


# --- download progress ---------------------------------------------------------------------------


async def test_download_progress_reaches_watchers_about_once_a_second(
    served, make_user, make_movie, live_client
):
    film, other = await make_movie(), await make_movie()
    page = await live_client(served.url, token=live_token(await make_user()))
    library = await live_client(served.url, token=live_token(await make_user()))
    elsewhere = await live_client(served.url, token=live_token(await make_user()))
    await page.call("join", {"movie_id": film})
    assert (await library.call("progress", {"movie_ids": [film, other]}))["ok"]
    await elsewhere.call("join", {"movie_id": other})
    events = served.server.app[EVENTS]
    for i in range(1, 21):
        payload = {"movie_id": film, "progress": i / 100, "rate": 1000 * i, "peers": 3, "ready": False}
        await events.publish("download:progress", payload, room=f"movie:{film}")
        await asyncio.sleep(0.05)
    last = await page.wait_for("download:progress", lambda p: p["progress"] == 0.2, timeout=3)
    assert last == {"movie_id": film, "progress": 0.2, "rate": 20000, "peers": 3, "ready": False}
    assert len(page.received["download:progress"]) <= 3  # coalesced, not 20
    await library.wait_for("download:progress", lambda p: p["progress"] == 0.2)
    assert not elsewhere.received["download:progress"]
    # A card that becomes visible later gets the last known figures at once.
    late = await live_client(served.url, token=live_token(await make_user()))
    known = (await late.call("progress", {"movie_ids": [film]}))["progress"]
    assert known[0]["progress"] == 0.2


# --- token lifetime ------------------------------------------------------------------------------


async def test_refreshed_sessions_stay_open_and_stale_ones_close(served, make_user, live_client):
    user = await make_user()
    short = live_token(user, ttl=60)
    kept = await live_client(served.url, token=short)
    by_event = await live_client(served.url, token=short)
    dropped = await live_client(served.url, token=short)

    # A browser tab: its page fetch carries the refreshed cookie and names its socket.
    served.session.cookie_jar.update_cookies({"access_token": live_token(user), "ht_csrf": "c" * 40})
    resp = await served.post(
        "/live/session", json={"sid": kept.sio.get_sid()}, headers={"X-CSRF-Token": "c" * 40}
    )
    assert resp.status == 200 and (await resp.json())["expires_in"] > 800
    # Someone else cannot keep another user's socket alive.
    intruder = await make_user()
    served.session.cookie_jar.update_cookies({"access_token": live_token(intruder)})
    resp = await served.post(
        "/live/session", json={"sid": dropped.sio.get_sid()}, headers={"X-CSRF-Token": "c" * 40}
    )
    assert resp.status == 404
    # A non-browser client sends its new token over the socket.
    assert (await by_event.call("auth:refresh", {"token": live_token(user)}))["ok"]
    assert (await by_event.call("auth:refresh", {"token": live_token(intruder)}))["error"][
        "code"
    ] == "unauthorized"

    await served.server.app[LIVE].close_expired(now=time.time() + 120)
    assert (await dropped.wait_for("auth:expired"))["code"] == "session_expired"
    await asyncio.wait_for(dropped.disconnected.wait(), 3)
    assert kept.sio.connected and by_event.sio.connected


async def test_session_endpoint_needs_a_signed_in_user(served):
    served.session.cookie_jar.update_cookies({"ht_csrf": "c" * 40})
    resp = await served.post(
        "/live/session", json={"sid": "abc"}, headers={"X-CSRF-Token": "c" * 40, "Accept": "application/json"}
    )
    assert resp.status == 401


async def test_party_events_of_one_socket_are_handled_in_order(served, make_user, make_movie, live_client):
    film = await make_movie()
    a = await live_client(served.url, token=live_token(await make_user()))
    b = await live_client(served.url, token=live_token(await make_user()))
    for c in (a, b):
        await c.call("join", {"movie_id": film, "party": "ordered-party"})
    # Sent back to back without waiting for answers: a play at 8 s, then a seek to 28 s.
    for _ in range(3):
        b.received["party:state"].clear()
        await a.sio.emit("party:play", {"movie_id": film, "position": 8})
        await a.sio.emit("party:seek", {"movie_id": film, "position": 28})
        await a.call("party:ready", {"movie_id": film, "position": 28})
        await b.wait_for("party:state", lambda s: s["action"] == "seek")
        states = b.received["party:state"]
        assert [s["action"] for s in states][:2] == ["play", "seek"], states
        assert states[-1]["position"] == 28
