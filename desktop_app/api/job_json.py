"""A job row as Windmill's API shows it (QueuedJob / CompletedJob)."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def _ts(value: datetime | None) -> str | None:
    if value is None or value.year >= 9999:  # a parked workflow: due on an event, not a time
        return None
    return value.isoformat().replace("+00:00", "Z")


def job_json(row: dict[str, Any], logs: str | None = None) -> dict[str, Any]:
    completed = bool(row.get("completed"))
    username = (row["permissioned_as"] or "").split("/", 1)[-1]
    out: dict[str, Any] = {
        "type": "CompletedJob" if completed else "QueuedJob",
        "id": str(row["id"]),
        "workspace_id": row["workspace_id"],
        "parent_job": str(row["parent_job"]) if row["parent_job"] else None,
        "root_job": str(row["root_job"]) if row["root_job"] else None,
        "created_by": row["created_by"],
        "created_at": _ts(row["created_at"]),
        "started_at": _ts(row["started_at"]),
        "scheduled_for": _ts(row["scheduled_for"]),
        "running": bool(row["running"]) and not completed,
        "script_path": row["script_path"],
        "script_hash": row["script_hash"],
        "args": row["args"],
        "canceled": bool(row["canceled"]),
        "canceled_by": row["canceled_by"],
        "canceled_reason": row["canceled_reason"],
        "last_ping": _ts(row["last_ping"]),
        "job_kind": row["kind"],
        "schedule_path": row["schedule_path"],
        "permissioned_as": row["permissioned_as"],
        "flow_status": row["flow_status"],
        "is_flow_step": row["parent_job"] is not None,
        "language": row["language"],
        "email": (row.get("extra") or {}).get("email") or f"{username}@tidemill.local",
        "visible_to_owner": True,
        "tag": row["tag"],
        "priority": row["priority"],
        "worker": row["worker"],
        "trigger_kind": row["trigger_kind"],
        "trigger_path": row["trigger_path"],
        "timeout": row["timeout_s"],
        "attempt": row["attempt"],
    }
    if completed:
        out.update({
            "completed_at": _ts(row["completed_at"]),
            "duration_ms": row["duration_ms"],
            "success": row["status"] == "success",
            "status": row["status"],
            "result": row["result"],
            # Windmill's name: the result's key order, which jsonb does not keep
            "result_columns": row.get("result_columns"),
            "is_skipped": row["status"] == "skipped",
            "deleted": False,
        })
    if logs is not None:
        out["logs"] = logs
    return out
