"""Users, roles and tokens: /api/users/… (instance) and /api/w/{workspace}/users/….

Windmill's shapes: `whoami` answers the User object (username, email, is_admin, operator,
role, groups, folders); `users/add|update|delete` manage them (admins only);
`users/tokens/create` makes a token for the caller, or, for an admin, for another user.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from desktop_app.api import access, inputs
from desktop_app.api.auth import Identity, authenticate
from desktop_app.core import permissions
from desktop_app.core.errors import ArgumentError
from desktop_app.core.tokens import hash_token, new_user_token
from desktop_app.db import users as store

router = APIRouter(prefix="/api/w/{workspace}/users", tags=["users"])
global_router = APIRouter(prefix="/api/users", tags=["users"])

_USERNAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def _ts(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def user_json(row: dict[str, Any]) -> dict[str, Any]:
    return {"username": row["username"], "email": row["email"], "role": row["role"],
            "is_admin": row["role"] == "admin", "operator": row["role"] == "operator",
            "is_super_admin": row["role"] == "admin", "disabled": False, "name": row["username"],
            "created_at": _ts(row["created_at"]), "added_via": None}


async def _whoami(request: Request, who: Identity, workspace: str) -> dict[str, Any]:
    async with request.app.state.tidemill.pool.connection() as conn:
        try:
            row = await store.get_user(conn, who.username)
        except Exception:
            row = {"username": who.username, "email": f"{who.username}@tidemill.local",
                   "role": who.role, "created_at": None}
        folders = [store.as_folder(r) for r in await store.list_folders(conn, workspace)]
    me = who.principal
    out = user_json({**row, "role": who.role})
    out.update({
        "groups": ["all"],
        "folders": [f.name for f in folders
                    if me.is_admin or f.access_of(me) >= permissions.Access.READ],
        "folders_owners": [f.name for f in folders if f"u/{who.username}" in f.owners],
        "folders_write": [f.name for f in folders
                          if me.is_admin or f.access_of(me) >= permissions.Access.WRITE],
        # what the token may do: `admin` = all its user's rights; `run`; `job`
        "scope": who.scope,
    })
    if who.scope == "run":
        out["is_admin"] = out["is_super_admin"] = False
    return out


@global_router.get("/whoami")
async def whoami_global(request: Request, who: Identity = Depends(authenticate)) -> dict[str, Any]:
    return await _whoami(request, who, "main")


@router.get("/whoami")
async def whoami(workspace: str, request: Request,
                 who: Identity = Depends(authenticate)) -> dict[str, Any]:
    """The caller: username, email, role, is_admin, operator, groups and folders."""
    return await _whoami(request, who, workspace)


@router.get("/list")
async def list_users(workspace: str, request: Request,
                     who: Identity = Depends(authenticate)) -> list[dict[str, Any]]:
    async with request.app.state.tidemill.pool.connection() as conn:
        return [user_json(r) for r in await store.list_users(conn)]


def _role_from(body: dict[str, Any], default: str | None) -> str | None:
    """`role`, or Windmill's is_admin/operator booleans."""
    if body.get("role") is not None:
        return permissions.check_role(body["role"])
    if body.get("is_admin") is True:
        return "admin"
    if body.get("operator") is True:
        return "operator"
    if body.get("is_admin") is False or body.get("operator") is False:
        return "developer"
    return default


_USER_BODY = {"username": inputs.STRING, "email": inputs.NULLABLE_STRING,
              "role": {"type": ["string", "null"], "enum": [*permissions.ROLES, None]},
              "is_admin": {"type": ["boolean", "null"]}, "operator": {"type": ["boolean", "null"]}}


@router.post("/add", status_code=201, response_class=PlainTextResponse,
             openapi_extra=inputs.documented(_USER_BODY, ("username",), example={
                 "username": "alice", "role": "operator"}))
async def add_user(workspace: str, request: Request,
                   who: Identity = Depends(authenticate)) -> str:
    """A new local user (role: admin, developer — the default — or operator)."""
    access.require_role(who, "admin", "adding users")
    body = await inputs.json_object(request)
    username = inputs.field_of(body, "username", str, "a string")
    if not username or not _USERNAME.match(username):
        raise ArgumentError("'username' must be 1-64 letters, digits, '_', '.' or '-'",
                            field="username")
    for name in ("is_admin", "operator"):
        inputs.field_of(body, name, bool, "a boolean")
    email = inputs.field_of(body, "email", str, "an email address") or f"{username}@tidemill.local"
    role = _role_from(body, "developer")
    async with request.app.state.tidemill.pool.connection() as conn:
        await store.add_user(conn, username, email, role or "developer", who.username)
    return username


@router.post("/update/{username}", response_class=PlainTextResponse,
             openapi_extra=inputs.documented(
                 {k: v for k, v in _USER_BODY.items() if k != "username"}))
async def update_user(workspace: str, username: str, request: Request,
                      who: Identity = Depends(authenticate)) -> str:
    """Change a user's role (or email)."""
    access.require_role(who, "admin", "changing roles")
    body = await inputs.json_object(request)
    for name in ("is_admin", "operator"):
        inputs.field_of(body, name, bool, "a boolean")
    email = inputs.field_of(body, "email", str, "an email address")
    role = _role_from(body, None)
    state = request.app.state.tidemill
    async with state.pool.connection() as conn, conn.transaction():
        await store.get_user(conn, username)
        if role is not None:
            await store.set_role(conn, username, role)
        if email:
            await conn.execute("UPDATE users SET email = %s WHERE username = %s",
                               (email, username))
    state.tokens.clear()  # cached token rows carry the old role
    return f"updated user {username}" + (f": now {role}" if role else "")


@router.delete("/delete/{username}", response_class=PlainTextResponse)
async def delete_user(workspace: str, username: str, request: Request,
                      who: Identity = Depends(authenticate)) -> str:
    """Remove a user and their tokens; what they made stays."""
    access.require_role(who, "admin", "deleting users")
    state = request.app.state.tidemill
    async with state.pool.connection() as conn, conn.transaction():
        await store.delete_user(conn, username)
    state.tokens.clear()
    return f"deleted user {username}"


@global_router.post("/tokens/create", status_code=201, response_class=PlainTextResponse,
                    openapi_extra=inputs.documented({
                        "label": inputs.NULLABLE_STRING, "scope": inputs.NULLABLE_STRING,
                        "username": inputs.NULLABLE_STRING,
                        "expiration": {"type": ["string", "null"], "format": "date-time"}}))
async def create_token(request: Request, who: Identity = Depends(authenticate)) -> str:
    """A new token for the caller, or (admins) for `username`. `scope`: "admin" (all of
    its user's rights) or "run:<glob>,<glob>" (may only run those paths)."""
    who.require_admin("create tokens")
    if who.scope == "job":
        raise StarletteHTTPException(403, "a job token cannot create tokens")
    body = await inputs.json_object(request)
    scope = str(body.get("scope") or "admin")
    label = inputs.field_of(body, "label", str, "a string") or ""
    expiration = inputs.field_of(body, "expiration", str, "an ISO 8601 date-time")
    owner = inputs.field_of(body, "username", str, "a user name") or who.username
    if owner != who.username:
        access.require_role(who, "admin", "creating a token for another user")
    globs = None
    if scope.startswith("run:"):
        globs = [g.strip() for g in scope[4:].split(",") if g.strip()]
        scope = "run"
    if scope not in ("admin", "run") or (scope == "run" and not globs):
        raise StarletteHTTPException(
            400, "scope must be 'admin' or 'run:<path glob>[,<glob>]', e.g. run:f/hooks/*")
    token = new_user_token()
    async with request.app.state.tidemill.pool.connection() as conn:
        await store.get_user(conn, owner)  # 404 naming the user
        await conn.execute(
            "INSERT INTO tokens (token_hash, label, owner, scope, path_globs, expires_at)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (hash_token(token), label, owner, scope, globs, expiration))
    return token


@global_router.get("/tokens/list")
async def list_tokens(request: Request, who: Identity = Depends(authenticate)) -> list[dict[str, Any]]:
    """The caller's own tokens, as Windmill's TruncatedToken (never the token itself: only
    the first characters of its hash, enough to tell two apart)."""
    who.require_admin("list tokens")
    async with request.app.state.tidemill.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT token_hash, label, scope, path_globs, created_at, expires_at, last_used_at"
            " FROM tokens WHERE owner = %s AND job_id IS NULL ORDER BY created_at",
            (who.username,))
        rows = await cur.fetchall()
    return [{"token_prefix": r[0][:10], "label": r[1] or None,
             "scopes": [r[2]] if r[3] is None else [f"run:{','.join(r[3])}"],
             "created_at": _ts(r[4]), "expiration": _ts(r[5]), "last_used_at": _ts(r[6])}
            for r in rows]
