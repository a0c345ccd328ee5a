"""Workspace-level reads Windmill's clients make: `workspaces/exists` (`wmill workspace
add` checks it) and `groups/list`.

Tidemill keeps each workspace's items under its id with no workspace table: `main` always
exists (it is the one kept in Git), another id exists once something was stored in it.
Groups: everyone is in `all` (folder grants name `g/all`); there are no others yet.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request

from desktop_app.api import inputs
from desktop_app.api.auth import Identity, authenticate
from desktop_app.db import users as user_store

router = APIRouter(tags=["workspaces"])

DEFAULT_WORKSPACE = "main"
_TABLES = ("scripts", "flows", "variables", "resources")


@router.post("/api/workspaces/exists",
             openapi_extra=inputs.documented({"id": inputs.STRING}, ("id",)))
async def workspace_exists(request: Request, who: Identity = Depends(authenticate)) -> bool:
    body = await inputs.json_object(request)
    ws = body.get("id")
    if not isinstance(ws, str) or not ws:
        raise HTTPException(400, "'id' (the workspace id, e.g. main) is required")
    if ws == DEFAULT_WORKSPACE:
        return True
    async with request.app.state.tidemill.pool.connection() as conn:
        for table in _TABLES:
            cur = await conn.execute(
                f"SELECT 1 FROM {table} WHERE workspace_id = %s LIMIT 1", (ws,))
            if await cur.fetchone() is not None:
                return True
    return False


@router.get("/api/w/{workspace}/groups/list")
async def list_groups(workspace: str, request: Request,
                      who: Identity = Depends(authenticate)) -> list[dict[str, Any]]:
    """Windmill's Group objects: `all`, holding every user."""
    async with request.app.state.tidemill.pool.connection() as conn:
        users = await user_store.list_users(conn)
    return [{"name": "all", "summary": "Every user of the workspace",
             "members": [u["username"] for u in users], "extra_perms": {}}]
