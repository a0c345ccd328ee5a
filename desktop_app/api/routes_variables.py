"""/api/w/{workspace}/variables/…: plain and secret variables (secrets in the keyring)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse

from desktop_app.api import access, audit, inputs
from desktop_app.api.access import Action
from desktop_app.api.auth import Identity, authenticate
from desktop_app.api.inputs import ItemPath
from desktop_app.core.errors import ArgumentError, NotFound
from desktop_app.db import variables as store
from desktop_app.definitions import variable
from desktop_app.secrets import values as secret_values

router = APIRouter(prefix="/api/w/{workspace}/variables", tags=["variables"])


def strip_prefix(path: str) -> str:
    return path[len("var://"):] if path.startswith("var://") else path


def variable_json(row: dict[str, Any], value: str | None) -> dict[str, Any]:
    return {"workspace_id": row["workspace_id"], "path": row["path"], "value": value,
            "is_secret": row["is_secret"], "description": row["description"],
            "account": None, "is_oauth": False, "extra_perms": {}, "is_expired": False,
            "is_refreshed": False, "created_by": row["created_by"],
            "updated_at": row["updated_at"].isoformat()}


async def variable_value(request: Request, workspace: str, path: str, who: Identity) -> str:
    """The value, read from the keyring for a secret; a job that reads a secret gets it
    masked in its logs."""
    state = request.app.state.tidemill
    async with state.pool.connection() as conn:
        row = await store.get_variable(conn, workspace, path)
        await access.require(request, who, Action.READ_SECRET if row["is_secret"] else Action.READ,
                             path, "variable", workspace)
        if not row["is_secret"]:
            return str(row["value"])
        value = await secret_values.read(state, workspace, row["secret_ref"], f"variable {path}")
        if who.job_id:
            await store.record_secret_read(conn, who.job_id, workspace, row["secret_ref"])
    return value


@router.get("/get_value/{path:path}")
async def get_value(workspace: str, path: ItemPath, request: Request,
                    who: Identity = Depends(authenticate)) -> str:
    return await variable_value(request, workspace, strip_prefix(path), who)


@router.get("/get/{path:path}")
async def get_variable(workspace: str, path: ItemPath, request: Request, decrypt_secret: bool = False,
                       include_encrypted: bool = False,
                       who: Identity = Depends(authenticate)) -> dict[str, Any]:
    """A secret's value only with `decrypt_secret`; `include_encrypted` (wmill) gets "",
    what Tidemill exports instead of an encrypted value (it never exports one)."""
    path = strip_prefix(path)
    await access.require(request, who, Action.READ, path, "variable")
    async with request.app.state.tidemill.pool.connection() as conn:
        row = await store.get_variable(conn, workspace, path)
    value = row["value"]
    if row["is_secret"]:
        value = await variable_value(request, workspace, path, who) if decrypt_secret else (
            "" if include_encrypted else None)
    return variable_json(row, value)


@router.get("/exists/{path:path}")
async def exists(workspace: str, path: ItemPath, request: Request,
                 who: Identity = Depends(authenticate)) -> bool:
    await access.require(request, who, Action.READ, strip_prefix(path), "variable")
    async with request.app.state.tidemill.pool.connection() as conn:
        try:
            await store.get_variable(conn, workspace, strip_prefix(path))
            return True
        except NotFound:
            return False


@router.get("/list")
async def list_variables(workspace: str, request: Request, path_start: str = "",
                         pages: inputs.Paging = Depends(inputs.paging),
                         who: Identity = Depends(authenticate)) -> list[dict[str, Any]]:
    seen = await access.visible(request, who, workspace)
    async with request.app.state.tidemill.pool.connection() as conn:
        rows = await store.list_variables(conn, workspace, path_start)
    return [variable_json(r, None if r["is_secret"] else r["value"]) for r in pages.apply(seen.filter(rows))]


_VARIABLE = {"path": inputs.STRING, "value": inputs.ANY, "is_secret": inputs.BOOLEAN,
             "description": inputs.NULLABLE_STRING}


@router.post("/create", status_code=201, response_class=PlainTextResponse,
             openapi_extra=inputs.documented(_VARIABLE, ("path", "value")))
async def create_variable(workspace: str, request: Request, already_encrypted: bool = False,
                          who: Identity = Depends(authenticate)) -> str:
    access.require_role(who, "developer", "creating variables")
    body = await inputs.json_object(request)
    variable.check(body)
    path = body["path"]
    await access.require(request, who, Action.WRITE, path, "variable")
    value = variable.value_of(body)
    is_secret = bool(body.get("is_secret"))
    if is_secret and already_encrypted:
        raise ArgumentError(f"the value of the new secret {path} came encrypted (wmill's"
                            " default), and Tidemill holds no Windmill workspace key to"
                            " read it; push it with `wmill sync push --plain-secrets`, or"
                            " create it with `tidemill secret set`", field="value")
    state = request.app.state.tidemill
    ref = await secret_values.store(state, workspace, value) if is_secret else None
    try:
        async with state.pool.connection() as conn, conn.transaction():
            await store.insert_variable(conn, workspace, path, None if is_secret else value,
                                        is_secret, ref, body.get("description") or "",
                                        who.username)
            await audit.change(conn, request, who, "variable", path, "create")
    except BaseException:
        await secret_values.forget(state, workspace, ref)  # nothing half-created
        raise
    return path


@router.post("/update/{path:path}", response_class=PlainTextResponse,
             openapi_extra=inputs.documented(_VARIABLE))
async def update_variable(workspace: str, path: ItemPath, request: Request,
                          already_encrypted: bool = False,
                          who: Identity = Depends(authenticate)) -> str:
    path = strip_prefix(path)
    await access.require(request, who, Action.WRITE, path, "variable")
    body = await inputs.json_object(request)
    variable.check(body, current=path)
    if body.get("path") and body["path"] != path:  # a rename writes the new path too
        await access.require(request, who, Action.WRITE, body["path"], "variable")
    state = request.app.state.tidemill
    async with state.pool.connection() as conn, conn.transaction():
        row = await store.get_variable(conn, workspace, path)
        fields: dict[str, Any] = {}
        is_secret = bool(body["is_secret"]) if "is_secret" in body else row["is_secret"]
        # wmill pushes a secret it pulled with `already_encrypted=true`: the value it sends
        # is whatever the export held in its place, never the secret, so the keyring keeps
        # the real one.
        keep_secret = already_encrypted and is_secret and row["is_secret"]
        if ("value" in body and not keep_secret) or is_secret != row["is_secret"]:
            if "value" in body and not keep_secret:
                value = variable.value_of(body)
            elif row["is_secret"]:
                value = await secret_values.read(state, workspace, row["secret_ref"], f"variable {path}")
            else:
                value = row["value"] or ""
            if is_secret:
                fields["secret_ref"] = await secret_values.store(state, workspace, value,
                                                           row["secret_ref"])
                fields["value"] = None
            else:
                fields["value"], fields["secret_ref"] = value, None
                await secret_values.forget(state, workspace, row["secret_ref"])
            fields["is_secret"] = is_secret
        if "description" in body:
            fields["description"] = body["description"] or ""
        if body.get("path") and body["path"] != path:
            fields["path"] = body["path"]
        if fields:
            await store.update_variable(conn, workspace, path, **fields)
        new_path = fields.get("path", path)
        await audit.change(conn, request, who, "variable", new_path, "update",
                           old_path=path if new_path != path else None)
    return f"updated variable {fields.get('path', path)}"


@router.delete("/delete/{path:path}", response_class=PlainTextResponse)
async def delete_variable(workspace: str, path: ItemPath, request: Request,
                          who: Identity = Depends(authenticate)) -> str:
    await access.require(request, who, Action.WRITE, strip_prefix(path), "variable")
    state = request.app.state.tidemill
    async with state.pool.connection() as conn, conn.transaction():
        row = await store.delete_variable(conn, workspace, strip_prefix(path))
        await audit.change(conn, request, who, "variable", row["path"], "delete")
    await secret_values.forget(state, workspace, row["secret_ref"])
    return f"deleted variable {row['path']}"
