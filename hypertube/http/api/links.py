"""OpenAPI links: which operation a response's ids lead to."""

from __future__ import annotations

from typing import Any

FIRST_ID = "$response.body#/data/0/id"  # the first item of a page
CREATED_ID = "$response.body#/id"  # the item just created


def link(operation_id: str, **parameters: str) -> dict[str, Any]:
    """A link to `operation_id`, filling its parameters from the response."""
    return {"operationId": operation_id, "parameters": parameters}
