"""API operation for a user's recommendation rows (one's own only)."""

from __future__ import annotations

from typing import Any

from hypertube.catalog.recommendations import Row, recommendation_rows
from hypertube.http.api.core import API_PREFIX, Call, Operation, Reply
from hypertube.http.api.schema import ID, obj, string
from hypertube.http.errors import ApiError
from hypertube.keys import POOL

KINDS = ["because_you_watched", "people_like_you", "popular_in_genres"]
SCHEMAS: dict[str, dict[str, Any]] = {
    "RecommendationRow": obj(
        ["kind", "seed", "genres", "movies"],
        kind={
            "type": "string",
            "enum": KINDS,
            "description": "because_you_watched: films like `seed`; people_like_you: popular with people "
            "who watch what you watch; popular_in_genres: popular films in the genres of your first picks.",
        },
        seed={
            "oneOf": [obj(["id", "name"], id=ID, name=string()), {"type": "null"}],
            "description": "The film a because_you_watched row is about; null for the other rows.",
        },
        genres={"type": "array", "items": string()},
        movies={"type": "array", "items": {"$ref": "#/components/schemas/MovieSummary"}},
    ),
    "Recommendations": obj(
        ["rows"], rows={"type": "array", "items": {"$ref": "#/components/schemas/RecommendationRow"}}
    ),
}


def _row(row: Row) -> dict[str, Any]:
    return {
        "kind": row.kind,
        "seed": {"id": row.seed["id"], "name": row.seed["title"]} if row.seed else None,
        "genres": row.genres,
        "movies": [
            {"id": m["id"], "name": m["title"], "year": m["year"], "rating": m["rating"]} for m in row.movies
        ],
    }


async def get_recommendations(call: Call) -> Reply:
    if call.path["id"] != call.user_id:
        raise ApiError(403, "You can only read your own recommendations.", code="forbidden")
    rows = await recommendation_rows(call.app[POOL], call.user_id)
    return Reply({"rows": [_row(r) for r in rows]})


OPERATIONS: list[Operation] = [
    Operation(
        "GET",
        f"{API_PREFIX}/users/{{id}}/recommendations",
        get_recommendations,
        "getRecommendations",
        "Your recommendations",
        "users",
        {
            200: (
                "Rows of films you have not watched, best first; empty before you start a film.",
                "Recommendations",
            ),
            403: ("These are not your recommendations.", None),
        },
    ),
]
