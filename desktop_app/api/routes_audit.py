"""/api/w/{workspace}/audit/…: who changed or ran what, when (admins only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request

from desktop_app.api import access
from desktop_app.api.auth import Identity, authenticate
from desktop_app.core.errors import NotFound
from desktop_app.db import users as store

router = APIRouter(prefix="/api/w/{workspace}/audit", tags=["audit"])


def audit_json(row: dict[str, Any]) -> dict[str, Any]:
    return {"workspace_id": row["workspace_id"], "id": row["id"],
            "timestamp": row["timestamp"].isoformat().replace("+00:00", "Z"),
            "username": row["username"], "operation": row["operation"],
            "action_kind": row["action_kind"], "resource": row["resource"],
            "parameters": row["parameters"]}


@router.get("/list")
async def list_audit(workspace: str, request: Request, username: str | None = None,
                     operation: str | None = None, resource: str | None = None,
                     action_kind: str | None = None, before: datetime | None = None,
                     after: datetime | None = None, page: int = 1, per_page: int = 100,
                     who: Identity = Depends(authenticate)) -> list[dict[str, Any]]:
    """Newest first. `operation` matches a prefix (`jobs.run` finds every run)."""
    access.require_role(who, "admin", "reading the audit log")
    async with request.app.state.tidemill.pool.connection() as conn:
        rows = await store.list_audit(conn, workspace, username=username, operation=operation,
                                      resource=resource, action_kind=action_kind,
                                      before=before, after=after, per_page=per_page, page=page)
    return [audit_json(r) for r in rows]


@router.get("/get/{id_}")
async def get_audit(workspace: str, id_: int, request: Request,
                    who: Identity = Depends(authenticate)) -> dict[str, Any]:
    access.require_role(who, "admin", "reading the audit log")
    async with request.app.state.tidemill.pool.connection() as conn:
        rows = await store.list_audit(conn, workspace, entry_id=id_, per_page=1)
    if not rows:
        raise NotFound(f"no audit entry {id_} in workspace {workspace!r}")
    return audit_json(rows[0])
