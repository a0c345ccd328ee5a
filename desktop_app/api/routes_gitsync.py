"""/api/w/{workspace}/sync/…: the workspace's Git repository (status, push, pull), the
import of a Windmill sync folder, and setting a secret that a pull left missing."""

from __future__ import annotations

import asyncio
import re
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from desktop_app.api import access, inputs
from desktop_app.api.access import Action
from desktop_app.api.auth import Identity, authenticate
from desktop_app.api.state import ApiState
from desktop_app.core.errors import ArgumentError, UsageError
from desktop_app.core.folder_files import check_relative
from desktop_app.db import variables as var_store
from desktop_app.definitions import sync as sync_items
from desktop_app.gitsync import items
from desktop_app.gitsync.layout import SECRET_KEY, read_folder
from desktop_app.gitsync.recorder import WORKSPACE, recorder_of
from desktop_app.secrets import values as secret_values

router = APIRouter(prefix="/api/w/{workspace}/sync", tags=["sync"])
tarball_router = APIRouter(prefix="/api/w/{workspace}/workspaces", tags=["sync"])


def _only_main(workspace: str) -> None:
    if workspace != WORKSPACE:
        raise HTTPException(400, f"only the {WORKSPACE!r} workspace is kept in Git")


@router.get("/status")
async def status(workspace: str, request: Request, wait: bool = False,
                 who: Identity = Depends(authenticate)) -> dict[str, Any]:
    """The repository's head and remote; `wait=true` first waits for pending commits."""
    access.require_role(who, "developer", "reading the Git status")
    _only_main(workspace)
    rec = recorder_of(request.app.state.tidemill)
    if wait:
        await rec.drain()
    async with rec.lock:
        repo = await rec.repo()
    return {"head": repo.head, "remote": repo.remote_url(), "pending": await rec.pending(),
            "errors": rec.errors, "path": str(rec.root)}


@router.post("/push", openapi_extra=inputs.documented({"remote": inputs.NULLABLE_STRING}))
async def push(workspace: str, request: Request,
               who: Identity = Depends(authenticate)) -> dict[str, Any]:
    access.require_role(who, "admin", "pushing the workspace (every item, whatever its folder)")
    _only_main(workspace)
    body = await inputs.json_object(request)
    remote = inputs.field_of(body, "remote", str, "a repository URL")
    rec = recorder_of(request.app.state.tidemill)
    await rec.drain()
    async with rec.lock:
        repo = await rec.repo()
        head = await asyncio.to_thread(repo.push, remote)
    return {"head": head, "remote": repo.remote_url()}


@router.post("/pull", openapi_extra=inputs.documented({"remote": inputs.NULLABLE_STRING}))
async def pull(workspace: str, request: Request,
               who: Identity = Depends(authenticate)) -> dict[str, Any]:
    """Fetch, then fast-forward or merge; the database follows the files. A conflict
    (409) lists the files and changes nothing."""
    access.require_role(who, "admin", "pulling the workspace (it may change every item)")
    _only_main(workspace)
    body = await inputs.json_object(request)
    remote = inputs.field_of(body, "remote", str, "a repository URL")
    state: ApiState = request.app.state.tidemill
    rec = recorder_of(state)
    await rec.drain()
    async with rec.lock:
        repo = await rec.repo()
        theirs = await asyncio.to_thread(repo.fetch, remote)
        plan = await asyncio.to_thread(repo.prepare_pull, theirs)
        if plan.kind == "up-to-date":
            return {"head": repo.head, "kind": plan.kind, "changed": [], "deleted": [],
                    "missing_secrets": []}
        old_dir = await asyncio.to_thread(repo.extract, plan.old_tree)
        new_dir = await asyncio.to_thread(repo.extract, plan.new_tree)
        try:
            old = await asyncio.to_thread(read_folder, Path(old_dir.name))
            new = await asyncio.to_thread(read_folder, Path(new_dir.name))
            await asyncio.to_thread(items.validate, new)
            async with state.pool.connection() as conn, conn.transaction():
                applied = await items.apply_snapshot(conn, state, WORKSPACE, new, who.username,
                                                     old=old, action="pull")
            head = await asyncio.to_thread(repo.finish_pull, plan, who.username)
        finally:
            old_dir.cleanup()
            new_dir.cleanup()
    return {"head": head, "kind": plan.kind, **applied.as_json()}


@router.post("/import", openapi_extra=inputs.documented(
    {"files": {"type": "object", "additionalProperties": {"type": "string"}}}, ("files",)))
async def import_folder(workspace: str, request: Request,
                        who: Identity = Depends(authenticate)) -> dict[str, Any]:
    """Import a Windmill sync folder sent as {relative path: text}: every file is parsed and
    checked first; then all items are applied in one transaction and one commit."""
    access.require_role(who, "admin", "importing items (they may land in any folder)")
    _only_main(workspace)
    body = await inputs.json_object(request)
    files = body.get("files")
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        raise ArgumentError("'files' must map relative paths to file contents", field="files")
    state: ApiState = request.app.state.tidemill
    with tempfile.TemporaryDirectory(prefix="tidemill-import-") as tmp:
        root = Path(tmp)
        for rel, text in files.items():
            target = root / check_relative(str(rel))
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
            except (OSError, ValueError, UnicodeError) as e:
                raise UsageError(f"{rel!r}: not a usable file path or content ({e})",
                                 hint="nothing was applied") from e
        snap = await asyncio.to_thread(read_folder, root)
    await asyncio.to_thread(items.validate, snap)
    rec = recorder_of(state)
    await rec.drain()
    async with rec.lock:
        await rec.repo()  # created (with what exists now) before the import changes things
        async with state.pool.connection() as conn, conn.transaction():
            applied = await items.apply_snapshot(conn, state, WORKSPACE, snap, who.username)
        head = await rec.commit_items(applied.changed,
                                      f"import {len(applied.changed)} items (by {who.username})",
                                      who.username)
    return {"head": head, "skipped": snap.skipped, **applied.as_json()}


@router.post("/secret", openapi_extra=inputs.documented(
    {"path": inputs.STRING, "field": inputs.NULLABLE_STRING, "value": inputs.STRING},
    ("path", "value")))
async def set_secret(workspace: str, request: Request,
                     who: Identity = Depends(authenticate)) -> str:
    """Set the value of a secret variable, or of a resource's secret field, on this
    machine (what a pull cannot bring)."""
    access.require_role(who, "developer", "setting secrets")
    body = await inputs.json_object(request)
    path = inputs.field_of(body, "path", str, "an item path")
    name = inputs.field_of(body, "field", str, "a field name")
    value = inputs.field_of(body, "value", str, "a string")
    if not path or value is None:
        raise ArgumentError("'path' and 'value' are required", field="path")
    await access.require(request, who, Action.WRITE, path, "resource" if name else "variable")
    state: ApiState = request.app.state.tidemill
    async with state.pool.connection() as conn, conn.transaction():
        if name is None:
            row = await var_store.get_variable(conn, workspace, path)
            if not row["is_secret"]:
                raise UsageError(f"{path} is not a secret variable",
                                 hint="update it with POST variables/update/{path}")
            await secret_values.store(state, workspace, value, row["secret_ref"])
            return f"set the secret of variable {path}"
        res = await var_store.get_resource(conn, workspace, path)
        current = dict(res["value"]) if isinstance(res["value"], dict) else {}
        old = current.get(name)
        ref = old.get(SECRET_KEY) if isinstance(old, dict) else None
        current[name] = {SECRET_KEY: await secret_values.store(state, workspace, value, ref,
                                                                kind="res")}
        await var_store.update_resource(conn, workspace, path, value=current)
    return f"set the secret field {name!r} of resource {path}"


@tarball_router.get("/tarball", response_class=Response)
async def tarball(workspace: str, request: Request, archive_type: str = "tar",
                  skip_variables: bool = False, skip_secrets: bool = False,
                  skip_resources: bool = False, skip_resource_types: bool = False,
                  include_schedules: bool = False, include_triggers: bool = False,
                  who: Identity = Depends(authenticate)) -> Response:
    """The workspace's items as a zip or tar of JSON entries (`wmill sync pull|push`
    reads it), limited to what the caller may see. Secret values are never in it, whatever
    `plain_secret` asks."""
    from desktop_app.gitsync import tarball as tb

    access.require_role(who, "developer", "downloading the workspace (it holds code)")
    if archive_type not in ("zip", "tar"):
        raise HTTPException(400, f"Invalid Archive Type {archive_type!r}: zip or tar")
    selection = tb.Selection(skip_variables, skip_secrets, skip_resources, skip_resource_types,
                             include_schedules, include_triggers)
    seen = await access.visible(request, who, workspace)
    async with request.app.state.tidemill.pool.connection() as conn:
        all_items = await sync_items.all_items(conn, workspace)
    data = tb.archive(tb.entries(all_items, selection, seen.allows), archive_type)
    media = "application/zip" if archive_type == "zip" else "application/x-tar"
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", workspace)  # a header holds Latin-1 only
    return Response(data, media_type=media, headers={
        "content-disposition": f'attachment; filename="{name}.{archive_type}"'})
