"""Who may do what with an app: the one place the app routes ask.

Kept apart so the permission model (roles, folder grants) extends it without touching the
routes. Today: editing needs a token that is not run-only; running an app's runnables needs
the right to run the app's path; code is shown to whoever may edit. An operator runs an
app's inline scripts only through `apps_u/execute_component` — the code comes from the
deployed app, never from the caller — and every job runs with the caller's identity.
"""

from __future__ import annotations

from fastapi import Request

from desktop_app.api.auth import Identity


async def require_edit(request: Request, who: Identity, path: str) -> None:
    who.require_admin(f"create, change or delete the app {path}")


async def require_run(request: Request, who: Identity, path: str) -> None:
    who.require_run(path)


async def may_read_code(request: Request, who: Identity, path: str) -> bool:
    """Whether the answer of `apps/get` may carry the inline scripts' code."""
    return who.scope != "run"
