"""Who may do what with an app: the app routes ask here, and this asks access.py (the
rule every endpoint applies: roles and folder grants).

Editing an app is writing its path; running its runnables is running its path; its inline
scripts' code is shown to whoever may read code there (developers with a grant, admins),
never to operators. An operator runs an app's inline scripts only through
`apps_u/execute_component` — the code comes from the deployed app, never from the caller —
and every job runs with the caller's identity and rights. Sharing an app shares what its
author wired into it: the scripts and flows it references run without a grant of their own.
"""

from __future__ import annotations

from fastapi import Request

from desktop_app.api import access
from desktop_app.api.access import Action
from desktop_app.api.auth import Identity
from desktop_app.core.errors import Forbidden


async def require_edit(request: Request, who: Identity, path: str) -> None:
    access.require_role(who, "developer", f"creating, changing or deleting the app {path}")
    await access.require(request, who, Action.WRITE, path, "app")


async def require_read(request: Request, who: Identity, path: str) -> None:
    await access.require(request, who, Action.READ, path, "app")


async def require_run(request: Request, who: Identity, path: str) -> None:
    await access.require(request, who, Action.RUN, path, "app")


async def may_read_code(request: Request, who: Identity, path: str) -> bool:
    """Whether the answer of `apps/get` may carry the inline scripts' code."""
    try:
        await access.require(request, who, Action.READ_CODE, path, "app")
    except Forbidden:
        return False
    return True


async def visible(request: Request, who: Identity, workspace: str) -> access.Visible:
    return await access.visible(request, who, workspace)
