"""The API's operation table and schemas, gathered from its users, films and comments modules."""

from __future__ import annotations

from typing import Any

from hypertube.http.api.comments import OPERATIONS as COMMENT_OPERATIONS
from hypertube.http.api.comments import SCHEMAS as COMMENT_SCHEMAS
from hypertube.http.api.core import Operation
from hypertube.http.api.movies import OPERATIONS as MOVIE_OPERATIONS
from hypertube.http.api.movies import SCHEMAS as MOVIE_SCHEMAS
from hypertube.http.api.recommendations import OPERATIONS as RECOMMENDATION_OPERATIONS
from hypertube.http.api.recommendations import SCHEMAS as RECOMMENDATION_SCHEMAS
from hypertube.http.api.users import OPERATIONS as USER_OPERATIONS
from hypertube.http.api.users import SCHEMAS as USER_SCHEMAS

SCHEMAS: dict[str, dict[str, Any]] = {
    **USER_SCHEMAS,
    **MOVIE_SCHEMAS,
    **COMMENT_SCHEMAS,
    **RECOMMENDATION_SCHEMAS,
}
OPERATIONS: list[Operation] = [
    *USER_OPERATIONS,
    *RECOMMENDATION_OPERATIONS,
    *MOVIE_OPERATIONS,
    *COMMENT_OPERATIONS,
]
