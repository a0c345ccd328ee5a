"""The flow engine's entry points: start a flow, apply a finished child, cancel, resume.

Every function runs inside the caller's transaction, so a flow's state and the jobs it
pushes are committed together with the event that caused them.
"""

from __future__ import annotations

import uuid
from typing import Any

from psycopg import AsyncConnection

from desktop_app.core.jobs import JobStatus
from desktop_app.flows.run import FLOW_TAG, FlowRun, initial_status
from desktop_app.queue import queue
from desktop_app.queue.model import NewJob


async def start_flow(conn: AsyncConnection[Any], job: NewJob) -> uuid.UUID:
    """Queue a flow job (it holds no worker) and start its first step."""
    job.kind, job.tag = "flow", FLOW_TAG
    job.flow_status = job.flow_status or initial_status(job.raw_flow or {})
    await queue.push(conn, job)
    await conn.execute("UPDATE job_queue SET running = true, started_at = now() WHERE id = %s",
                       (job.id,))
    run = await FlowRun.load(conn, job.id)
    assert run is not None
    await run.next(0)
    await run.save()
    return job.id


async def on_finished(conn: AsyncConnection[Any], fin: queue.Finished | None) -> None:
    """A job completed: if it is a flow's child, the flow takes its next step."""
    if fin is None or fin.parent_job is None:
        return
    if "wac_key" in fin.extra or "wac_timeout" in fin.extra:  # a workflow-as-code task
        from desktop_app.durable.engine import child_done

        await child_done(conn, fin)
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
                      approver: str | None) -> str:
    """An approval for the suspend step whose job is `step_job_id`. Returns what happened:
    'resumed', 'waiting' (more approvals needed), 'early' (kept until the step ends)
    or 'gone' (the flow is no longer waiting)."""
    parent, step_id, done = await _step_parent(conn, step_job_id)
    if parent is None:
        return "gone"
    run = await FlowRun.load(conn, parent)
    if run is None:
        return "gone"
    if not done:
        run.state.setdefault("early_resumes", {}).setdefault(str(step_job_id), []).append(
            [payload, approver])
        await run.save()
        return "early"
    i = run.index_of(step_id)
    if i is None or run.status["step"] != i or \
            run.status["modules"][i].get("type") != "WaitingForEvents":
        return "gone"
    moved = await run.resume(i, payload, approver)
    await run.save()
    return "resumed" if moved else "waiting"


async def cancel_step(conn: AsyncConnection[Any], step_job_id: uuid.UUID, approver: str | None) -> bool:
    parent, _step, _done = await _step_parent(conn, step_job_id)
    if parent is None:
        return False
    who = approver or "anonymous"
    return await cancel_flow(conn, parent, who, f"approval denied by {who}")


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
        "SELECT raw_flow, args, flow_status, script_path FROM job_completed"
        " WHERE id = %s AND workspace_id = %s AND kind = 'flow'", (old_id, workspace))
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no finished flow run {old_id} in workspace {workspace!r}",
                       hint="only a completed flow run can be restarted")
    raw_flow, args, old_status, path = row
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
                       extra={"restarted_from": {"job": str(old_id), "step": step_id}})
    job.kind, job.tag = "flow", FLOW_TAG
    await queue.push(conn, job)
    await conn.execute("UPDATE job_queue SET running = true, started_at = now() WHERE id = %s",
                       (job.id,))
    run = await FlowRun.load(conn, job.id)
    assert run is not None
    await run.next(i)
    await run.save()
    return job.id
