"""Windmill's rules for turning a run request into job arguments (WINDMILL.md §3.3)."""

from __future__ import annotations

import base64
import json
from typing import Any

from fastapi import Request

from desktop_app.core.errors import ArgumentError, TooLarge, UsageError


async def request_args(request: Request, payload_b64: str | None = None) -> dict[str, Any]:
    """A JSON object body gives the args; any other body is wrapped as {"body": …};
    `include_header=a,b` copies those headers into args (lower-cased, `-` → `_`)."""
    state = request.app.state.tidemill
    if payload_b64 is not None:
        try:
            raw = base64.b64decode(payload_b64 + "=" * (-len(payload_b64) % 4), altchars=b"-_")
            value: Any = json.loads(raw)
        except (ValueError, TypeError) as exc:
            raise ArgumentError(f"'payload' must be base64 of a JSON value: {exc}",
                                field="payload") from exc
    else:
        body = await request.body()
        if len(body) > state.max_body_bytes:
            raise TooLarge(f"request body is {len(body)} bytes, over the limit of "
                           f"{state.max_body_bytes} bytes")
        if not body.strip():
            value = {}
        else:
            ctype = request.headers.get("content-type", "")
            if "json" in ctype or not ctype:
                try:
                    value = json.loads(body)
                except (ValueError, RecursionError) as exc:
                    if "json" in ctype:
                        raise UsageError(f"the body is not valid JSON: {exc}") from exc
                    value = body.decode("utf-8", "replace")
            else:
                value = body.decode("utf-8", "replace")
    wrap = request.query_params.get("wrap_body") in ("true", "1")
    args: dict[str, Any] = value if isinstance(value, dict) and not wrap else {"body": value}
    include = request.query_params.get("include_header")
    if include:
        for name in include.split(","):
            name = name.strip().lower()
            if name and name in request.headers:
                args[name.replace("-", "_")] = request.headers[name]
    include_query = request.query_params.get("include_query")
    if include_query:
        for name in include_query.split(","):
            if name in request.query_params:
                args[name] = request.query_params[name]
    return args
