"""/api/w/{workspace}/resources/…: resources, their types, and their interpolated values
(`$var:`/`$res:` inside them resolved by desktop_app.db.references)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import PlainTextResponse

from desktop_app.api import access, audit, inputs
from desktop_app.api.access import Action
from desktop_app.api.auth import Identity, authenticate
from desktop_app.api.inputs import ItemPath
from desktop_app.core.errors import ArgumentError, NotFound
from desktop_app.db import references
from desktop_app.db import variables as store
from desktop_app.definitions import resource
from desktop_app.definitions import resource_type as type_definition
from desktop_app.secrets import values as secret_values

router = APIRouter(prefix="/api/w/{workspace}/resources", tags=["resources"])

_RESOURCE = {"path": inputs.STRING, "value": inputs.ANY, "resource_type": inputs.STRING,
             "description": inputs.NULLABLE_STRING}


def strip_prefix(path: str) -> str:
    for prefix in ("$res:", "res://"):
        if path.startswith(prefix):
            return path[len(prefix):]
    return path


async def _type_secret_fields(conn: Any, ws: str, resource_type: str) -> set[str]:
    rt = await store.get_resource_type(conn, ws, resource_type)
    return secret_values.secret_fields(rt["schema"] if rt else None)


async def resource_value(request: Request, ws: str, path: str, who: Identity) -> Any:
    """The stored value with secret fields read back from the keyring. A resource's value
    is a credential: operators never read it (they may run what uses it)."""
    await access.require(request, who, Action.READ_SECRET, path, "resource", ws)
    state = request.app.state.tidemill
    async with state.pool.connection() as conn:
        row = await store.get_resource(conn, ws, path)
        value, refs = await secret_values.join_secrets(state, ws, row["value"], f"resource {path}")
        if who.job_id:
            for ref in refs:
                await store.record_secret_read(conn, who.job_id, ws, ref)
    return value


@router.get("/get_value/{path:path}")
async def get_value(workspace: str, path: ItemPath, request: Request,
                    who: Identity = Depends(authenticate)) -> Any:
    return await resource_value(request, workspace, strip_prefix(path), who)


@router.get("/get_value_interpolated/{path:path}")
async def get_value_interpolated(workspace: str, path: ItemPath, request: Request,
                                 who: Identity = Depends(authenticate)) -> Any:
    """The value with every `$var:`/`$res:` inside it resolved, with the caller's rights."""
    state = request.app.state.tidemill
    await access.require(request, who, Action.READ_SECRET, strip_prefix(path), "resource",
                         workspace)
    async with state.pool.connection() as conn:

        async def note_secret(ref: str) -> None:
            if who.job_id:  # a job's read: its logs mask the value
                await store.record_secret_read(conn, who.job_id, workspace, ref)

        return await references.resolve(
            conn, workspace, "$res:" + strip_prefix(path),
            references.ReadsAs(who.username, who.role, in_job=who.scope == "job"),
            getattr(state.secrets, "get", None), note_secret)


def resource_json(row: dict[str, Any]) -> dict[str, Any]:
    # Secret fields are shown as the reference, never the value.
    value = row["value"]
    if isinstance(value, dict):
        value = {k: ("$secret" if isinstance(v, dict) and set(v) == {secret_values.SECRET_KEY}
                     else v) for k, v in value.items()}
    return {"workspace_id": row["workspace_id"], "path": row["path"], "value": value,
            "resource_type": row["resource_type"], "description": row["description"],
            "is_oauth": False, "extra_perms": {}, "created_by": row["created_by"],
            "edited_at": row["updated_at"].isoformat()}


@router.get("/get/{path:path}")
async def get_resource(workspace: str, path: ItemPath, request: Request,
                       who: Identity = Depends(authenticate)) -> dict[str, Any]:
    await access.require(request, who, Action.READ, strip_prefix(path), "resource")
    async with request.app.state.tidemill.pool.connection() as conn:
        return resource_json(await store.get_resource(conn, workspace, strip_prefix(path)))


@router.get("/exists/{path:path}")
async def exists(workspace: str, path: ItemPath, request: Request,
                 who: Identity = Depends(authenticate)) -> bool:
    await access.require(request, who, Action.READ, strip_prefix(path), "resource")
    async with request.app.state.tidemill.pool.connection() as conn:
        try:
            await store.get_resource(conn, workspace, strip_prefix(path))
            return True
        except NotFound:
            return False


@router.get("/list")
async def list_resources(workspace: str, request: Request, resource_type: str | None = None,
                         path_start: str = "",
                         pages: inputs.Paging = Depends(inputs.paging),
                         who: Identity = Depends(authenticate)) -> list[dict[str, Any]]:
    seen = await access.visible(request, who, workspace)
    types = resource_type.split(",") if resource_type else None
    async with request.app.state.tidemill.pool.connection() as conn:
        rows = seen.filter(await store.list_resources(conn, workspace, types, path_start))
    return [resource_json(r) for r in pages.apply(rows)]


@router.post("/create", status_code=201, response_class=PlainTextResponse,
             openapi_extra=inputs.documented(_RESOURCE, ("path", "value", "resource_type")))
async def create_resource(workspace: str, request: Request, update_if_exists: bool = False,
                          who: Identity = Depends(authenticate)) -> str:
    access.require_role(who, "developer", "creating resources")
    body = await inputs.json_object(request)
    resource.check(body)
    path, rtype = body["path"], body["resource_type"]
    await access.require(request, who, Action.WRITE, path, "resource")
    state = request.app.state.tidemill
    async with state.pool.connection() as conn, conn.transaction():
        old = None
        if update_if_exists:
            try:
                old = (await store.get_resource(conn, workspace, path))["value"]
            except NotFound:
                pass
        fields = await _type_secret_fields(conn, workspace, rtype)
        value = await secret_values.split_secrets(state, workspace, body.get("value"), fields, old)
        await store.upsert_resource(conn, workspace, path, value, rtype,
                                    body.get("description") or "", who.username,
                                    update_if_exists=update_if_exists)
        await audit.change(conn, request, who, "resource", path, "create")
    return path


@router.post("/update_value/{path:path}", response_class=PlainTextResponse,
             openapi_extra=inputs.documented({"value": inputs.ANY}))
async def update_value(workspace: str, path: ItemPath, request: Request,
                       who: Identity = Depends(authenticate)) -> str:
    await access.require(request, who, Action.WRITE, strip_prefix(path), "resource")
    body = await inputs.json_object(request)
    return await _update(request, who, workspace, strip_prefix(path),
                         {"value": body.get("value")})


@router.post("/update/{path:path}", response_class=PlainTextResponse,
             openapi_extra=inputs.documented(_RESOURCE))
async def update_resource(workspace: str, path: ItemPath, request: Request,
                          who: Identity = Depends(authenticate)) -> str:
    await access.require(request, who, Action.WRITE, strip_prefix(path), "resource")
    body = await inputs.json_object(request)
    resource.check(body, current=strip_prefix(path))
    if body.get("path") and body["path"] != strip_prefix(path):  # a rename writes there too
        await access.require(request, who, Action.WRITE, body["path"], "resource")
    return await _update(request, who, workspace, strip_prefix(path), body)


async def _update(request: Request, who: Identity, ws: str, path: str,
                  body: dict[str, Any]) -> str:
    state = request.app.state.tidemill
    async with state.pool.connection() as conn, conn.transaction():
        row = await store.get_resource(conn, ws, path)
        fields: dict[str, Any] = {}
        rtype = body.get("resource_type") or row["resource_type"]
        if "value" in body:
            secret = await _type_secret_fields(conn, ws, rtype)
            fields["value"] = await secret_values.split_secrets(state, ws, body["value"], secret,
                                                          row["value"])
            kept = set(secret_values.secret_refs_in(fields["value"]))
            for ref in secret_values.secret_refs_in(row["value"]):
                if ref not in kept:
                    await secret_values.forget(state, ws, ref)
        if body.get("resource_type"):
            fields["resource_type"] = rtype
        if "description" in body:
            fields["description"] = body["description"] or ""
        if body.get("path") and body["path"] != path:
            fields["path"] = body["path"]
        if fields:
            await store.update_resource(conn, ws, path, **fields)
        new_path = fields.get("path", path)
        await audit.change(conn, request, who, "resource", new_path, "update",
                           old_path=path if new_path != path else None)
    return f"updated resource {fields.get('path', path)}"


@router.delete("/delete/{path:path}", response_class=PlainTextResponse)
async def delete_resource(workspace: str, path: ItemPath, request: Request,
                          who: Identity = Depends(authenticate)) -> str:
    await access.require(request, who, Action.WRITE, strip_prefix(path), "resource")
    state = request.app.state.tidemill
    async with state.pool.connection() as conn, conn.transaction():
        row = await store.delete_resource(conn, workspace, strip_prefix(path))
        await audit.change(conn, request, who, "resource", row["path"], "delete")
    for ref in secret_values.secret_refs_in(row["value"]):
        await secret_values.forget(state, workspace, ref)
    return f"deleted resource {row['path']}"


# -- resource types -----------------------------------------------------------------

@router.post("/type/create", status_code=201, response_class=PlainTextResponse,
             openapi_extra=inputs.documented({
                 "name": inputs.STRING, "schema": {"type": ["object", "null"]},
                 "description": inputs.NULLABLE_STRING}, ("name",)))
async def create_type(workspace: str, request: Request,
                      who: Identity = Depends(authenticate)) -> str:
    access.require_role(who, "developer", "creating resource types")
    body = await inputs.json_object(request)
    type_definition.check(body)
    name = body["name"]
    async with request.app.state.tidemill.pool.connection() as conn, conn.transaction():
        if not await store.upsert_resource_type(conn, workspace, name, body.get("schema"),
                                                body.get("description") or "", who.username,
                                                replace=False):
            raise ArgumentError(f"resource type {name!r} already exists", field="name")
        await audit.change(conn, request, who, "resource_type", name, "create")
    return name


@router.get("/type/get/{name}")
async def get_type(workspace: str, name: str, request: Request,
                   who: Identity = Depends(authenticate)) -> dict[str, Any]:
    async with request.app.state.tidemill.pool.connection() as conn:
        row = await store.get_resource_type(conn, workspace, name)
    if row is None:
        raise HTTPException(404, f"resource type {name!r} not found")
    return row


@router.get("/type/exists/{name}")
async def type_exists(workspace: str, name: str, request: Request,
                      who: Identity = Depends(authenticate)) -> bool:
    async with request.app.state.tidemill.pool.connection() as conn:
        return await store.get_resource_type(conn, workspace, name) is not None


@router.get("/type/list")
async def list_types(workspace: str, request: Request,
                     who: Identity = Depends(authenticate)) -> list[dict[str, Any]]:
    async with request.app.state.tidemill.pool.connection() as conn:
        return await store.list_resource_types(conn, workspace)
