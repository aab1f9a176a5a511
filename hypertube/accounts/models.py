"""The user as the rest of the application sees it."""

from __future__ import annotations

from dataclasses import dataclass
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
        return f"/media/avatars/{self.picture}" if self.picture else "/static/img/avatar.svg"

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


USER_COLUMNS = "id, username::text, email::text, first_name, last_name, language, picture"
