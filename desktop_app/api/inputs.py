"""What a request brings: a JSON body (read with a 400 that says what is wrong, never a
500) and path parameters, both described in the OpenAPI document.

The handlers read their bodies themselves (Windmill's bodies carry fields we keep as they
come, and a few take any JSON value), so FastAPI cannot infer a schema: `documented()`
declares it through `openapi_extra`, for clients and for schemathesis.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Path, Query, Request

from desktop_app.core.errors import TooLarge, UsageError

# The routes read fields through inputs; the rules live in the definitions layer.
from desktop_app.definitions.fields import REQUEST_ONLY as REQUEST_ONLY
from desktop_app.definitions.fields import field_of as field_of
from desktop_app.definitions.fields import without_request_only as without_request_only

T = TypeVar("T")

# Checked by the handlers (a 400 or 404 that names the bad value); the examples tell
# clients (and schemathesis) that a path holds slashes.
ItemPath = Annotated[str, Path(description="u/<user>/<name> or f/<folder>/<name>",
                               examples=["f/examples/hello"])]
JobId = Annotated[str, Path(description="a job id", json_schema_extra={"format": "uuid"})]

STRING: dict[str, Any] = {"type": "string"}
NULLABLE_STRING: dict[str, Any] = {"type": ["string", "null"]}
BOOLEAN: dict[str, Any] = {"type": "boolean"}
OBJECT: dict[str, Any] = {"type": "object"}
ANY: dict[str, Any] = {}


def documented(properties: dict[str, dict[str, Any]], required: tuple[str, ...] = (),
               *, body_required: bool = True,
               example: dict[str, Any] | None = None) -> dict[str, Any]:
    """`openapi_extra` declaring a JSON object body with these properties."""
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    media: dict[str, Any] = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {"requestBody": {"required": body_required, "content": {"application/json": media}}}


def any_json(description: str) -> dict[str, Any]:
    """`openapi_extra` for a body that may be any JSON value (a run's arguments)."""
    return {"requestBody": {"required": False, "description": description,
                            "content": {"application/json": {"schema": {}}}}}


async def json_object(request: Request, *, required: bool = True) -> dict[str, Any]:
    """The body as a JSON object; an absent body is `{}` when not `required`."""
    limit = request.app.state.tidemill.max_body_bytes
    raw = await request.body()
    if len(raw) > limit:
        raise TooLarge(f"request body is {len(raw)} bytes, over the limit of {limit} bytes")
    if not raw.strip():
        if required:
            raise UsageError("this request needs a JSON object body")
        return {}
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise UsageError(f"the body is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise UsageError(f"the body must be a JSON object, not {type(value).__name__}")
    # Kept for the audit log, which names the item and a few safe fields from it.
    request.state.tidemill_body = value
    return value


@dataclass(frozen=True)
class Paging:
    """Windmill's `page`/`per_page` on a list: page 1 (and 0, as Windmill reads it) is the
    first; without `per_page` the whole list comes back, as it always did here."""

    page: int | None = None
    per_page: int | None = None

    def apply(self, rows: list[T]) -> list[T]:
        if self.per_page is None:
            return rows
        start = (max(self.page or 1, 1) - 1) * self.per_page
        return rows[start:start + self.per_page]


def paging(page: Annotated[int | None, Query(ge=0)] = None,
           per_page: Annotated[int | None, Query(ge=1, le=10_000)] = None) -> Paging:
    """FastAPI dependency: `Depends(paging)`."""
    return Paging(page, per_page)
