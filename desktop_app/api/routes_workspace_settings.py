"""/api/w/{workspace}/workspaces/job_settings: a workspace's log cap and job retention.

Tidemill's own endpoints (Windmill keeps these as instance settings); null resets a value
to its default.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from desktop_app.api import access, inputs
from desktop_app.api.auth import Identity, authenticate
from desktop_app.core.errors import UsageError
from desktop_app.db import workspace_settings
from desktop_app.queue.logs import DEFAULT_LOG_MAX_BYTES
from desktop_app.queue.retention import DEFAULT_KEEP_FAILURE_SECS, DEFAULT_KEEP_SUCCESS_SECS

router = APIRouter(prefix="/api/w/{workspace}/workspaces", tags=["workspaces"])

_NULLABLE_INT: dict[str, Any] = {"type": ["integer", "null"], "minimum": 1}
DEFAULTS: dict[str, int | None] = {
    "log_max_bytes": DEFAULT_LOG_MAX_BYTES, "keep_success_secs": DEFAULT_KEEP_SUCCESS_SECS,
    "keep_failure_secs": DEFAULT_KEEP_FAILURE_SECS}


async def _answer(request: Request, workspace: str) -> dict[str, Any]:
    async with request.app.state.tidemill.pool.connection() as conn:
        values = await workspace_settings.get(conn, workspace)
    return {**values, "defaults": DEFAULTS}


@router.get("/job_settings")
async def get_job_settings(workspace: str, request: Request,
                           who: Identity = Depends(authenticate)) -> dict[str, Any]:
    """The workspace's values (null: the default, listed under `defaults`)."""
    return await _answer(request, workspace)


@router.post("/edit_job_settings", openapi_extra=inputs.documented(
    dict.fromkeys(workspace_settings.FIELDS, _NULLABLE_INT),
    example={"log_max_bytes": 1048576, "keep_success_secs": 2592000}))
async def edit_job_settings(workspace: str, request: Request,
                            who: Identity = Depends(authenticate)) -> dict[str, Any]:
    """Change some of the values; the others stay."""
    access.require_role(who, "admin", "changing the workspace's job settings")
    body = await inputs.json_object(request)
    unknown = sorted(set(body) - set(workspace_settings.FIELDS))
    if unknown:
        raise UsageError(f"unknown setting {unknown[0]!r}",
                         hint="settings are " + ", ".join(workspace_settings.FIELDS))
    for name, value in body.items():
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                  or value < 1):
            raise UsageError(f"'{name}' must be a whole number of at least 1, or null for the "
                             f"default ({workspace_settings.FIELDS[name]})")
    async with request.app.state.tidemill.pool.connection() as conn:
        await workspace_settings.update(conn, workspace, body)
    return await _answer(request, workspace)
