"""Queue a run of a script version, and wait for a job's result."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from fastapi import Request

from desktop_app.api.access import RUN_TOKEN_KEY
from desktop_app.api.auth import Identity
from desktop_app.api.state import ApiState
from desktop_app.core.args import validate_args
from desktop_app.core.errors import ArgumentError, UsageError
from desktop_app.core.jobs import PLAIN_ARGS, JobKind, default_tag
from desktop_app.db import jobs as job_reads
from desktop_app.db.scripts import ScriptVersion
from desktop_app.queue import limits, queue
from desktop_app.queue.model import NewJob
from desktop_app.queue.waiter import wait_completed


def job_options(request: Request) -> dict[str, Any]:
    """Query options every run endpoint accepts."""
    q = request.query_params
    opts: dict[str, Any] = {}
    if "scheduled_in_secs" in q:
        try:
            secs = float(q["scheduled_in_secs"])
        except ValueError as exc:
            raise ArgumentError("'scheduled_in_secs' must be a number of seconds", field="scheduled_in_secs") from exc
        opts["scheduled_for"] = datetime.now(UTC) + timedelta(seconds=secs)
    if "scheduled_for" in q:
        try:
            opts["scheduled_for"] = datetime.fromisoformat(q["scheduled_for"].replace("Z", "+00:00"))
        except ValueError as exc:
            raise ArgumentError("'scheduled_for' must be an ISO 8601 date-time", field="scheduled_for") from exc
    if "job_id" in q:
        try:
            opts["id"] = uuid.UUID(q["job_id"])
        except ValueError as exc:
            raise ArgumentError("'job_id' must be a UUID", field="job_id") from exc
    for name in ("parent_job", "root_job"):
        if q.get(name):
            try:
                opts[name] = uuid.UUID(q[name])
            except ValueError as exc:
                raise ArgumentError(f"'{name}' must be a UUID", field=name) from exc
    if q.get("tag"):
        opts["tag"] = q["tag"]
    if q.get("retry"):
        try:
            retry = json.loads(q["retry"])
            opts["max_retries"] = int((retry.get("constant") or retry).get("attempts", 0))
        except (ValueError, AttributeError, TypeError) as exc:
            raise ArgumentError("'retry' must be a JSON retry object", field="retry") from exc
    return opts


def caller_extra(who: Identity, *, plain_args: bool | None = None,
                 supplied: Iterable[str] | None = None) -> dict[str, Any]:
    """What a job records about who supplied its arguments: whether their `$var:`/`$res:`
    strings stay text (`plain_args`: by default when the caller is a run-only token) and
    which run-only token started it (the only one that may read it back). `supplied`: the
    names the caller gave, when a definition fixed the others (an app's static inputs,
    whose references resolve)."""
    extra: dict[str, Any] = {}
    if plain_args if plain_args is not None else not who.supplies_references:
        extra[PLAIN_ARGS] = True if supplied is None else sorted(supplied)
    if who.scope == "run" and who.token_id:
        extra[RUN_TOKEN_KEY] = who.token_id
    return extra


def new_script_job(script: ScriptVersion, args: dict[str, Any], who: Identity,
                   opts: dict[str, Any], trigger_kind: str | None = None, *,
                   plain_args: bool | None = None) -> NewJob:
    if script.language == "bash":
        # Bash args are all strings; Windmill passes other values as their JSON text.
        args = {k: v if v is None or isinstance(v, str) else json.dumps(v) for k, v in args.items()}
    validate_args(script.schema or {}, args)  # ArgumentError → 400 naming the field
    settings = script.extra or {}
    job = NewJob(
        kind=JobKind.SCRIPT,
        tag=opts.pop("tag", None) or script.tag or default_tag(script.language),
        created_by=who.username,
        permissioned_as=who.permissioned_as,
        args=args,
        workspace_id=script.workspace_id,
        script_path=script.path,
        script_hash=script.hash,
        language=script.language,
        timeout_s=script.timeout_s,
        priority=int(settings.get("priority") or 0),
        trigger_kind=trigger_kind,
        extra={**caller_extra(who, plain_args=plain_args),
               **limits.job_settings(script.workspace_id, script.path, script.hash, settings,
                                     args)},
        **opts,
    )
    return job


async def push_job(state: ApiState, job: NewJob) -> uuid.UUID:
    try:
        # One statement in autocommit: the row and its wake-up in one round trip.
        async with state.pool.connection() as conn:
            await queue.push(conn, job)
    except psycopg.errors.UniqueViolation as exc:
        raise UsageError(f"a job with id {job.id} already exists") from exc
    return job.id


async def push_and_wait(state: ApiState, job: NewJob) -> dict[str, Any]:
    """Push, then wait for completion. The waiter is registered before the push so a
    job that finishes at once still wakes us."""
    fut = state.waiter.register(job.id)
    try:
        await push_job(state, job)
    except BaseException:
        state.waiter.unregister(job.id, fut)
        raise
    return await wait_completed(state, job.workspace_id, job.id, fut)


async def get_job_row(state: ApiState, workspace: str, job_id: uuid.UUID) -> dict[str, Any]:
    async with state.pool.connection() as conn:
        return await job_reads.get_job(conn, workspace, job_id)
