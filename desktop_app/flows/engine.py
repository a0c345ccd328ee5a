"""The flow engine's entry points: start a flow, apply a finished child, cancel, resume.

Every function runs inside the caller's transaction, so a flow's state and the jobs it
pushes are committed together with the event that caused them.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg import AsyncConnection

from desktop_app.core.jobs import PLAIN_ARGS, JobStatus, has_plain_args
from desktop_app.flows import approvers
from desktop_app.flows.run import FLOW_TAG, INTERNAL_TAG, FlowRun, initial_status
from desktop_app.queue import limits, queue
from desktop_app.queue.model import NewJob


async def start_flow(conn: AsyncConnection[Any], job: NewJob) -> uuid.UUID:
    """Queue a flow job (it holds no worker) and start its first step — or, when the
    flow's `concurrent_limit` is reached, park it until a slot frees."""
    job.kind, job.tag = "flow", FLOW_TAG
    job.flow_status = job.flow_status or initial_status(job.raw_flow or {})
    raw = job.raw_flow or {}
    if job.parent_job is None and raw.get("priority"):
        # Every job of the run (loops' and branches' too, through `extra`) gets it.
        job.priority = int(raw["priority"])
        job.extra = {**job.extra, limits.FLOW_PRIORITY: job.priority}
    if job.parent_job is None and raw.get("cache_ttl"):
        hit = await _cached_run(conn, job, int(raw["cache_ttl"]))
        if hit is not None:
            return hit
    limit = raw.get("concurrent_limit")
    if limit and job.parent_job is None:
        key = await _concurrency_key(conn, job)
        job.extra = {**job.extra, "concurrency_key": key}
        if await _slots_taken(conn, key, job.id, raw) >= int(limit):
            job.tag = INTERNAL_TAG  # the daemon's timer loop tries again shortly
            job.scheduled_for = datetime.now(UTC) + timedelta(seconds=_CONCURRENCY_RETRY_S)
            await queue.push(conn, job)
            return job.id
    await queue.push(conn, job)
    await conn.execute("UPDATE job_queue SET running = true, started_at = now() WHERE id = %s",
                       (job.id,))
    run = await FlowRun.load(conn, job.id)
    assert run is not None
    await run.next(0)
    await run.save()
    return job.id


_CONCURRENCY_RETRY_S = 0.25


async def _cached_run(conn: AsyncConnection[Any], job: NewJob, ttl_s: int) -> uuid.UUID | None:
    """The flow's `cache_ttl`: a successful run of the same flow with the same inputs that
    ended within the TTL gives its result; the new run completes at once with it (its id
    is returned). Otherwise the run records its key and starts (None)."""
    key = hashlib.sha256(json.dumps([job.workspace_id, job.script_path, job.raw_flow, job.args],
                                    sort_keys=True, default=str).encode()).hexdigest()
    job.extra = {**job.extra, limits.CACHE_KEY: key}
    cached = await limits.cached_result(conn, {limits.CACHE_KEY: key, limits.CACHE_TTL: ttl_s})
    if cached is None:
        return None
    job.flow_status = {**(job.flow_status or {}), "cached": True}
    await queue.push(conn, job)
    await conn.execute("UPDATE job_queue SET running = true, started_at = now() WHERE id = %s",
                       (job.id,))
    await queue.complete(conn, job.id, JobStatus.SUCCESS, None, result_json=cached)
    return job.id


async def _concurrency_key(conn: AsyncConnection[Any], job: NewJob) -> str:
    expr = (job.raw_flow or {}).get("concurrency_key")
    if expr:
        from desktop_app.flows import scope as scopes

        row = {"workspace_id": job.workspace_id, "args": job.args, "extra": {},
               "raw_flow": job.raw_flow, "permissioned_as": job.permissioned_as}
        return str(await scopes.evaluate(conn, row, str(expr), {"flow_input": job.args}))
    return f"{job.workspace_id}/{job.script_path or 'inline flow'}"


async def _slots_taken(conn: AsyncConnection[Any], key: str, self_id: uuid.UUID,
                       raw_flow: dict[str, Any]) -> int:
    # Serialize the check per key: two daemons starting runs at once must not both pass.
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (key,))
    cur = await conn.execute(
        "SELECT count(*) FROM job_queue WHERE kind = 'flow' AND tag = %s AND running"
        " AND extra ? 'concurrency_key' AND extra->>'concurrency_key' = %s AND id <> %s",
        (FLOW_TAG, key, self_id))
    row = await cur.fetchone()
    taken = int(row[0]) if row else 0
    window = int(raw_flow.get("concurrency_time_window_s") or 0)
    if window > 0:  # runs that started within the window hold their slot until it passes
        cur = await conn.execute(
            "SELECT count(*) FROM job_completed WHERE extra ? 'concurrency_key'"
            " AND extra->>'concurrency_key' = %s AND kind = 'flow'"
            " AND started_at > now() - make_interval(secs => %s)", (key, window))
        row = await cur.fetchone()
        taken += int(row[0]) if row else 0
    return taken


async def start_waiting_flow(conn: AsyncConnection[Any], job: Any) -> None:
    """A flow parked by its concurrency limit: start it if a slot is free, else wait again."""
    cur = await conn.execute("SELECT raw_flow FROM job_queue WHERE id = %s", (job.id,))
    row = await cur.fetchone()
    raw_flow = (row[0] if row else None) or {}
    limit = int(raw_flow.get("concurrent_limit") or 0)
    key = job.extra.get("concurrency_key") or ""
    if limit and await _slots_taken(conn, key, job.id, raw_flow) >= limit:
        await conn.execute(
            "UPDATE job_queue SET running = false, started_at = NULL, worker = NULL,"
            " last_ping = NULL, scheduled_for = now() + make_interval(secs => %s) WHERE id = %s",
            (_CONCURRENCY_RETRY_S, job.id))
        return
    await conn.execute(
        "UPDATE job_queue SET tag = %s, running = true, started_at = now(), worker = NULL,"
        " last_ping = NULL WHERE id = %s", (FLOW_TAG, job.id))
    run = await FlowRun.load(conn, job.id)
    if run is not None:
        await run.next(0)
        await run.save()


async def on_child_finished(conn: AsyncConnection[Any], fin: queue.Finished) -> None:
    """A job completed (the queue's `on_complete` handler): if it is a flow's child, the
    flow takes its next step. A workflow-as-code task is durable's to handle."""
    if fin.parent_job is None or "wac_key" in fin.extra or "wac_timeout" in fin.extra:
        return
    busy = FlowRun.loaded(conn, fin.parent_job)
    if busy is not None:  # the parent is still launching this child: it applies it itself
        busy.defer(fin)
        return
    run = await FlowRun.load(conn, fin.parent_job)
    if run is None:
        return  # not a flow (a script that ran another), or the flow already ended
    await run.child_done(fin)
    await run.save()


async def cancel_flow(conn: AsyncConnection[Any], flow_id: uuid.UUID, by: str,
                      reason: str | None) -> bool:
    run = await FlowRun.load(conn, flow_id)
    if run is None:
        return False
    await conn.execute("UPDATE job_queue SET canceled = true, canceled_by = %s,"
                       " canceled_reason = %s WHERE id = %s", (by, reason, flow_id))
    await run.finish(JobStatus.CANCELED, queue.canceled_result(by, reason))
    return True


async def resume_step(conn: AsyncConnection[Any], step_job_id: uuid.UUID, payload: Any,
                      who: approvers.Approver) -> str:
    """An approval for the suspend step whose job is `step_job_id`. Returns what happened:
    'resumed', 'waiting' (more approvals needed), 'early' (kept until the step ends)
    or 'gone' (the flow is no longer waiting). Forbidden when the step's approver rules
    refuse `who`."""
    parent, step_id, done = await _step_parent(conn, step_job_id)
    if parent is None:
        return "gone"
    run = await FlowRun.load(conn, parent)
    if run is None:
        return "gone"
    i = run.index_of(step_id)
    if i is not None:
        await _check_approver(run, i, who)
    if not done:
        run.state.setdefault("early_resumes", {}).setdefault(str(step_job_id), []).append(
            [payload, who.name])
        await run.save()
        return "early"
    if i is None or run.status["step"] != i or \
            run.status["modules"][i].get("type") != "WaitingForEvents":
        return "gone"
    moved = await run.resume(i, payload, who.name)
    await run.save()
    return "resumed" if moved else "waiting"


async def cancel_step(conn: AsyncConnection[Any], step_job_id: uuid.UUID,
                      who: approvers.Approver) -> bool:
    """A rejection: the flow ends as canceled (Forbidden when the rules refuse `who`)."""
    parent, step_id, _done = await _step_parent(conn, step_job_id)
    if parent is None:
        return False
    run = await FlowRun.load(conn, parent)
    if run is None:
        return False
    i = run.index_of(step_id)
    if i is not None:
        await _check_approver(run, i, who)
    name = who.name or "anonymous"
    return await cancel_flow(conn, parent, name, f"approval denied by {name}")


async def _check_approver(run: FlowRun, i: int, who: approvers.Approver) -> None:
    suspend = run.modules[i].get("suspend") or {}
    if approvers.needs_sign_in(suspend):
        approvers.check(suspend, await run.approval_groups(i), run.row["created_by"], who)


async def _step_parent(conn: AsyncConnection[Any], job_id: uuid.UUID) -> tuple[Any, Any, bool]:
    for table, done in (("job_completed", True), ("job_queue", False)):
        cur = await conn.execute(f"SELECT parent_job, extra->>'flow_step_id' FROM {table}"
                                 " WHERE id = %s", (job_id,))
        row = await cur.fetchone()
        if row is not None:
            return row[0], row[1], done
    return None, None, False


async def restart_flow(conn: AsyncConnection[Any], workspace: str, old_id: uuid.UUID,
                       step_id: str, created_by: str, permissioned_as: str) -> uuid.UUID:
    """Run a finished flow again from `step_id`: the steps before it are not run again,
    their recorded results are reused (same definition, same inputs)."""
    from desktop_app.core.errors import NotFound, UsageError
    from desktop_app.flows.run import new_flow_job

    cur = await conn.execute(
        "SELECT raw_flow, args, flow_status, script_path, extra FROM job_completed"
        " WHERE id = %s AND workspace_id = %s AND kind = 'flow'", (old_id, workspace))
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no finished flow run {old_id} in workspace {workspace!r}",
                       hint="only a completed flow run can be restarted")
    raw_flow, args, old_status, path, old_extra = row
    modules = (raw_flow or {}).get("modules") or []
    ids = [m.get("id") for m in modules]
    if step_id not in ids:
        raise UsageError(f"step {step_id!r} is not a top-level step of this flow",
                         hint=f"steps: {', '.join(map(str, ids))}")
    i = ids.index(step_id)
    old_results = ((old_status or {}).get("tidemill") or {}).get("results") or {}
    missing = [s for s in ids[:i] if s not in old_results]
    if missing:
        raise UsageError(f"cannot restart from {step_id!r}: step(s) {', '.join(missing)} before it"
                         " never produced a result in that run")
    status = initial_status(raw_flow)
    for k in range(i):
        status["modules"][k] = {**(old_status or {}).get("modules", [{}] * len(ids))[k],
                                "type": "Success"}
    status["tidemill"]["results"] = {s: old_results[s] for s in ids[:i]}
    if i > 0:
        status["tidemill"]["previous_result"] = old_results[ids[i - 1]]
    job = new_flow_job(created_by=created_by, permissioned_as=permissioned_as,
                       workspace_id=workspace, script_path=path, args=args or {},
                       raw_flow=raw_flow, flow_status=status,
                       extra={"restarted_from": {"job": str(old_id), "step": step_id},
                              # the inputs are the first run's: so is whether they may resolve
                              **({PLAIN_ARGS: True} if has_plain_args(old_extra) else {})})
    job.kind, job.tag = "flow", FLOW_TAG
    await queue.push(conn, job)
    await conn.execute("UPDATE job_queue SET running = true, started_at = now() WHERE id = %s",
                       (job.id,))
    run = await FlowRun.load(conn, job.id)
    assert run is not None
    await run.next(i)
    await run.save()
    return job.id
