"""Signed approval links, shared by flow suspend steps and workflow-as-code approvals.

A link carries an HMAC of what it approves (the caller's `subject`, e.g. job, step and
approver), made with the database's job-token key: no session is needed to use it, and
it cannot be forged or pointed at another job.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any
from urllib.parse import quote

from fastapi import Request

from desktop_app.core.errors import ArgumentError, Forbidden, UsageError


def sign(key: str, subject: str) -> str:
    return hmac.new(key.encode(), subject.encode(), hashlib.sha256).hexdigest()


def urls(request: Request, workspace: str, tail: str, approver: str | None, *,
         page: str, resume: str, cancel: str) -> dict[str, str]:
    """Windmill's {approvalPage, resume, cancel} for `tail` (ids and signature), on the
    daemon's public URL: never on the request's Host, which its sender chooses."""
    base = request.app.state.tidemill.public_url.rstrip("/")
    full = tail + (f"?approver={quote(approver)}" if approver else "")
    return {"approvalPage": f"{base}/approve/{workspace}/{page}{full}",
            "resume": f"{base}/api/w/{workspace}/jobs_u/{resume}/{full}",
            "cancel": f"{base}/api/w/{workspace}/jobs_u/{cancel}/{full}"}


def check(key: str, subject: str, signature: str) -> None:
    # As bytes: compare_digest refuses str with non-ASCII characters.
    if not hmac.compare_digest(sign(key, subject).encode(),
                               signature.encode("utf-8", "replace")):
        raise Forbidden("invalid signature: this approval link was not issued by this"
                        " Tidemill (or was altered)")


async def payload(request: Request, payload_b64: str | None) -> Any:
    """The approver's answer: `?payload=` (base64 JSON) or a POST's JSON body."""
    if payload_b64 is not None:
        try:
            return json.loads(base64.b64decode(payload_b64 + "=" * (-len(payload_b64) % 4)))
        except (ValueError, RecursionError) as exc:
            raise ArgumentError("'payload' must be base64 of JSON", field="payload") from exc
    if request.method == "POST":
        raw = await request.body()
        try:
            return json.loads(raw) if raw.strip() else None
        except (ValueError, RecursionError) as exc:
            raise UsageError(f"the body is not valid JSON: {exc}") from exc
    return None
