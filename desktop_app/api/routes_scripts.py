"""/api/w/{workspace}/scripts/…"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse

from desktop_app.api import access, audit, inputs
from desktop_app.api.access import Action
from desktop_app.api.auth import Identity, authenticate
from desktop_app.api.inputs import ItemPath
from desktop_app.core.errors import UsageError
from desktop_app.db import scripts as script_store
from desktop_app.definitions.script import deploy_script

router = APIRouter(prefix="/api/w/{workspace}/scripts", tags=["scripts"])


def script_json(s: script_store.ScriptVersion) -> dict[str, Any]:
    return {
        "workspace_id": s.workspace_id, "hash": s.hash, "path": s.path, "language": s.language,
        "content": s.content, "schema": s.schema, "summary": s.summary,
        "description": s.description, "lock": s.lock, "lock_error_logs": s.lock_error,
        "kind": s.kind, "tag": s.tag, "timeout": s.timeout_s,
        "has_preprocessor": s.has_preprocessor, "no_main_func": s.no_main_func,
        "parent_hashes": [s.parent_hash] if s.parent_hash else [], "archived": s.archived,
        "created_by": s.created_by,
        "created_at": s.created_at.isoformat().replace("+00:00", "Z") if s.created_at else None,
        "extra_perms": {}, "starred": False, "deleted": False,
        **inputs.without_request_only(s.extra),
    }


_NEW_SCRIPT = inputs.documented({
    "path": inputs.STRING, "content": inputs.STRING, "language": inputs.STRING,
    "summary": inputs.NULLABLE_STRING, "description": inputs.NULLABLE_STRING,
    "schema": {"type": ["object", "null"]}, "lock": inputs.NULLABLE_STRING,
    "parent_hash": inputs.NULLABLE_STRING, "kind": inputs.NULLABLE_STRING,
    "tag": inputs.NULLABLE_STRING, "timeout": {"type": ["integer", "null"]},
}, ("path", "content", "language"), example={
    "path": "f/examples/hello", "language": "python3", "summary": "Say hello",
    "content": "def main(name: str = 'world'):\n    return f'hello {name}'\n"})


@router.post("/create", status_code=201, response_class=PlainTextResponse,
             openapi_extra=_NEW_SCRIPT)
async def create_script(workspace: str, request: Request,
                        who: Identity = Depends(authenticate)) -> str:
    """Deploy a new version of a script; returns its hash."""
    access.require_role(who, "developer", "deploying scripts")
    body = await inputs.json_object(request)
    if isinstance(body.get("path"), str):
        await access.require(request, who, Action.WRITE, body["path"], "script")
    state = request.app.state.tidemill
    async with state.pool.connection() as conn, conn.transaction():
        version = await deploy_script(conn, workspace, body, who.username, state.home)
        await audit.change(conn, request, who, "script", version.path, "deploy",
                           version=version.hash)
    state.scripts.drop((workspace, version.path))  # after the commit: see TtlCache
    return version.hash


_PARSE = inputs.documented({
    "content": inputs.STRING, "language": inputs.STRING, "schema": {"type": ["object", "null"]},
}, ("content", "language"), example={
    "language": "python3", "content": "def main(name: str, count: int = 1):\n    pass\n"})


@router.post("/parse_schema", openapi_extra=_PARSE)
async def parse_schema(workspace: str, request: Request,
                       who: Identity = Depends(authenticate)) -> dict[str, Any]:
    """The form schema of code that is not deployed (the editor re-parses as the user types).

    `schema` (optional) is the previous schema: descriptions and other edits survive, as on
    deploy. A syntax error answers 400 with the line.
    """
    from desktop_app.parsing import script_metadata

    body = await inputs.json_object(request)
    content = body.get("content")
    if not isinstance(content, str):
        raise UsageError("'content' (the code) is required")
    language = body.get("language")
    if not isinstance(language, str) or not language:
        raise UsageError("'language' is required (e.g. python3, deno, bash, postgresql, go)")
    existing = inputs.field_of(body, "schema", dict, "a JSON Schema object")
    return script_metadata(content, language, existing)


@router.get("/get/p/{path:path}")
async def get_script(workspace: str, path: ItemPath, request: Request,
                     who: Identity = Depends(authenticate)) -> dict[str, Any]:
    """The newest version with its code (not for operators: see get_form)."""
    await access.require(request, who, Action.READ_CODE, path, "script")
    async with request.app.state.tidemill.pool.connection() as conn:
        return script_json(await script_store.latest(conn, workspace, path))


# What a run form needs, without the code: the one script read open to operators.
_FORM_KEYS = ("workspace_id", "hash", "path", "language", "schema", "summary", "description",
              "kind", "has_preprocessor", "no_main_func", "archived", "created_by", "created_at")


@router.get("/get_form/p/{path:path}")
async def get_script_form(workspace: str, path: ItemPath, request: Request,
                          who: Identity = Depends(authenticate)) -> dict[str, Any]:
    """Path, summary, description and argument schema of the newest version: enough to
    render its run form. Open to whoever may read the script, operators included."""
    await access.require(request, who, Action.READ, path, "script")
    async with request.app.state.tidemill.pool.connection() as conn:
        full = script_json(await script_store.latest(conn, workspace, path))
    return {k: full[k] for k in _FORM_KEYS}


@router.get("/get/h/{hash_}")
async def get_script_by_hash(workspace: str, hash_: str, request: Request,
                             who: Identity = Depends(authenticate)) -> dict[str, Any]:
    async with request.app.state.tidemill.pool.connection() as conn:
        version = await script_store.by_hash(conn, workspace, hash_)
    await access.require(request, who, Action.READ_CODE, version.path, "script")
    return script_json(version)


@router.get("/exists/p/{path:path}")
async def script_exists(workspace: str, path: ItemPath, request: Request,
                        who: Identity = Depends(authenticate)) -> bool:
    await access.require(request, who, Action.READ, path, "script")
    async with request.app.state.tidemill.pool.connection() as conn:
        try:
            await script_store.latest(conn, workspace, path)
            return True
        except Exception:
            return False


@router.get("/list")
async def list_scripts(workspace: str, request: Request, path_start: str | None = None,
                       show_archived: bool = False,
                       pages: inputs.Paging = Depends(inputs.paging),
                       who: Identity = Depends(authenticate)) -> list[dict[str, Any]]:
    seen = await access.visible(request, who, workspace)
    async with request.app.state.tidemill.pool.connection() as conn:
        versions = await script_store.list_latest(conn, workspace, include_archived=show_archived,
                                                  path_start=path_start)
    return [{k: v for k, v in script_json(s).items() if k not in ("content", "lock")}
            for s in pages.apply(seen.filter(versions))]


@router.get("/history/p/{path:path}")
async def script_history(workspace: str, path: ItemPath, request: Request,
                         who: Identity = Depends(authenticate)) -> list[dict[str, Any]]:
    await access.require(request, who, Action.READ, path, "script")
    async with request.app.state.tidemill.pool.connection() as conn:
        versions = await script_store.history(conn, workspace, path)
    return [{"script_hash": s.hash, "deployment_msg": s.summary,
             "created_at": s.created_at.isoformat() if s.created_at else None} for s in versions]


@router.post("/archive/p/{path:path}", response_class=PlainTextResponse)
async def archive_script(workspace: str, path: ItemPath, request: Request,
                         who: Identity = Depends(authenticate)) -> str:
    await access.require(request, who, Action.WRITE, path, "script")
    state = request.app.state.tidemill
    async with state.pool.connection() as conn, conn.transaction():
        await script_store.archive(conn, workspace, path)
        await audit.change(conn, request, who, "script", path, "delete")
    state.scripts.drop((workspace, path))
    return f"archived {path}"
