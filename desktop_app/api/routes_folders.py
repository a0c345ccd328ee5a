"""/api/w/{workspace}/folders/…: folders with owners and read/write grants.

A folder `f/<name>/` holds items; its `owners` (``u/alice``) and `extra_perms`
(``{"u/bob": true}`` write, ``false`` read; ``g/all`` is everyone) decide who may do what
in it (desktop_app.core.permissions). Developers and admins create folders and become
their owners; only owners and admins change or delete one. Synced as
``f/<name>/folder.meta.yaml``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse

from desktop_app.api import access, audit, inputs
from desktop_app.api.auth import Identity, authenticate
from desktop_app.core.errors import Forbidden
from desktop_app.db import users as store
from desktop_app.definitions import folder

router = APIRouter(prefix="/api/w/{workspace}/folders", tags=["folders"])

_FOLDER = {"name": inputs.STRING, "summary": inputs.NULLABLE_STRING,
           "display_name": inputs.NULLABLE_STRING,
           "owners": {"type": ["array", "null"], "items": {"type": "string"}},
           "extra_perms": {"type": ["object", "null"], "additionalProperties": {"type": "boolean"}}}


def folder_json(row: dict[str, Any]) -> dict[str, Any]:
    return {"workspace_id": row["workspace_id"], "name": row["name"],
            "display_name": row["display_name"], "summary": row["summary"],
            "owners": list(row["owners"]), "extra_perms": dict(row["extra_perms"]),
            "created_by": row["created_by"],
            "edited_at": row["edited_at"].isoformat().replace("+00:00", "Z")}


async def _may_manage(request: Request, who: Identity, workspace: str, name: str) -> dict[str, Any]:
    async with request.app.state.tidemill.pool.connection() as conn:
        row = await store.get_folder(conn, workspace, name)
    if who.is_admin or f"u/{who.username}" in row["owners"]:
        return row
    raise Forbidden(f"{who.username} ({who.role}) may not change folder {name}: only its owners"
                    f" ({', '.join(row['owners']) or 'none'}) and admins may")


@router.post("/create", status_code=201, response_class=PlainTextResponse,
             openapi_extra=inputs.documented(_FOLDER, ("name",), example={
                 "name": "ops", "summary": "Operations", "owners": ["u/alice"],
                 "extra_perms": {"u/bob": False}}))
async def create_folder(workspace: str, request: Request,
                        who: Identity = Depends(authenticate)) -> str:
    """A new folder; its creator is an owner unless `owners` says otherwise (admins)."""
    access.require_role(who, "developer", "creating folders")
    body = await inputs.json_object(request)
    folder.check(body, creating=True)
    name = body["name"]
    owners, extra_perms = folder.check_grants(body.get("owners"), body.get("extra_perms"))
    if not who.is_admin and f"u/{who.username}" not in owners:
        owners = [*owners, f"u/{who.username}"]  # a developer keeps the folder they made
    state = request.app.state.tidemill
    async with state.pool.connection() as conn, conn.transaction():
        await store.upsert_folder(conn, workspace, name,
                                  display_name=body.get("display_name") or name,
                                  summary=body.get("summary"), owners=owners,
                                  extra_perms=extra_perms, by=who.username, create_only=True)
        await audit.change(conn, request, who, "folder", name, "create")
    state.folders.drop((workspace, name))
    return name


@router.post("/update/{name}", response_class=PlainTextResponse,
             openapi_extra=inputs.documented({k: v for k, v in _FOLDER.items() if k != "name"}))
async def update_folder(workspace: str, name: str, request: Request,
                        who: Identity = Depends(authenticate)) -> str:
    """Change a folder's summary, owners or grants (its owners and admins)."""
    row = await _may_manage(request, who, workspace, name)
    body = await inputs.json_object(request)
    folder.check(body, creating=False)
    owners, extra_perms = folder.check_grants(body.get("owners", row["owners"]),
                                       body.get("extra_perms", row["extra_perms"]))
    state = request.app.state.tidemill
    async with state.pool.connection() as conn, conn.transaction():
        await store.upsert_folder(
            conn, workspace, name,
            display_name=body.get("display_name") or row["display_name"],
            summary=body["summary"] if "summary" in body else row["summary"],
            owners=owners, extra_perms=extra_perms, by=who.username)
        await audit.change(conn, request, who, "folder", name, "update")
    state.folders.drop((workspace, name))
    return f"updated folder {name}"


@router.get("/get/{name}")
async def get_folder(workspace: str, name: str, request: Request,
                     who: Identity = Depends(authenticate)) -> dict[str, Any]:
    await access.require(request, who, access.Action.READ, f"f/{name}/", "folder")
    async with request.app.state.tidemill.pool.connection() as conn:
        return folder_json(await store.get_folder(conn, workspace, name))


@router.get("/list")
async def list_folders(workspace: str, request: Request,
                       who: Identity = Depends(authenticate)) -> list[dict[str, Any]]:
    """The folders the caller may read (every folder, for admins)."""
    seen = await access.visible(request, who, workspace)
    async with request.app.state.tidemill.pool.connection() as conn:
        rows = await store.list_folders(conn, workspace)
    return [folder_json(r) for r in rows if seen.allows(f"f/{r['name']}/")]


@router.delete("/delete/{name}", response_class=PlainTextResponse)
async def delete_folder(workspace: str, name: str, request: Request,
                        who: Identity = Depends(authenticate)) -> str:
    """Remove the folder's grants (its items stay; then only admins reach them)."""
    await _may_manage(request, who, workspace, name)
    state = request.app.state.tidemill
    async with state.pool.connection() as conn, conn.transaction():
        await store.delete_folder(conn, workspace, name)
        await audit.change(conn, request, who, "folder", name, "delete")
    state.folders.drop((workspace, name))
    return f"deleted folder {name}"
