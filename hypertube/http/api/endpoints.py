"""The API's operation table and schemas, gathered from its users, films and comments modules."""

from __future__ import annotations

from typing import Any

from hypertube.http.api import comments, movies, users
from hypertube.http.api.core import Operation

SCHEMAS: dict[str, dict[str, Any]] = {**users.SCHEMAS, **movies.SCHEMAS, **comments.SCHEMAS}
OPERATIONS: list[Operation] = [*users.OPERATIONS, *movies.OPERATIONS, *comments.OPERATIONS]
