"""Profiles: editing, pictures (sniffed, re-encoded, stripped), password change, other users' pages."""

from __future__ import annotations

import io

import aiohttp
import pytest
from PIL import Image

from hypertube.keys import SETTINGS
from tests.fixtures.accounts import STRONG_PASSWORD, cookie, page_csrf, post_form, register

NEW_PASSWORD = "Lantern-Orbit-Maple-93"


def image_bytes(fmt: str, size=(640, 480), *, exif: bool = False, frames: int = 1) -> bytes:
    img = Image.new("RGB", size, (200, 30, 30))
    out = io.BytesIO()
    kwargs = {}
    if exif:
        data = Image.Exif()
        data[0x010F] = "SecretCam"  # Make
        data[0x0112] = 6  # Orientation: rotate 90°
        data[0x8825] = {1: "N", 2: (48.0, 51.0, 24.0)}  # GPS
        kwargs["exif"] = data.tobytes()
    if frames > 1:
        kwargs.update(save_all=True, append_images=[Image.new("RGB", size, (0, 0, 255))] * (frames - 1))
    img.save(out, format=fmt, **kwargs)
    return out.getvalue()


async def post_profile(client, fields: dict, picture: tuple[str, bytes, str] | None = None):
    token = await page_csrf(client, "/profile")
    form = aiohttp.FormData()
    form.add_field("csrf_token", token)
    for k, v in fields.items():
        form.add_field(k, v)
    if picture:
        name, data, ctype = picture
        form.add_field("picture", data, filename=name, content_type=ctype)
    headers = {"Origin": str(client.make_url("/")).rstrip("/")}
    return await client.post("/profile", data=form, headers=headers, allow_redirects=False)


async def signed_in(client):
    resp, data = await register(client)
    assert resp.status == 303
    return {k: data[k] for k in ("email", "username", "first_name", "last_name")} | {"language": "en"}


async def test_profile_shows_own_details(accounts_client):
    data = await signed_in(accounts_client)
    text = await (await accounts_client.get("/profile")).text()
    for value in data.values():
        assert value in text
    assert "/static/img/avatar.svg" in text  # the default picture


async def test_edit_profile(accounts_client, db):
    data = await signed_in(accounts_client)
    await db.execute("UPDATE users SET email_verified = true")
    changed = data | {
        "email": "new@example.org",
        "username": "new_name",
        "first_name": "Ada M.",
        "language": "fr",
        "email_password": STRONG_PASSWORD,
    }
    resp = await post_profile(accounts_client, changed)
    assert resp.status == 303 and resp.headers["Location"] == "/profile?notice=saved"
    row = await db.fetchrow("SELECT * FROM users")
    assert (row["email"], row["username"], row["first_name"], row["language"]) == (
        "new@example.org",
        "new_name",
        "Ada M.",
        "fr",
    )
    assert row["email_verified"] is False  # a new address is not verified yet
    page = await accounts_client.get("/profile?notice=saved")
    assert '<html lang="fr"' in await page.text()


async def test_duplicate_email_or_username_in_other_case(accounts_client, make_user, db):
    other = await make_user("TakenName", email="taken@example.org")
    data = await signed_in(accounts_client)
    resp = await post_profile(accounts_client, data | {"username": "takenname"})
    assert resp.status == 400 and "already taken" in await resp.text()
    resp = await post_profile(accounts_client, data | {"email": "TAKEN@example.org"})
    assert (
        resp.status == 400 and "already uses this email" not in await resp.text()
    )  # not without the password
    resp = await post_profile(
        accounts_client, data | {"email": "TAKEN@example.org", "email_password": STRONG_PASSWORD}
    )
    assert resp.status == 400 and "already uses this email" in await resp.text()
    assert await db.fetchval("SELECT username FROM users WHERE id <> $1", other.id) == data["username"]


async def test_a_new_email_address_needs_the_current_password(accounts_client, db):
    data = await signed_in(accounts_client)
    moved = data | {"email": "thief@example.org"}
    for extra, message in (
        ({}, "Give your current password"),
        ({"email_password": "Wrong-pass-123"}, "not correct"),
    ):
        resp = await post_profile(accounts_client, moved | extra)
        assert resp.status == 400
        html = await resp.text()
        assert 'id="field-email_password-error"' in html and message in html
        assert await db.fetchval("SELECT email FROM users") == data["email"]
    # The other fields save without it; with it, the address changes.
    resp = await post_profile(accounts_client, data | {"first_name": "Renamed"})
    assert resp.status == 303
    resp = await post_profile(accounts_client, moved | {"email_password": STRONG_PASSWORD})
    assert resp.status == 303
    assert await db.fetchval("SELECT email FROM users") == "thief@example.org"


PROFILE_NASTY = [
    ("email", "", "Enter your email address."),
    ("email", "<script>alert(1)</script>", "valid email address"),
    ("username", "a", "3 to 30 letters"),
    ("username", "x'; DROP TABLE users;--", "3 to 30 letters"),
    ("username", "😀😀😀", "3 to 30 letters"),
    ("first_name", "", "This field is required."),
    ("first_name", "x" * 10_000, "at most 60"),
    ("last_name", "tab\there", "control characters"),
    ("language", "de", "offered languages"),
    ("language", "<script>", "offered languages"),
]


@pytest.mark.parametrize(("field", "value", "message"), PROFILE_NASTY)
async def test_profile_bad_input(accounts_client, db, field, value, message):
    data = await signed_in(accounts_client)
    before = dict(await db.fetchrow("SELECT * FROM users"))
    resp = await post_profile(accounts_client, data | {field: value})
    text = await resp.text()
    assert resp.status == 400 and message in text and "<script>alert" not in text
    assert dict(await db.fetchrow("SELECT * FROM users")) == before


@pytest.mark.parametrize(
    ("fmt", "ctype", "frames"),
    [("JPEG", "image/jpeg", 1), ("PNG", "image/png", 1), ("WEBP", "image/webp", 1), ("GIF", "image/gif", 3)],
)
async def test_picture_is_reencoded_resized_and_stripped(accounts_client, db, fmt, ctype, frames):
    data = await signed_in(accounts_client)
    upload = image_bytes(fmt, exif=fmt in ("JPEG", "WEBP", "PNG"), frames=frames)
    # The declared type and name are ignored: the content decides.
    resp = await post_profile(accounts_client, data, ("photo.txt", upload, "application/octet-stream"))
    assert resp.status == 303, await resp.text()
    name = await db.fetchval("SELECT picture FROM users")
    assert name and name.endswith(".webp")
    served = await accounts_client.get(f"/media/avatars/{name}")
    assert served.status == 200 and served.headers["Content-Type"] == "image/webp"
    img = Image.open(io.BytesIO(await served.read()))
    assert img.format == "WEBP" and img.size == (256, 256)
    assert not img.getexif() and "exif" not in img.info and "icc_profile" not in img.info
    page = await (await accounts_client.get("/profile")).text()
    assert f"/media/avatars/{name}" in page


async def test_new_picture_replaces_the_old_file(accounts_client, db):
    data = await signed_in(accounts_client)
    folder = accounts_client.app[SETTINGS].data_dir / "avatars"
    await post_profile(accounts_client, data, ("a.png", image_bytes("PNG"), "image/png"))
    first = await db.fetchval("SELECT picture FROM users")
    await post_profile(accounts_client, data, ("b.png", image_bytes("PNG"), "image/png"))
    second = await db.fetchval("SELECT picture FROM users")
    assert first != second
    assert sorted(p.name for p in folder.iterdir()) == [second]


def bomb() -> bytes:
    out = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("x.png", b"this is not a picture", "not a JPEG, PNG, WebP or GIF"),
        ("x.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "not a JPEG"),
        ("x.bmp", image_bytes("BMP"), "not a JPEG"),
        ("x.png", image_bytes("PNG")[:100], "not a JPEG"),
        ("big.png", b"\x89PNG" + b"0" * (5 * 1024 * 1024 + 10), "5 MB or smaller"),
        ("bomb.png", bomb, "too many pixels"),
        ("tall.png", image_bytes("PNG", size=(1, 20_000)), "at most 16,384 pixels on a side"),
    ],
)
async def test_bad_pictures_are_refused(accounts_client, db, name, data, message):
    info = await signed_in(accounts_client)
    data = data() if callable(data) else data
    resp = await post_profile(accounts_client, info, (name, data, "image/png"))
    assert resp.status == 400 and message in await resp.text()
    assert await db.fetchval("SELECT picture FROM users") is None
    folder = accounts_client.app[SETTINGS].data_dir / "avatars"
    assert not folder.exists() or not any(folder.iterdir())


async def test_avatar_route_refuses_odd_names(accounts_client):
    for name in ("..%2Fsecret_key", "x.webp", "%2e%2e", "a" * 32 + ".png"):
        resp = await accounts_client.get(f"/media/avatars/{name}")
        assert resp.status == 404


async def test_change_password(accounts_client, db):
    data = await signed_in(accounts_client)
    # A second browser signed in as the same user.
    other_family = await db.fetchval("SELECT id FROM session_families")
    resp = await post_form(
        accounts_client,
        "/profile/password",
        {"current_password": "Wrong-password-1", "password": NEW_PASSWORD},
        page="/profile",
    )
    assert resp.status == 400 and "current password is not correct" in await resp.text()
    resp = await post_form(
        accounts_client,
        "/profile/password",
        {"current_password": STRONG_PASSWORD, "password": "qwertyuiop"},
        page="/profile",
    )
    assert resp.status == 400 and "too common" in await resp.text()
    resp = await post_form(
        accounts_client,
        "/profile/password",
        {"current_password": STRONG_PASSWORD, "password": data["username"] + "-Extra-99"},
        page="/profile",
    )
    assert resp.status == 400 and "must not contain your username" in await resp.text()
    resp = await post_form(
        accounts_client,
        "/profile/password",
        {"current_password": STRONG_PASSWORD, "password": NEW_PASSWORD},
        page="/profile",
    )
    assert resp.status == 303 and resp.headers["Location"] == "/profile?notice=password_changed"
    assert (
        await db.fetchval("SELECT revoked_reason FROM session_families WHERE id = $1", other_family)
        == "password_change"
    )
    assert (
        await accounts_client.get("/profile", allow_redirects=False)
    ).status == 200  # this browser stays in
    accounts_client.session.cookie_jar.clear()
    resp = await post_form(
        accounts_client, "/login", {"username": data["username"], "password": NEW_PASSWORD}
    )
    assert resp.status == 303


async def test_other_users_page_never_shows_the_email(accounts_client, make_user):
    other = await make_user(
        "neighbour", email="secret.neighbour@example.org", first_name="Nina", last_name="Bell"
    )
    await signed_in(accounts_client)
    resp = await accounts_client.get("/users/NEIGHBOUR")
    text = await resp.text()
    assert resp.status == 200
    assert "neighbour" in text and "Nina" in text and "Bell" in text and "/static/img/avatar.svg" in text
    assert other.email not in text and "secret.neighbour" not in text
    assert (await accounts_client.get("/users/nobody_at_all")).status == 404
    assert (await accounts_client.get("/users/%3Cscript%3E")).status == 404


async def test_user_pages_need_sign_in(accounts_client, make_user):
    await make_user("neighbour")
    resp = await accounts_client.get("/users/neighbour", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"].startswith("/login")
    resp = await accounts_client.get("/profile", allow_redirects=False)
    assert resp.status == 303
    assert cookie(accounts_client, "access_token") is None
