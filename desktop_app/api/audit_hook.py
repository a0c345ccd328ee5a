"""The audit log of changes: an ASGI middleware that, after any request that changes
something answered 2xx, records who did what to which item.

One place instead of a call in every route, so a new route is audited without anyone
remembering to: the operation is named after the route (`variables.update`), the item is
the route's path parameter or the body's `path`/`name`/`username`. Runs are not recorded
here: a trigger on job_queue records every run in the transaction that queues it
(migration 0008), whatever queued it. Values, code and secrets never enter the log; only
the fields named in _SAFE_FIELDS are kept as parameters.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
# Routes that change nothing a person would audit, or whose runs the trigger records.
_NOT_CHANGES = ("/jobs/run/", "/jobs/run_wait_result/", "/jobs/restart/", "/preview",
                "/job_metrics/set_progress/", "/jobs/wac/inline_checkpoint/", "/api/r/")
_SAFE_FIELDS = ("role", "owners", "extra_perms", "label", "scope", "enabled", "mode",
                "is_secret", "remote", "is_flow", "script_path", "schedule", "username")
_RESOURCE_PARAMS = ("path", "name", "username", "job_id", "hash_")
_REF_PREFIXES = ("var://", "$res:", "res://")


def operation_of(path_format: str) -> tuple[str, str]:
    """(operation, action kind) for a route: `/api/w/{workspace}/scripts/archive/p/{path}`
    → (`scripts.archive`, `Delete`)."""
    rest = path_format.removeprefix("/api/w/{workspace}/").removeprefix("/api/")
    words = [w for w in rest.split("/") if w and not w.startswith("{") and len(w) > 1]
    verb = words[-1] if words else ""
    kind = ("Created" if verb in ("create", "add", "import") else
            "Delete" if verb in ("delete", "archive", "cancel") else "Updated")
    return ".".join(words), kind


def _resource(path_params: dict[str, Any], body: Any) -> str | None:
    for name in _RESOURCE_PARAMS:
        value = path_params.get(name)
        if isinstance(value, str) and value:
            for prefix in _REF_PREFIXES:
                value = value.removeprefix(prefix)
            return value
    if isinstance(body, dict):
        for name in ("path", "name", "username"):
            if isinstance(body.get(name), str) and body[name]:
                return str(body[name])
    return None


class AuditHook:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if scope.get("method") not in _CHANGING or not path.startswith("/api/") or \
                any(marker in path for marker in _NOT_CHANGES):
            await self.app(scope, receive, send)
            return
        body = bytearray()

        async def receive_body() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                body.extend(message.get("body", b""))
            return message

        async def send_recorded(message: Message) -> None:
            if message["type"] == "http.response.start" and 200 <= message["status"] < 300:
                try:
                    await _record(scope, bytes(body))
                except Exception:  # the change is made; only its audit entry is missing
                    log.exception("could not audit %s %s", scope.get("method"), path)
            await send(message)

        await self.app(scope, receive_body, send_recorded)


async def _record(scope: Scope, raw: bytes) -> None:
    from desktop_app.db.users import audit

    route = scope.get("route")
    app = scope.get("app")
    state = app.state.tidemill if app is not None else None
    if route is None or state is None:
        return
    who = (scope.get("state") or {}).get("identity")
    params = scope.get("path_params") or {}
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = None
    operation, kind = operation_of(getattr(route, "path_format", route.path))
    parameters: dict[str, Any] = {"method": scope["method"]}
    if isinstance(body, dict):
        parameters.update({k: body[k] for k in _SAFE_FIELDS if k in body})
    if who is None:  # a signed approval link: no token, the approver names themself
        query = dict(p.split("=", 1) for p in scope.get("query_string", b"").decode()
                     .split("&") if "=" in p)
        username = f"approval link ({query.get('approver') or 'anonymous'})"
    else:
        username = who.username
        if who.job_id:
            parameters["job_id"] = who.job_id
    resource = _resource(params, body)
    if resource is None and operation == "users.tokens.create":
        resource = username  # a token for oneself
    async with state.pool.connection() as conn:
        await audit(conn, params.get("workspace") or "global", username, operation, kind,
                    resource, parameters)
