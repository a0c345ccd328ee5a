"""The server side of Windmill's workflow-as-code (checkpoint and replay).

A workflow is a normal script job whose `main` is decorated with `@workflow`. Each run
of its body is a *round*: the `wmill` SDK replays the body from the top with the
checkpoint (`completed_steps`), returns at the first step that has not run yet, and
the round's outcome says what to do (WINDMILL.md §6): `dispatch` child jobs, `sleep`,
wait for an `approval`, record an `inline_checkpoint`, or `complete`.

Between rounds the workflow job stays in the queue but *not running* and not due
(`scheduled_for` = the year 9999): it holds no worker. A child's completion records its
checkpoint row and, once nothing is pending, makes the workflow due again — in the
transaction that completes the child. Sleeping is just a due time.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from desktop_app.core.jobs import PLAIN_ARGS, JobStatus, error_result, has_plain_args
from desktop_app.db.jsonb import storable
from desktop_app.queue import queue
from desktop_app.queue.model import ClaimedJob, NewJob
from desktop_app.queue.notify import QUEUE_CHANNEL

INTERNAL_TAG = "__internal"
#: Due "never": parked until an event (children finishing, an approval) makes it due.
#: Not 'infinity', which Python's datetime cannot hold when the job is read.
UNTIL_EVENT = datetime(9999, 1, 1, tzinfo=UTC)


async def load_checkpoint(conn: AsyncConnection[Any], workflow_id: uuid.UUID) -> dict[str, Any]:
    cur = await conn.execute("SELECT step_key, result FROM wac_checkpoints WHERE workflow_id = %s",
                             (workflow_id,))
    return {"completed_steps": {k: v for k, v in await cur.fetchall()}}


async def record_step(conn: AsyncConnection[Any], workflow_id: uuid.UUID, key: str, result: Any,
                      *, child_job: uuid.UUID | None = None, started_at: str | None = None,
                      duration_ms: int | None = None) -> bool:
    """A finished step, once: a second record of the same key is ignored."""
    cur = await conn.execute(
        "INSERT INTO wac_checkpoints (workflow_id, step_key, result, child_job, started_at,"
        " duration_ms) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
        (workflow_id, key, storable(result), child_job, started_at, duration_ms))
    return cur.rowcount > 0


async def record_inline_step(conn: AsyncConnection[Any], workspace: str, workflow_id: uuid.UUID,
                             key: str, result: Any, *, started_at: str | None = None,
                             duration_ms: int | None = None) -> bool:
    """A `step()` the running workflow recorded itself (the SDK's inline call), in one
    statement (one round trip, autocommit): False when the workflow is not running in
    `workspace`. A second record of the same key is ignored, as in `record_step`."""
    cur = await conn.execute(
        "WITH running AS (SELECT id FROM job_queue WHERE id = %(id)s AND workspace_id = %(ws)s),"
        " saved AS (INSERT INTO wac_checkpoints (workflow_id, step_key, result, started_at,"
        "                                        duration_ms)"
        "           SELECT id, %(key)s::text, %(result)s, %(started)s::timestamptz, %(ms)s::bigint"
        "             FROM running"
        "           ON CONFLICT DO NOTHING)"
        " SELECT count(*) FROM running",
        {"id": workflow_id, "ws": workspace, "key": key, "result": storable(result),
         "started": started_at, "ms": duration_ms})
    row = await cur.fetchone()
    return bool(row and row[0])


class RoundOutcome:
    """What the worker does after a round: complete the job, or nothing (suspended)."""

    def __init__(self, status: JobStatus | None, result: Any = None) -> None:
        self.status = status
        self.result = result

    @property
    def suspended(self) -> bool:
        return self.status is None


async def apply_round(conn: AsyncConnection[Any], job: ClaimedJob, payload: dict[str, Any]) -> RoundOutcome:
    rnd: dict[str, Any] = payload.get("round") or {}
    keys: list[str] = payload.get("keys") or []
    kind = rnd.get("type")
    if kind == "complete":
        return RoundOutcome(JobStatus.SUCCESS, rnd.get("result"))
    if job.extra.get("wac_checkpoint"):  # a task's child job must end in its step
        return RoundOutcome(JobStatus.FAILURE, error_result(
            "NondeterminismError", f"the replay in task job {job.id} never reached step "
            f"{job.extra['wac_checkpoint'].get('_executing_key')!r}: the workflow body calls its "
            "steps in a different order than when it was dispatched"))
    wac: dict[str, Any] = dict(job.extra.get("wac") or {})
    order: list[str] = list(wac.get("order") or [])
    for i, (expected, actual) in enumerate(zip(order, keys, strict=False)):
        if expected != actual:
            return RoundOutcome(JobStatus.FAILURE, error_result(
                "NondeterminismError",
                f"the workflow's replay diverged at step {i + 1}: expected {expected!r}, got "
                f"{actual!r}. Steps must be called in the same order on every replay; put time, "
                "randomness and I/O inside step()."))
    wac["order"] = order + keys[len(order):]
    due: datetime = UNTIL_EVENT
    if kind == "inline_checkpoint":
        await record_step(conn, job.id, rnd["key"], rnd.get("result"),
                          started_at=rnd.get("started_at"), duration_ms=rnd.get("duration_ms"))
        due = datetime.now(UTC)
    elif kind == "sleep":
        await record_step(conn, job.id, rnd["key"], None)
        due = datetime.now(UTC) + timedelta(seconds=float(rnd.get("seconds") or 1))
    elif kind == "approval":
        wac["approval"] = {"key": rnd["key"], "form": rnd.get("form"),
                           "description": rnd.get("description"),
                           # the approver rules, checked by the approve/reject links
                           "self_approval_disabled": bool(rnd.get("self_approval_disabled"))}
        if rnd.get("timeout"):
            await _timer(conn, job, datetime.now(UTC) + timedelta(seconds=float(rnd["timeout"])),
                         {"wac_timeout": rnd["key"]})
    elif kind == "dispatch":
        pending = dict(wac.get("pending") or {})
        completed = (await load_checkpoint(conn, job.id))["completed_steps"]
        for step in rnd.get("steps") or []:
            child = await _dispatch(conn, job, step, completed, wac["order"])
            pending[step["key"]] = str(child)
        wac["pending"] = pending
        if not pending:
            due = datetime.now(UTC)
    else:
        return RoundOutcome(JobStatus.FAILURE, error_result(
            "WorkflowError", f"the workflow round returned an unknown outcome {kind!r}"))
    await suspend(conn, job.id, wac, due)
    return RoundOutcome(None)


async def suspend(conn: AsyncConnection[Any], job_id: uuid.UUID, wac: dict[str, Any],
                  due: datetime) -> None:
    """Park the workflow: not running, due at `due` (UNTIL_EVENT: until an event)."""
    await conn.execute(
        "UPDATE job_queue SET running = false, worker = NULL, last_ping = NULL,"
        " scheduled_for = %s, extra = jsonb_set(extra, '{wac}', %s) WHERE id = %s",
        (due, Jsonb(wac), job_id))
    if due != UNTIL_EVENT:
        cur = await conn.execute("SELECT tag FROM job_queue WHERE id = %s", (job_id,))
        row = await cur.fetchone()
        if row:
            await conn.execute("SELECT pg_notify(%s, %s)", (QUEUE_CHANNEL, row[0]))


async def _dispatch(conn: AsyncConnection[Any], job: ClaimedJob, step: dict[str, Any],
                    completed: dict[str, Any], order: list[str]) -> uuid.UUID:
    from desktop_app.core.jobs import default_tag
    from desktop_app.db import scripts as script_store

    key = step["key"]
    common: dict[str, Any] = {
        "created_by": job.created_by, "permissioned_as": job.permissioned_as,
        "workspace_id": job.workspace_id, "parent_job": job.id,
        "root_job": job.root_job or job.id, "timeout_s": step.get("timeout"),
        # A task whose worker dies is run again once (the reaper re-queues it): a workflow
        # must not fail because a process was killed. Its own failures follow `retry`.
        "max_retries": 1,
        "extra": {"wac_key": key, "wac_name": step.get("name") or key,
                  # a task's args come from the workflow's, and so may their references
                  **({PLAIN_ARGS: True} if has_plain_args(job.extra) else {})},
    }
    kind = step.get("dispatch_type") or "inline"
    if kind == "script":
        script = await script_store.latest(conn, job.workspace_id, step.get("script") or "")
        child = NewJob(kind="script", tag=step.get("tag") or script.tag
                       or default_tag(script.language), args=step.get("args") or {},
                       script_path=script.path, script_hash=script.hash,
                       language=script.language, **common)
    elif kind == "flow":
        from desktop_app.db import flows as flow_store
        from desktop_app.flows.engine import start_flow

        flow = await flow_store.latest(conn, job.workspace_id, step.get("script") or "")
        return await start_flow(conn, NewJob(kind="flow", tag="flow", raw_flow=flow["value"],
                                             script_path=flow["path"],
                                             args=step.get("args") or {}, **common))
    else:
        # The same script, replayed up to this step, which alone runs (`_executing_key`).
        common["extra"]["wac_checkpoint"] = {"completed_steps": completed, "_executing_key": key,
                                             "_tidemill_order": order}
        child = NewJob(kind=job.kind, tag=step.get("tag") or job.tag, args=job.args,
                       script_path=job.script_path, script_hash=job.script_hash,
                       language=job.language, raw_code=job.raw_code, raw_lock=job.raw_lock,
                       **common)
    await queue.push(conn, child)
    return child.id


async def _timer(conn: AsyncConnection[Any], job: ClaimedJob, when: datetime,
                 extra: dict[str, Any]) -> None:
    await queue.push(conn, NewJob(kind="identity", tag=INTERNAL_TAG, scheduled_for=when,
                                  created_by=job.created_by, permissioned_as=job.permissioned_as,
                                  workspace_id=job.workspace_id, parent_job=job.id, extra=extra))


async def on_child_finished(conn: AsyncConnection[Any], fin: queue.Finished) -> None:
    """A job completed (the queue's `on_complete` handler): a workflow's task (or its
    approval timer) is recorded; anything else is not durable's."""
    if fin.parent_job is not None and ("wac_key" in fin.extra or "wac_timeout" in fin.extra):
        await child_done(conn, fin)


async def child_done(conn: AsyncConnection[Any], fin: queue.Finished) -> None:
    """A task's job finished: record its checkpoint; wake the workflow when nothing waits."""
    assert fin.parent_job is not None
    cur = await conn.execute("SELECT extra FROM job_queue WHERE id = %s FOR UPDATE",
                             (fin.parent_job,))
    row = await cur.fetchone()
    if row is None:
        return
    wac = dict((row[0] or {}).get("wac") or {})
    if "wac_timeout" in fin.extra:
        await _approval_timed_out(conn, fin.parent_job, wac, fin.extra["wac_timeout"])
        return
    key = fin.extra["wac_key"]
    result = fin.result_value()
    if fin.status != JobStatus.SUCCESS:
        err = (result or {}).get("error") if isinstance(result, dict) else None
        message = (err or {}).get("message") or f"task {key} {fin.status}"
        result = {"__wmill_error": True, "message": message, "step_key": key,
                  "result": {"error": err or {"name": str(fin.status), "message": message}}}
    await record_step(conn, fin.parent_job, key, result, child_job=fin.id)
    pending = dict(wac.get("pending") or {})
    pending.pop(key, None)
    wac["pending"] = pending
    await suspend(conn, fin.parent_job, wac, UNTIL_EVENT if pending else datetime.now(UTC))


async def resume_approval(conn: AsyncConnection[Any], workflow_id: uuid.UUID, key: str,
                          value: Any, approver: str | None, approved: bool) -> bool:
    cur = await conn.execute("SELECT extra, running FROM job_queue WHERE id = %s FOR UPDATE",
                             (workflow_id,))
    row = await cur.fetchone()
    if row is None:
        return False
    recorded = await record_step(conn, workflow_id, key, {
        "value": value, "approver": approver or "anonymous", "approved": approved})
    wac = dict((row[0] or {}).get("wac") or {})
    if recorded and (wac.get("approval") or {}).get("key") == key and not row[1]:
        wac.pop("approval", None)
        await suspend(conn, workflow_id, wac, datetime.now(UTC))
    return recorded


async def _approval_timed_out(conn: AsyncConnection[Any], workflow_id: uuid.UUID,
                              wac: dict[str, Any], key: str) -> None:
    if (wac.get("approval") or {}).get("key") != key:
        return  # answered in time
    # a parent flow, if any, learns of it through `complete`'s handlers
    await queue.complete(conn, workflow_id, JobStatus.FAILURE, error_result(
        "ApprovalTimeout", f"no approval for step {key!r} before its timeout"))


async def status_view(conn: AsyncConnection[Any], workflow_id: uuid.UUID,
                      extra: dict[str, Any]) -> dict[str, Any]:
    """`workflow_as_code_status`: each step with its key, child job, status and duration."""
    wac = extra.get("wac") or {}
    cur = await conn.execute(
        "SELECT c.step_key, c.child_job, c.created_at, c.duration_ms, c.result,"
        " j.started_at, j.duration_ms, j.status FROM wac_checkpoints c"
        " LEFT JOIN job_completed j ON j.id = c.child_job WHERE c.workflow_id = %s"
        " ORDER BY c.created_at", (workflow_id,))
    steps: dict[str, Any] = {}
    for key, child, created, inline_ms, result, started, dur, status in await cur.fetchall():
        failed = isinstance(result, dict) and result.get("__wmill_error")
        steps[key] = {"name": key, "job": str(child) if child else None,
                      "started_at": (started or created).isoformat(),
                      "duration_ms": dur if dur is not None else inline_ms,
                      "status": "failure" if failed else (status or "success")}
    for key, child in (wac.get("pending") or {}).items():
        steps[key] = {"name": key, "job": child, "status": "running"}
    if wac.get("approval"):
        steps[wac["approval"]["key"]] = {"name": wac["approval"]["key"], "status": "waiting"}
    return {"steps": steps, "order": wac.get("order") or list(steps)}


def round_payload(text: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(text)
    return value
