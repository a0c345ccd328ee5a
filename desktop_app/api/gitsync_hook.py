"""The post-change hook: an ASGI middleware that, after a request that changes an item
answered 2xx, queues that item for its Git commit (see recorder.py).

One place instead of a call in every route: the routes stay as they are, and a new
changing route is one line in ``_ROUTES``. The request body is read as it streams by
(the path of a created item is in it); nothing waits for Git.
"""

from __future__ import annotations

import json
import logging
import os
import re
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

# (method, URL pattern after /api/w/{ws}/, kind, action); `p` is the item path in the URL,
# else the path is the body's "path" (or "name" for resource types).
_ROUTES: list[tuple[str, re.Pattern[str], str, str]] = [
    (m, re.compile(p), k, a) for m, p, k, a in (
        ("POST", r"scripts/create", "script", "deploy"),
        ("POST", r"scripts/archive/p/(?P<p>.+)", "script", "delete"),
        ("POST", r"flows/create", "flow", "deploy"),
        ("POST", r"flows/update/(?P<p>.+)", "flow", "update"),
        ("POST", r"flows/archive/(?P<p>.+)", "flow", "delete"),
        ("DELETE", r"flows/delete/(?P<p>.+)", "flow", "delete"),
        ("POST", r"variables/create", "variable", "create"),
        ("POST", r"variables/update/(?P<p>.+)", "variable", "update"),
        ("DELETE", r"variables/delete/(?P<p>.+)", "variable", "delete"),
        ("POST", r"resources/create", "resource", "create"),
        ("POST", r"resources/update_value/(?P<p>.+)", "resource", "update"),
        ("POST", r"resources/update/(?P<p>.+)", "resource", "update"),
        ("DELETE", r"resources/delete/(?P<p>.+)", "resource", "delete"),
        ("POST", r"resources/type/create", "resource_type", "create"),
        ("POST", r"schedules/create", "schedule", "create"),
        ("POST", r"schedules/update/(?P<p>.+)", "schedule", "update"),
        ("POST", r"schedules/setenabled/(?P<p>.+)", "schedule", "update"),
        ("DELETE", r"schedules/delete/(?P<p>.+)", "schedule", "delete"),
        ("POST", r"apps/create", "app", "create"),
        ("POST", r"apps/update/(?P<p>.+)", "app", "update"),
        ("DELETE", r"apps/delete/(?P<p>.+)", "app", "delete"),
        *((m, p.replace("KIND", k), f"{k}_trigger", a)
          for k in ("http", "websocket", "postgres", "mqtt", "email")
          for m, p, a in (("POST", r"KIND_triggers/create", "create"),
                          ("POST", r"KIND_triggers/update/(?P<p>.+)", "update"),
                          ("POST", r"KIND_triggers/setenabled/(?P<p>.+)", "update"),
                          ("POST", r"KIND_triggers/setmode/(?P<p>.+)", "update"),
                          ("DELETE", r"KIND_triggers/delete/(?P<p>.+)", "delete"))),
        ("POST", r"folders/create", "folder", "create"),
        ("POST", r"folders/update/(?P<p>.+)", "folder", "update"),
        ("DELETE", r"folders/delete/(?P<p>.+)", "folder", "delete"),
    )]
_PREFIX = re.compile(r"^/api/w/(?P<ws>[^/]+)/(?P<rest>.+)$")
_REF_PREFIXES = ("var://", "$res:", "res://")


def match(method: str, url_path: str) -> tuple[str, str, str, str | None] | None:
    """(workspace, kind, action, path in the URL) of a changing request, else None."""
    m = _PREFIX.match(url_path)
    if not m:
        return None
    for verb, pattern, kind, action in _ROUTES:
        if verb == method:
            hit = pattern.fullmatch(m["rest"])
            if hit:
                path = hit.groupdict().get("p")
                for prefix in _REF_PREFIXES:
                    if path and path.startswith(prefix):
                        path = path[len(prefix):]
                return m["ws"], kind, action, path
    return None


class GitSyncHook:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # TIDEMILL_GITSYNC=off: no commits (e.g. to measure what they cost).
        self.enabled = os.environ.get("TIDEMILL_GITSYNC", "on").lower() not in ("off", "0")
        self.opened = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.enabled and not self.opened and scope["type"] == "http" and "app" in scope:
            # The first request (the daemon's readiness check) opens the repository, so
            # its first commit is made before changes arrive.
            from desktop_app.gitsync.recorder import recorder_of

            self.opened = True
            recorder_of(scope["app"].state.tidemill).open_soon()
        hit = match(scope.get("method", ""), scope.get("path", "")) \
            if scope["type"] == "http" and self.enabled else None
        if hit is None:
            await self.app(scope, receive, send)
            return
        body = bytearray()

        async def receive_body() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                body.extend(message.get("body", b""))
            return message

        async def send_queued(message: Message) -> None:
            # Queued before the client hears of the change: commits follow request order.
            if message["type"] == "http.response.start" and 200 <= message["status"] < 300:
                try:
                    await _record(scope, hit, bytes(body))
                except Exception:  # the change is made; only its commit is missing
                    log.exception("could not queue %s for Git", scope.get("path"))
            await send(message)

        await self.app(scope, receive_body, send_queued)


async def _record(scope: Scope, hit: tuple[str, str, str, str | None], body: bytes) -> None:
    from desktop_app.api.auth import authenticate
    from desktop_app.gitsync.recorder import Change, recorder_of

    workspace, kind, action, url_path = hit
    from desktop_app.gitsync.recorder import WORKSPACE

    if workspace != WORKSPACE:
        return
    data: Any = {}
    if body:
        try:
            data = json.loads(body)
        except ValueError:
            data = {}
    new_path = data.get("name" if kind in ("resource_type", "folder") else "path") \
        if isinstance(data, dict) else None
    path = new_path if isinstance(new_path, str) and new_path else url_path
    if not path:
        return
    request = Request(scope)
    who = await authenticate(request)
    old = url_path if (kind in ("variable", "resource", "app") or kind.endswith("_trigger")) \
        and url_path != path else None
    recorder_of(request.app.state.tidemill).record(Change(kind, path, action, who.username, old))
