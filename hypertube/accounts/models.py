"""The user as the rest of the application sees it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    email: str
    first_name: str
    last_name: str
    language: str
    picture: str | None

    @classmethod
    def from_row(cls, row: Any) -> User:
        return cls(
            id=row["id"],
            username=row["username"],
            email=row["email"],
            first_name=row["first_name"],
            last_name=row["last_name"],
            language=row["language"],
            picture=row["picture"],
        )

    @property
    def picture_url(self) -> str:
        return picture_url(self.picture)

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


USER_COLUMNS = "id, username::text, email::text, first_name, last_name, language, picture"


def picture_url(picture: str | None) -> str:
    """Where a stored profile picture is served, or the default one."""
    return f"/media/avatars/{picture}" if picture else "/static/img/avatar.svg"


def author_fields(row: Any) -> dict[str, Any]:
    """The author of a comment or chat message as live payloads and pages show it, from a row with
    `author_id`, `author` (username) and `author_picture` columns."""
    return {
        "author_id": row["author_id"],
        "author": row["author"],
        "author_picture": picture_url(row["author_picture"]),
    }


def iso_utc(value: datetime) -> str:
    """A timestamp as ISO 8601 with a `Z`."""
    return value.isoformat().replace("+00:00", "Z")
