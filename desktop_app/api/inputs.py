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

from fastapi import HTTPException, Path, Query, Request

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
        raise HTTPException(413, f"request body is {len(raw)} bytes, over the limit of "
                                 f"{limit} bytes")
    if not raw.strip():
        if required:
            raise HTTPException(400, "this request needs a JSON object body")
        return {}
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise HTTPException(400, f"the body is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise HTTPException(400, f"the body must be a JSON object, not {type(value).__name__}")
    return value


def field_of(body: dict[str, Any], name: str, kind: type | tuple[type, ...],
             what: str) -> Any:
    """`body[name]` if present and not null, checked to be of `kind` (`what` names it)."""
    value = body.get(name)
    if value is None:
        return None
    # bool is an int in Python, never in JSON
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _kinds(kind)):
        raise HTTPException(400, f"'{name}' must be {what}")
    return value


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


# Fields that steer one request and describe nothing of the item: never stored, so
# `get` never echoes them back (wmill would then see a change on every later sync).
REQUEST_ONLY = frozenset({"skip_draft_deletion", "auto_parent", "deployment_message",
                          "preserve_on_behalf_of"})


def without_request_only(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if k not in REQUEST_ONLY}


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
