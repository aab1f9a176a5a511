"""Pages of API items keyed by id: the items and the cursor that fetches the next page."""

from __future__ import annotations

from typing import Any


def id_page(items: list[dict[str, Any]], more: bool) -> dict[str, Any]:
    """`{"data", "next_cursor"}`; the cursor is the last item's id when more items follow."""
    return {"data": items, "next_cursor": str(items[-1]["id"]) if more and items else None}
