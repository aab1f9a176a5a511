"""API operations on users: list, read, and change your own account (the profile page's rules)."""

from __future__ import annotations

from typing import Any

from hypertube.accounts import profile, users
from hypertube.accounts.messages import N_
from hypertube.accounts.models import User
from hypertube.accounts.passwords import MAX_LENGTH as PASSWORD_MAX
from hypertube.accounts.passwords import MIN_LENGTH as PASSWORD_MIN
from hypertube.accounts.passwords import verify_password
from hypertube.accounts.profile import PictureLoader, ProfileChanges
from hypertube.accounts.validation import Taken, ValidationError
from hypertube.http.accounts.limits import TOO_MANY, limited
from hypertube.http.accounts.workers import outbox
from hypertube.http.api.core import (
    API_PREFIX,
    Call,
    Operation,
    Reply,
    cursor_param,
    limit_param,
    parse_cursor,
)
from hypertube.http.api.links import FIRST_ID, link
from hypertube.http.api.paging import id_page
from hypertube.http.api.pictures import download_picture
from hypertube.http.api.schema import ID, nullable, obj, string
from hypertube.http.errors import ApiError
from hypertube.http.ratelimit import enforce
from hypertube.i18n import gettext as _
from hypertube.keys import POOL, SETTINGS

SCHEMAS: dict[str, dict[str, Any]] = {
    "UserSummary": obj(["id", "username"], id=ID, username=string()),
    "User": obj(
        ["id", "username", "first_name", "last_name", "picture_url"],
        id=ID,
        username=string(),
        first_name=string(),
        last_name=string(),
        picture_url=string(description="Absolute https URL or a path on this server."),
        email={**string(format="email"), "description": "Only on your own account."},
    ),
}
STEP_UP_NEEDED = N_("Give your current password (current_password) to change your email or password.")
STEP_UP_WRONG = N_("Your current password is not correct.")
STEP_UP_NO_PASSWORD = N_("This account has no password yet: set one on your profile page first.")
STEP_UP_LIMIT, STEP_UP_WINDOW = 10, 900
# The API names the picture by where it is fetched from.
API_FIELDS = {"picture": "picture_url"}


async def list_users(call: Call) -> Reply:
    after = parse_cursor(call.query) or 0
    limit = call.query["limit"]
    rows = await users.usernames_after(call.app[POOL], after, limit + 1)
    items = [{"id": user_id, "username": username} for user_id, username in rows[:limit]]
    return Reply(id_page(items, len(rows) > limit))


async def _existing(call: Call, user_id: int) -> User:
    found = await users.by_id(call.app[POOL], user_id)
    if found is None:
        raise ApiError(404, "No such user.", code="not_found")
    return found


def _public(call: Call, user: User) -> dict[str, Any]:
    public = {
        "id": user.id,
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "picture_url": user.picture_url,
    }
    if user.id == call.user_id:
        public["email"] = user.email
    return public


async def get_user(call: Call) -> Reply:
    return Reply(_public(call, await _existing(call, call.path["id"])))


def _picture_from(call: Call, url: str) -> PictureLoader:
    async def load() -> bytes:
        return await download_picture(call.app, url)

    return load


def _changes(call: Call) -> ProfileChanges:
    body = call.body
    url = body.get("picture_url")
    return ProfileChanges(
        username=body.get("username"),
        email=body["email"].strip() if "email" in body else None,
        password=body.get("password"),
        picture=_picture_from(call, url) if url is not None else None,
        remove_picture="picture_url" in body and url is None,
    )


async def _check_step_up(call: Call, current: User) -> None:
    """A new password or email needs the current password: a token alone (a stolen session, a leaked
    client secret) must not be enough to take the account over."""
    body = call.body
    new_email = "email" in body and body["email"].strip().lower() != current.email.lower()
    if "password" not in body and not new_email:
        return
    await enforce(call.request, f"api_password:{current.id}", limit=STEP_UP_LIMIT, window=STEP_UP_WINDOW)
    given = body.get("current_password")
    if not given:
        raise ApiError(422, _(STEP_UP_NEEDED), code="validation_error", field="current_password")
    stored = await users.password_hash_of(call.app[POOL], current.id)
    if stored is None:
        raise ApiError(403, _(STEP_UP_NO_PASSWORD), code="forbidden", field="current_password")
    if not await verify_password(given, stored, call.app[SETTINGS].bcrypt_cost):
        raise ApiError(403, _(STEP_UP_WRONG), code="forbidden", field="current_password")


async def patch_user(call: Call) -> Reply:
    """The profile page's rules and effects (hypertube.accounts.profile), a confirmation mail included."""
    current = await _existing(call, call.path["id"])
    if current.id != call.user_id:
        raise ApiError(403, "You can only change your own account.", code="forbidden")
    await _check_step_up(call, current)
    if call.body.get("picture_url") is not None and (
        wait := await limited(call.request, ("picture_user", str(current.id)))
    ):
        raise ApiError(429, _(TOO_MANY), code="rate_limited", headers={"Retry-After": str(wait)})
    try:
        updated = await profile.update_profile(
            call.app[POOL], outbox(call.app), call.app[SETTINGS], current, _changes(call)
        )
    except ValidationError as exc:
        field = API_FIELDS.get(exc.field, exc.field)
        if isinstance(exc, Taken):
            raise ApiError(409, _(exc.message), code="conflict", field=field) from None
        raise ApiError(422, _(exc.message), code="validation_error", field=field) from None
    return Reply(_public(call, updated))


P = API_PREFIX
OPERATIONS: list[Operation] = [
    Operation(
        "GET",
        f"{P}/users",
        list_users,
        "listUsers",
        "List users",
        "users",
        {200: ("A page of users, oldest first.", "UserPage")},
        query=[limit_param(), cursor_param("Opaque cursor from `next_cursor`.")],
        links={200: {"GetUser": link("getUser", id=FIRST_ID)}},
    ),
    Operation(
        "GET",
        f"{P}/users/{{id}}",
        get_user,
        "getUser",
        "Get a user",
        "users",
        {200: ("The user; `email` only on your own account.", "User")},
    ),
    Operation(
        "PATCH",
        f"{P}/users/{{id}}",
        patch_user,
        "updateUser",
        "Change your account",
        "users",
        {
            200: ("The updated user.", "User"),
            403: ("This is not your account.", None),
            409: ("The username or email is already taken.", None),
        },
        body={
            **obj(
                None,
                username=string(3, 30, pattern="^[A-Za-z0-9_.-]{3,30}$"),
                email=string(3, 254, format="email"),
                password=string(
                    PASSWORD_MIN,
                    PASSWORD_MAX,
                    description="Not a common password, and not containing your username or email.",
                ),
                current_password=string(
                    1,
                    PASSWORD_MAX,
                    description="Your current password: needed to change `password` or `email` (an account "
                    "made through a sign-in provider sets a password on its profile page first).",
                ),
                picture_url={
                    **nullable(string(8, 2000, format="uri", pattern="^https?://")),
                    "description": "An https URL of a JPEG, PNG, WebP or GIF of at most 5 MB, fetched once and "
                    "stored here; null goes back to the default picture.",
                },
            ),
            "minProperties": 1,
        },
    ),
]
