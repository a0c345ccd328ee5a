"""Permission checks for the API: every route asks here, never decides by itself.

`require(request, who, action, path)` maps an item path and an action (read, run, write,
read code, read secret) to allowed or a 403 naming the role or grant that is missing;
`visible(request, who)` gives list endpoints the path filter of what the caller may see;
`require_job` decides on a job (its caller, or read access to what it ran). The rule
itself is pure: desktop_app.core.permissions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request

from desktop_app.api.auth import Identity
from desktop_app.core import permissions
from desktop_app.core.errors import Forbidden, Unavailable
from desktop_app.core.permissions import Access, Action, Folder
from desktop_app.db import users as user_store

__all__ = ["Action", "job_visibility", "require", "require_job", "require_role", "visible"]

#: In a job's `extra`: the id of the run-only token that started it (its one reader).
RUN_TOKEN_KEY = "run_token"


async def folder_of(request: Request, workspace: str, path: str) -> Folder | None:
    name = permissions.folder_name(path)
    if name is None:
        return None
    state = request.app.state.tidemill
    key = (workspace, name)
    cached = state.folders.get(key)
    if cached is not None:
        return cached
    generation = state.folders.generation
    async with state.pool.connection() as conn:
        row = await user_store.find_folder(conn, workspace, name)
    folder = user_store.as_folder(row) if row else Folder(name)  # no folder: no grants
    state.folders.put(key, folder, generation)
    return folder


async def require(request: Request, who: Identity, action: Action, path: str,
                  what: str = "item", workspace: str | None = None) -> None:
    """Allowed, or an HTTP 403 saying what role or grant is missing."""
    if who.scope == "run":
        # reaches here only from RUN_SCOPE_ROUTES: runs, and reading an app to run it
        if action not in (Action.RUN, Action.READ):
            raise who.scope_refusal(f"{action.value} the {what} {path}")
        who.require_run(path)
    if who.role == "admin":
        return  # the hot path (webhooks with the admin token): no lookup
    ws = workspace or request.path_params.get("workspace") or "main"
    permissions.check(who.principal, action, path, await folder_of(request, ws, path), what,
                      in_job=who.scope == "job")


async def identity_of(request: Request, username: str) -> Identity:
    """Act as a stored user (an HTTP trigger's editor), with their current role."""
    async with request.app.state.tidemill.pool.connection() as conn:
        role = await user_store.role_of(conn, username)
    if role is None:
        raise Unavailable(f"this runs as {username!r}, who is no longer a user; an admin"
                          " must re-save it as an existing user")
    return Identity(username, "admin", role=role)


def require_role(who: Identity, least: str, doing: str) -> None:
    if who.scope == "run":
        raise who.scope_refusal(doing)
    permissions.require_role(who.principal, least, doing)


@dataclass
class Visible:
    """The paths a caller may see: everything (admin) or these prefixes."""

    prefixes: list[str] | None  # None: everything

    def allows(self, path: str | None) -> bool:
        return self.prefixes is None or (path is not None and path.startswith(tuple(self.prefixes)))

    def like_patterns(self) -> list[str] | None:
        if self.prefixes is None:
            return None
        return [p.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                for p in self.prefixes]

    def filter(self, rows: list[Any], key: str = "path") -> list[Any]:
        if self.prefixes is None:
            return rows
        return [r for r in rows if self.allows(r[key] if isinstance(r, dict) else getattr(r, key))]


async def visible(request: Request, who: Identity, workspace: str) -> Visible:
    if who.scope == "run":
        raise who.scope_refusal("list items")
    if who.role == "admin":
        return Visible(None)
    async with request.app.state.tidemill.pool.connection() as conn:
        rows = await user_store.list_folders(conn, workspace)
    names = permissions.readable_folders(who.principal, [user_store.as_folder(r) for r in rows])
    return Visible([f"u/{who.username}/", *(f"f/{n}/" for n in names)])


async def require_job(request: Request, who: Identity, row: dict[str, Any],
                      action: Action = Action.READ) -> None:
    """A caller sees (and cancels) the jobs they started; admins every job; a developer
    also the jobs of what they may read (cancel: write). A run-only token reads the jobs
    it started itself, nothing else."""
    if who.scope == "run":
        if action == Action.READ and who.token_id is not None \
                and (row.get("extra") or {}).get(RUN_TOKEN_KEY) == who.token_id:
            return
        raise who.scope_refusal(f"{'cancel' if action == Action.WRITE else 'read'} job"
                                f" {row['id']}, which it did not start")
    if who.role == "admin":
        return
    if row.get("permissioned_as") == who.permissioned_as or row.get("created_by") == who.username:
        return
    path = row.get("script_path")
    if who.role == "developer" and who.scope != "run" and path:
        folder = await folder_of(request, row["workspace_id"], path)
        needed = Access.WRITE if action == Action.WRITE else Access.READ
        if permissions.path_access(who.principal, path, folder) >= needed:
            return
    raise Forbidden(f"{who.username} ({who.role}) may not see job {row['id']}: it was"
                    f" started by {row.get('created_by')}; operators see only their own"
                    " runs, developers also the runs of what they may read")


async def job_visibility(request: Request, who: Identity, workspace: str
                         ) -> tuple[str | None, list[str] | None]:
    """(caller, LIKE patterns) for job lists: a non-admin sees their own runs and, as a
    developer, the runs of paths they may read. (None, None) means every job."""
    if who.scope == "run":
        raise who.scope_refusal("list jobs")
    if who.role == "admin":
        return None, None
    if who.role != "developer":
        return who.permissioned_as, []
    return who.permissioned_as, (await visible(request, who, workspace)).like_patterns()
