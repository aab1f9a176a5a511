"""JSON Schema pieces of the API and a small validator for the subset the API's inputs use.

The same dictionaries go into the OpenAPI document and check incoming bodies and query strings, so
the spec and the checks cannot disagree."""

from __future__ import annotations

import math
import re
from typing import Any

from hypertube.http.routing import MAX_ID

ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
DATETIME = {"type": "string", "format": "date-time"}


def obj(required: list[str] | None = None, **properties: dict) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = required
    return schema


def string(min_length: int | None = None, max_length: int | None = None, **extra) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", **extra}
    if min_length is not None:
        schema["minLength"] = min_length
    if max_length is not None:
        schema["maxLength"] = max_length
    return schema


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "type": [schema["type"], "null"]}


def page_of(item_ref: str) -> dict[str, Any]:
    return obj(
        ["data", "next_cursor"],
        data={"type": "array", "items": {"$ref": item_ref}},
        next_cursor={
            "type": ["string", "null"],
            "description": "Pass as `cursor` to get the next page; null on the last page.",
        },
    )


# "2" and "2.0" are the same integer to JSON Schema.
_INTEGER = re.compile(r"(-?[0-9]{1,20})(?:\.0*)?", re.ASCII)


class Invalid(ValueError):
    """A value breaks its schema; `field` is the dotted path to it (None for the whole body)."""

    def __init__(self, field: str | None, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def _types(schema: dict[str, Any]) -> list[str]:
    t = schema.get("type", [])
    return [t] if isinstance(t, str) else list(t)


def _type_ok(value: Any, kind: str) -> bool:
    if kind == "null":
        return value is None
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        if isinstance(value, float):
            return value.is_integer()
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    return False


_NAMES = {"string": "text", "integer": "a whole number", "number": "a number", "null": "null"}


def validate(value: Any, schema: dict[str, Any], field: str | None = None) -> Any:
    """Checks `value` against `schema`; returns it or raises Invalid naming the field at fault."""
    kinds = _types(schema)
    if kinds and not any(_type_ok(value, k) for k in kinds):
        if "object" in kinds:
            raise Invalid(field, "The body must be a JSON object.")
        wanted = " or ".join(_NAMES.get(k, k) for k in kinds)
        raise Invalid(field, f"`{field}` must be {wanted}.")
    if isinstance(value, float) and value.is_integer() and "integer" in kinds:
        value = int(value)  # JSON Schema counts 3.0 as an integer
    if "enum" in schema and value not in schema["enum"]:
        raise Invalid(field, f"`{field}` must be one of: {', '.join(map(str, schema['enum']))}.")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            raise Invalid(field, f"`{field}` is too short.")
        if len(value) > schema.get("maxLength", math.inf):
            raise Invalid(field, f"`{field}` is too long.")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            raise Invalid(field, f"`{field}` is malformed.")
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if value < schema.get("minimum", -math.inf) or value > schema.get("maximum", math.inf):
            raise Invalid(field, f"`{field}` is out of range.")
    elif isinstance(value, dict):
        props = schema.get("properties", {})
        if schema.get("additionalProperties") is False:
            for key in value:
                if key not in props:
                    raise Invalid(str(key), f"Unknown field `{key}`.")
        for key in schema.get("required", []):
            if key not in value:
                raise Invalid(key, f"`{key}` is required.")
        if len(value) < schema.get("minProperties", 0):
            raise Invalid(None, "Send at least one field to change.")
        for key, sub in props.items():
            if key in value:
                value[key] = validate(value[key], sub, key)
    return value


def parse_query_value(raw: str, schema: dict[str, Any], name: str) -> Any:
    """Turns a query-string value into the schema's type, then validates it."""
    raw = raw.replace("\x00", "")
    if any(0xD800 <= ord(c) <= 0xDFFF for c in raw):
        raise Invalid(name, f"`{name}` contains characters that are not allowed.")
    kinds = _types(schema)
    value: Any = raw
    if "integer" in kinds:
        match = _INTEGER.fullmatch(raw)
        if match is None:
            raise Invalid(name, f"`{name}` must be a whole number.")
        value = int(match.group(1))
    elif "number" in kinds:
        try:
            value = float(raw)
        except ValueError:
            raise Invalid(name, f"`{name}` must be a number.") from None
        if not math.isfinite(value):
            raise Invalid(name, f"`{name}` must be a number.")
    return validate(value, schema, name)
