"""Dependency jobs, as `wmill generate-metadata` uses them: `POST jobs/run/dependencies_async`
(a script's code → `{lock}`) and `jobs/run/flow_dependencies_async` (a flow → its value with
each inline script's lock, `{updated_flow_value}`). Each is a job like any other (its id is
answered at once; wmill reads the result with `get_result_maybe`), but no worker runs it:
the daemon resolves the lock itself (uv for Python, Deno for TypeScript), in a thread, and
completes the job. A daemon stopped meanwhile leaves it queued; wmill's poll then gives up.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import PlainTextResponse

from desktop_app.api import access, inputs
from desktop_app.api.auth import Identity, authenticate
from desktop_app.api.submit import push_job
from desktop_app.core.errors import TidemillError
from desktop_app.core.jobs import JobStatus, error_result
from desktop_app.definitions.script import resolve_python_lock
from desktop_app.flows.model import iter_modules
from desktop_app.queue import queue
from desktop_app.queue.model import NewJob

router = APIRouter(prefix="/api/w/{workspace}", tags=["jobs"])
log = logging.getLogger(__name__)

#: The tag of jobs the API completes itself: no worker serves it.
API_TAG = "__api"
_TS = ("deno", "bun", "nativets")
_running: set[asyncio.Task[None]] = set()  # kept referenced until done


async def lock_for(code: str, language: str, cache_dir: Path) -> str:
    """The lock wmill writes beside the script ("" for a language without one)."""
    if language == "python3":
        lock, error = await resolve_python_lock(code, cache_dir)
        if error is not None:
            raise HTTPException(400, error)  # reported as the job's error, see _complete
        return lock or ""
    if language in _TS:
        from desktop_app.runtimes.deno_lock import resolve_deno_lock

        return await asyncio.to_thread(resolve_deno_lock, code, language, cache_dir)
    return ""


_SCRIPT_DEPS = inputs.documented({
    "raw_scripts": {"type": "array", "items": {"type": "object", "properties": {
        "raw_code": inputs.STRING, "language": inputs.STRING, "script_path": inputs.STRING}}},
    "entrypoint": inputs.NULLABLE_STRING}, ("raw_scripts",))


@router.post("/jobs/run/dependencies_async", status_code=201,
             response_class=PlainTextResponse, openapi_extra=_SCRIPT_DEPS)
async def script_dependencies(workspace: str, request: Request,
                              who: Identity = Depends(authenticate)) -> str:
    access.require_role(who, "developer", "resolving a script's dependencies")
    body = await inputs.json_object(request)
    scripts = body.get("raw_scripts")
    if not isinstance(scripts, list) or not scripts or not isinstance(scripts[0], dict):
        raise HTTPException(400, "'raw_scripts' must list the script: [{raw_code, language}]")
    entry = scripts[0]
    code, language = entry.get("raw_code"), entry.get("language")
    if not isinstance(code, str) or not isinstance(language, str):
        raise HTTPException(400, "each of 'raw_scripts' needs 'raw_code' and 'language'")
    path = entry.get("script_path") if isinstance(entry.get("script_path"), str) else None
    cache_dir = request.app.state.tidemill.home / "cache"

    async def work() -> Any:
        return {"lock": await lock_for(code, language, cache_dir)}

    return await _start(request, workspace, who, "dependencies", path, language, work)


_FLOW_DEPS = inputs.documented({"flow_value": inputs.OBJECT, "path": inputs.NULLABLE_STRING},
                               ("flow_value",))


@router.post("/jobs/run/flow_dependencies_async", status_code=201,
             response_class=PlainTextResponse, openapi_extra=_FLOW_DEPS)
async def flow_dependencies(workspace: str, request: Request,
                            who: Identity = Depends(authenticate)) -> str:
    access.require_role(who, "developer", "resolving a flow's dependencies")
    body = await inputs.json_object(request)
    value = inputs.field_of(body, "flow_value", dict, "the flow's value ({modules: [...]})")
    if value is None:
        raise HTTPException(400, "'flow_value' (the flow: {modules: [...]}) is required")
    path = inputs.field_of(body, "path", str, "a string")
    cache_dir = request.app.state.tidemill.home / "cache"

    async def work() -> Any:
        updated = copy.deepcopy(value)
        for module, _where in iter_modules(updated):
            step = module.get("value")
            if isinstance(step, dict) and step.get("type") == "rawscript" and \
                    isinstance(step.get("content"), str):
                lock = await lock_for(step["content"], str(step.get("language")), cache_dir)
                if lock:
                    step["lock"] = lock
                else:
                    step.pop("lock", None)
        return {"updated_flow_value": updated}

    return await _start(request, workspace, who, "flowdependencies", path, None, work)


async def _start(request: Request, workspace: str, who: Identity, kind: str,
                 path: str | None, language: str | None, work: Any) -> str:
    state = request.app.state.tidemill
    job = NewJob(kind=kind, tag=API_TAG, created_by=who.username,
                 permissioned_as=who.permissioned_as, workspace_id=workspace,
                 script_path=path, language=language)
    await push_job(state, job)
    task = asyncio.create_task(_complete(state, job, work))
    _running.add(task)
    task.add_done_callback(_running.discard)
    return str(job.id)


async def _complete(state: Any, job: NewJob, work: Any) -> None:
    try:
        result, status = await work(), JobStatus.SUCCESS
    except HTTPException as exc:
        result, status = error_result("DependencyError", str(exc.detail)), JobStatus.FAILURE
    except TidemillError as exc:
        result, status = error_result(type(exc).__name__, exc.message), JobStatus.FAILURE
    except Exception as exc:  # the job must end, whatever went wrong
        log.exception("dependency job %s failed", job.id)
        result, status = error_result(type(exc).__name__, str(exc)), JobStatus.FAILURE
    async with state.pool.connection() as conn, conn.transaction():
        await queue.complete(conn, job.id, status, result)
