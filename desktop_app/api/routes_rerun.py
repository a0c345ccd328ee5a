"""`POST jobs/run/batch_rerun_jobs`: run finished jobs again with their arguments
(`wmill job rerun`). Scripts run the version that ran (its hash); flows their newest
version, as Windmill does by default."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import PlainTextResponse

from desktop_app.api import access, inputs
from desktop_app.api.access import Action
from desktop_app.api.auth import Identity, authenticate
from desktop_app.api.submit import get_job_row, new_script_job, push_job
from desktop_app.core.errors import TidemillError
from desktop_app.db import flows as flow_store
from desktop_app.db import scripts as script_store
from desktop_app.flows import engine
from desktop_app.flows.run import new_flow_job

router = APIRouter(prefix="/api/w/{workspace}", tags=["jobs"])

_BATCH = inputs.documented({"job_ids": {"type": "array", "items": {"type": "string"}},
                            "script_options_by_path": inputs.OBJECT,
                            "flow_options_by_path": inputs.OBJECT}, ("job_ids",))


@router.post("/jobs/run/batch_rerun_jobs", response_class=PlainTextResponse,
             openapi_extra=_BATCH)
async def batch_rerun(workspace: str, request: Request,
                      who: Identity = Depends(authenticate)) -> str:
    """One line per job: the new job's id, or `Error: …` saying why that one was not
    re-run (the others still are)."""
    body = await inputs.json_object(request)
    ids = body.get("job_ids")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise HTTPException(400, "'job_ids' must be a list of job ids")
    lines = []
    for text in ids:
        try:
            lines.append(str(await _rerun(request, workspace, text, who)))
        except (HTTPException, TidemillError) as exc:
            message = exc.detail if isinstance(exc, HTTPException) else exc.message
            lines.append(f"Error: job {text}: {message}")
    return "\n".join(lines)


async def _rerun(request: Request, workspace: str, text: str, who: Identity) -> uuid.UUID:
    try:
        job_id = uuid.UUID(text)
    except ValueError as exc:
        raise HTTPException(400, "not a job id (a UUID)") from exc
    state = request.app.state.tidemill
    old = await get_job_row(state, workspace, job_id)
    await access.require_job(request, who, old)
    args: dict[str, Any] = old["args"] if isinstance(old["args"], dict) else {}
    path = old["script_path"]
    if old["kind"] == "flow" and path and old["parent_job"] is None:
        await access.require(request, who, Action.RUN, path, "flow")
        async with state.pool.connection() as conn:
            flow = await flow_store.latest(conn, workspace, path)
        job = new_flow_job(created_by=who.username, permissioned_as=who.permissioned_as,
                           workspace_id=workspace, script_path=path, args=args,
                           raw_flow=flow["value"], trigger_kind=old["trigger_kind"])
        async with state.pool.connection() as conn, conn.transaction():
            await engine.start_flow(conn, job)
        return job.id
    if old["kind"] == "script" and old["script_hash"]:
        async with state.pool.connection() as conn:
            script = await script_store.by_hash(conn, workspace, old["script_hash"])
        await access.require(request, who, Action.RUN, script.path, "script")
        return await push_job(state, new_script_job(script, args, who, {},
                                                    trigger_kind=old["trigger_kind"]))
    raise HTTPException(400, f"a {old['kind']} job cannot be re-run; only runs of deployed"
                             " scripts and flows can")
