"""The audit log, from the API's side: every change a route makes writes its row of the
change log (definitions/changes.py) in the change's own transaction — `change()` below,
called by the route next to the change.

Operations that change no definition (users, tokens, workers, approvals, sync) are
recorded by `AuditFallback` after a 2xx answer, from the route's template and path
parameters and the body the route already parsed (`inputs.json_object` keeps it): no
body is buffered here, and the route's template — not the URL — says what it is, so an
item path holding `/preview` is audited like any other. Runs are not recorded here: a
trigger on job_queue records every run in the transaction that queues it (migration
0008). Values, code and secrets never enter the log; only the fields in _SAFE_FIELDS.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Request
from psycopg import AsyncConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from desktop_app.definitions import changes

log = logging.getLogger(__name__)

_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
# Operations (route templates) that change nothing a person would audit, or whose runs
# the job_queue trigger records.
_NOT_CHANGES = ("jobs.run", "jobs.run_wait_result", "jobs.restart", "job_metrics.set_progress",
                "jobs.wac.inline_checkpoint", "scripts.parse_schema")
_SAFE_FIELDS = ("role", "owners", "extra_perms", "label", "scope", "enabled", "mode",
                "is_secret", "remote", "is_flow", "script_path", "schedule", "username")
_RESOURCE_PARAMS = ("path", "name", "username", "job_id", "hash_")
_REF_PREFIXES = ("var://", "$res:", "res://")
BODY_KEY = "tidemill_body"  # request.state: the JSON object the route read


def operation_of(path_format: str) -> tuple[str, str]:
    """(operation, action kind) for a route: `/api/w/{workspace}/scripts/archive/p/{path}`
    → (`scripts.archive`, `Delete`)."""
    rest = path_format.removeprefix("/api/w/{workspace}/").removeprefix("/api/")
    words = [w for w in rest.split("/") if w and not w.startswith("{") and len(w) > 1]
    verb = words[-1] if words else ""
    kind = ("Created" if verb in ("create", "add", "import") else
            "Delete" if verb in ("delete", "archive", "cancel") else "Updated")
    return ".".join(words), kind


def _audited(path_format: str) -> bool:
    operation, _kind = operation_of(path_format)
    return not (path_format.startswith("/api/r/") or operation.endswith("preview")
                or any(operation == n or operation.startswith(n + ".") for n in _NOT_CHANGES))


def _parameters(request: Request, who: Any, body: Any) -> dict[str, Any]:
    parameters: dict[str, Any] = {"method": request.method}
    if isinstance(body, dict):
        parameters.update({k: body[k] for k in _SAFE_FIELDS if k in body})
    if who is not None and getattr(who, "job_id", None):
        parameters["job_id"] = who.job_id
    return parameters


async def change(conn: AsyncConnection[Any], request: Request, who: Any, kind: str,
                 path: str, action: str, *, old_path: str | None = None,
                 version: str | None = None) -> int:
    """Write the change log row of an item change made on `conn` (call it inside the
    change's transaction, after the change)."""
    route = request.scope.get("route")
    operation, action_kind = operation_of(getattr(route, "path_format", request.url.path))
    body = getattr(request.state, BODY_KEY, None)
    return await changes.record_item(
        conn, request.path_params.get("workspace") or "main", who.username, operation, kind,
        path, action, old_path=old_path, version=version, action_kind=action_kind,
        parameters=_parameters(request, who, body))


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


class AuditFallback:
    """Audits a changing request that wrote no change row itself, after its 2xx answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in _CHANGING:
            await self.app(scope, receive, send)
            return
        written: list[int] = []
        token = changes.written.set(written)

        async def send_recorded(message: Message) -> None:
            if message["type"] == "http.response.start" and 200 <= message["status"] < 300 \
                    and not written:
                try:
                    await _record(scope)
                except Exception:  # the change is made; only its audit entry is missing
                    log.exception("could not audit %s %s", scope.get("method"),
                                  scope.get("path"))
            await send(message)

        try:
            await self.app(scope, receive, send_recorded)
        finally:
            changes.written.reset(token)


async def _record(scope: Scope) -> None:
    route = scope.get("route")
    app = scope.get("app")
    state = app.state.tidemill if app is not None else None
    path_format = getattr(route, "path_format", None)
    if path_format is None or state is None or not _audited(path_format):
        return
    request_state = scope.get("state") or {}
    who = request_state.get("identity")
    body = request_state.get(BODY_KEY)
    params = scope.get("path_params") or {}
    operation, kind = operation_of(path_format)
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
        await changes.record(conn, params.get("workspace") or "global", username, operation,
                             resource, action_kind=kind, parameters=parameters)
