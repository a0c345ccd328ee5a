"""Refuse requests sent to a name that is not the daemon's (DNS rebinding): 421 with the
way to allow the name. The rule is desktop_app.core.hosts."""

from __future__ import annotations

import json
from typing import Any

from desktop_app.core import hosts


class HostCheck:
    """Pure ASGI middleware (outermost): nothing else runs for a refused Host."""

    def __init__(self, app: Any, allowed: frozenset[str]) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            host = next((v.decode("latin-1") for k, v in scope.get("headers", ())
                         if k == b"host"), None)
            reason = hosts.refusal(host, self.allowed)
            if reason is not None:
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return
                body = json.dumps({"error": {"name": "MisdirectedRequest",
                                             "message": reason}}).encode()
                await send({"type": "http.response.start", "status": 421,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
