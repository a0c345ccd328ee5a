"""Who may answer an approval step: Windmill's `suspend` rules (`user_auth_required`,
`user_groups_required`, `self_approval_disabled`) checked for an approver, and what an
approval page may show of the waiting step (its form, the flow's path, the rules; never
the flow's inputs or results).

Tidemill has no user groups of its own: a required group is one of the roles (`admin`,
`developer`, `operator`) or `all` (every signed-in user).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection

from desktop_app.core.errors import Forbidden

GROUPS = ("admin", "developer", "operator", "all")


@dataclass(frozen=True)
class Approver:
    """The person answering: `name` from a signed-in token (`signed_in`) or the name the
    signed link carries (`?approver=`), None when neither says."""

    name: str | None
    signed_in: bool = False
    role: str | None = None


def needs_sign_in(suspend: dict[str, Any]) -> bool:
    return bool(suspend.get("user_auth_required") or suspend.get("self_approval_disabled")
                or suspend.get("user_groups_required"))


def refusal(suspend: dict[str, Any], groups: list[str] | None, started_by: str,
            who: Approver) -> str | None:
    """Why `who` may not approve or reject this step, or None."""
    if not needs_sign_in(suspend):
        return None
    if not who.signed_in:
        return ("this approval step needs a signed-in approver: send your Tidemill token"
                " (Authorization: Bearer …; the approval page has a field for it)")
    if suspend.get("self_approval_disabled") and who.name == started_by:
        return (f"self-approval is disabled for this step: {who.name} started this flow,"
                " so another user must approve or reject it")
    if groups:
        if "all" in groups or who.role in groups:
            return None
        return (f"{who.name} ({who.role}) is not in a group allowed to approve this step:"
                f" {', '.join(groups)} (Tidemill's groups are the roles admin, developer,"
                " operator, and all)")
    return None


def check(suspend: dict[str, Any], groups: list[str] | None, started_by: str,
          who: Approver) -> None:
    reason = refusal(suspend, groups, started_by, who)
    if reason:
        raise Forbidden(reason, hint="ask the flow's owner for a link of your own, or sign in"
                                     " as a user the step allows")


def groups_of(value: Any) -> list[str] | None:
    """The evaluated `user_groups_required` as a list of names (a single name, a list, or
    nothing)."""
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


async def page_info(conn: AsyncConnection[Any], step_job_id: uuid.UUID) -> dict[str, Any] | None:
    """What the approval page shows of the step `step_job_id`: None when no flow waits on
    it. Only the form, names and rules: not the flow's inputs or results."""
    parent = None
    for table in ("job_completed", "job_queue"):
        cur = await conn.execute(f"SELECT parent_job, extra->>'flow_step_id' FROM {table}"
                                 " WHERE id = %s", (step_job_id,))
        row = await cur.fetchone()
        if row is not None:
            parent, step_id = row
            break
    if parent is None:
        return None
    cur = await conn.execute("SELECT script_path, raw_flow, flow_status, created_by"
                             " FROM job_queue WHERE id = %s", (parent,))
    flow = await cur.fetchone()
    if flow is None:
        return None
    path, raw, status, started_by = flow
    modules = (raw or {}).get("modules") or []
    for i, mod in enumerate(modules):
        if mod.get("id") == step_id:
            ms = (status or {}).get("modules", [])[i] if status else {}
            suspend = mod.get("suspend") or {}
            return {"flow_path": path, "step_id": step_id, "summary": mod.get("summary"),
                    "started_by": started_by,
                    "waiting": ms.get("type") == "WaitingForEvents" or ms.get("job") is None
                    or ms.get("type") == "InProgress",
                    "form": (suspend.get("resume_form") or {}).get("schema") or {},
                    "needs_sign_in": needs_sign_in(suspend),
                    "self_approval_disabled": bool(suspend.get("self_approval_disabled")),
                    "groups": ms.get("user_groups_required"),
                    "required": int(suspend.get("required_events") or 1),
                    "approved": len(ms.get("approvers") or [])}
    return None
