"""What the queue stores: a job to push, and a job as a worker claims it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from desktop_app.core.ids import new_job_id


@dataclass
class NewJob:
    """A job about to be queued. `tag` picks the worker group that may run it."""

    kind: str
    tag: str
    created_by: str
    args: dict[str, Any] = field(default_factory=dict)
    workspace_id: str = "main"
    script_path: str | None = None
    script_hash: str | None = None
    language: str | None = None
    raw_code: str | None = None
    raw_lock: str | None = None
    permissioned_as: str | None = None
    priority: int = 0
    scheduled_for: datetime | None = None
    timeout_s: int | None = None
    max_retries: int = 0
    parent_job: uuid.UUID | None = None
    root_job: uuid.UUID | None = None
    trigger_kind: str | None = None
    trigger_path: str | None = None
    schedule_path: str | None = None
    flow_status: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    raw_flow: dict[str, Any] | None = None
    id: uuid.UUID = field(default_factory=new_job_id)


@dataclass
class ClaimedJob:
    """A job a worker has claimed; it is `running` in the queue until completed."""

    id: uuid.UUID
    workspace_id: str
    kind: str
    script_path: str | None
    script_hash: str | None
    language: str | None
    raw_code: str | None
    raw_lock: str | None
    args: dict[str, Any]
    tag: str
    created_by: str
    permissioned_as: str
    created_at: datetime
    scheduled_for: datetime
    started_at: datetime
    timeout_s: int | None
    attempt: int
    max_retries: int
    parent_job: uuid.UUID | None
    root_job: uuid.UUID | None
    schedule_path: str | None
    trigger_kind: str | None
    extra: dict[str, Any]

    FIELDS = (
        "id, workspace_id, kind, script_path, script_hash, language, raw_code, raw_lock, args,"
        " tag, created_by, permissioned_as, created_at, scheduled_for, started_at, timeout_s,"
        " attempt, max_retries, parent_job, root_job, schedule_path, trigger_kind, extra"
    )

