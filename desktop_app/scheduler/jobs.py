"""Build the jobs a schedule starts: its runs and its handlers."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from desktop_app.core.errors import UsageError
from desktop_app.core.http_routes import EVENT_ARG
from desktop_app.core.jobs import JobKind, default_tag
from desktop_app.db import flows as flow_store
from desktop_app.db import scripts as script_store
from desktop_app.flows.engine import start_flow
from desktop_app.flows.run import new_flow_job
from desktop_app.queue import queue
from desktop_app.queue.model import NewJob


def retries(retry: Any) -> int:
    """Attempts of Windmill's Retry object ({constant: {attempts, seconds}, exponential: …})."""
    if not isinstance(retry, dict):
        return 0
    for key in ("constant", "exponential"):
        part = retry.get(key)
        if isinstance(part, dict) and isinstance(part.get("attempts"), int):
            return max(int(part["attempts"]), 0)
    return 0


async def push_item(conn: AsyncConnection[Any], *, workspace: str, path: str, is_flow: bool,
                    args: dict[str, Any], created_by: str, permissioned_as: str,
                    trigger_path: str, schedule_path: str | None,
                    scheduled_for: datetime | None = None, tag: str | None = None,
                    max_retries: int = 0, extra: dict[str, Any] | None = None,
                    trigger_kind: str | None = "schedule",
                    event: dict[str, Any] | None = None) -> uuid.UUID:
    """Queue a run of the script or flow at `path` in the caller's transaction.

    With `event` (an event trigger's), a Python script that has a `preprocessor` gets the
    event instead of `args` and turns it into main's arguments itself."""
    common: dict[str, Any] = dict(
        created_by=created_by, permissioned_as=permissioned_as, workspace_id=workspace,
        script_path=path, trigger_kind=trigger_kind, trigger_path=trigger_path,
        schedule_path=schedule_path, scheduled_for=scheduled_for, extra=extra or {})
    if is_flow:
        flow = await flow_store.latest(conn, workspace, path)
        job = new_flow_job(args=args, raw_flow=flow["value"], **common)
        return await start_flow(conn, job)
    script = await script_store.latest(conn, workspace, path)
    if event is not None and script.has_preprocessor and script.language == "python3":
        args = {EVENT_ARG: event}  # the worker's wrapper hands it to preprocessor(event)
    if script.language == "bash":
        args = {k: v if v is None or isinstance(v, str) else json.dumps(v) for k, v in args.items()}
    job = NewJob(kind=JobKind.SCRIPT, tag=tag or script.tag or default_tag(script.language),
                 args=args, script_hash=script.hash, language=script.language,
                 timeout_s=script.timeout_s, max_retries=max_retries, **common)
    return await queue.push(conn, job)


def handler_target(prefixed: str) -> tuple[str, bool]:
    """'script/f/x' → ('f/x', False); 'flow/f/x' → ('f/x', True); a bare path is a script."""
    kind, sep, rest = prefixed.partition("/")
    if sep and kind in ("script", "flow") and rest:
        return rest, kind == "flow"
    if prefixed.startswith(("f/", "u/", "g/")):
        return prefixed, False
    raise UsageError(f"handler path {prefixed!r} must start with 'script/' or 'flow/'")
