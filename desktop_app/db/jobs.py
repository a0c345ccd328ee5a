"""Reading jobs: one by id (queued, running or completed) and filtered lists."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from desktop_app.core.errors import ArgumentError, NotFound

_COMMON = (
    "id, workspace_id, kind, script_path, script_hash, language, args, tag, priority,"
    " created_by, permissioned_as, created_at, scheduled_for, running, started_at, worker,"
    " last_ping, canceled, canceled_by, canceled_reason, timeout_s, attempt, max_retries,"
    " parent_job, root_job, trigger_kind, trigger_path, schedule_path, flow_status, extra"
)
_QUEUED = f"SELECT {_COMMON}, false AS completed, NULL::timestamptz AS completed_at," \
          " NULL::bigint AS duration_ms, NULL::text AS status, NULL::jsonb AS result," \
          " NULL::text[] AS result_columns FROM job_queue"
_DONE = f"SELECT {_COMMON}, true AS completed, completed_at, duration_ms, status, result," \
        " result_columns FROM job_completed"


async def get_job(conn: AsyncConnection[Any], workspace: str, job_id: uuid.UUID) -> dict[str, Any]:
    cur = conn.cursor(row_factory=dict_row)
    # Completed first: a job that finishes between the two reads is then still found.
    for sql in (_QUEUED, _DONE, _QUEUED):
        await cur.execute(f"{sql} WHERE id = %s AND workspace_id = %s", (job_id, workspace))
        row = await cur.fetchone()
        if row is not None:
            return row
    raise NotFound(f"job {job_id} not found in workspace {workspace!r}")


@dataclass
class JobFilter:
    script_path_exact: str | None = None
    script_path_start: str | None = None
    parent_job: uuid.UUID | None = None
    running: bool | None = None
    success: bool | None = None
    status: str | None = None
    job_kinds: list[str] | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    trigger_kind: str | None = None
    created_by: str | None = None
    # Windmill's has_null_parent: True = no flow steps (only runs a person or a trigger started)
    top_level: bool | None = None
    # Set for a caller who may not see every job: their own runs (permissioned_as), plus
    # the runs of paths matching these LIKE patterns.
    visible_to: str | None = None
    visible_paths: list[str] | None = None
    per_page: int = 30
    page: int = 1
    # "queue" or "completed": only that table's jobs (Windmill's queue/list, completed/list).
    only: str | None = None
    # Tidemill: only jobs whose log contains this text (any case; the trigram index).
    log_search: str | None = None
    # Keyset paging: only jobs strictly older than (created_at, id) of the last row seen.
    # Stays as fast on the 1000th page as on the first, where OFFSET reads every row before.
    before: tuple[datetime, uuid.UUID] | None = None


def _where(f: JobFilter, completed: bool) -> tuple[str, list[Any]]:
    clauses, params = ["workspace_id = %s"], []
    def add(sql: str, value: Any) -> None:
        clauses.append(sql)
        params.append(value)
    if f.script_path_exact is not None:
        add("script_path = %s", f.script_path_exact)
    if f.script_path_start is not None:
        add("script_path LIKE %s", f.script_path_start + "%")
    if f.parent_job is not None:
        add("parent_job = %s", f.parent_job)
    if f.job_kinds:
        add("kind = ANY(%s)", f.job_kinds)
    if f.top_level is not None:
        clauses.append("parent_job IS NULL" if f.top_level else "parent_job IS NOT NULL")
    if f.created_after is not None:
        add("created_at > %s", f.created_after)
    if f.created_before is not None:
        add("created_at < %s", f.created_before)
    if f.trigger_kind is not None:
        add("trigger_kind = %s", f.trigger_kind)
    if f.created_by is not None:
        add("created_by = %s", f.created_by)
    if f.before is not None:
        clauses.append("(created_at, id) < (%s, %s)")
        params.extend(f.before)
    if f.log_search is not None:
        # IN, not EXISTS: the planner can start from the log index rather than probe the
        # logs of every job in created_at order.
        add("id IN (SELECT job_id FROM job_logs WHERE chunk ILIKE %s)", like_pattern(f.log_search))
    if f.visible_to is not None:
        clauses.append("(permissioned_as = %s OR script_path LIKE ANY(%s))")
        params += [f.visible_to, f.visible_paths or []]
    if completed:
        if f.success is not None:
            clauses.append("status = 'success'" if f.success else "status <> 'success'")
        if f.status is not None:
            add("status = %s", f.status)
    elif f.running is not None:
        clauses.append("running" if f.running else "NOT running")
    return " AND ".join(clauses), params


_MAX_PAGE = 1000
_MAX_OFFSET = 2**62  # OFFSET is a bigint; any page past the end is simply empty


#: A log search first looks in the newest this-many pages of jobs that fit
#: the other filters: a common text fills the page there, where the index would return
#: every log holding it. Only when the window has too few does the index query run.
SEARCH_WINDOW_PAGES = 10


async def list_jobs(conn: AsyncConnection[Any], workspace: str, f: JobFilter) -> list[dict[str, Any]]:
    """Newest first. Queued/running jobs are included unless the filter asks only for
    completed ones (success/status), completed ones unless it asks for running ones."""
    if f.log_search is not None and (f.before is not None or f.page <= 1):
        per_page = max(1, min(f.per_page, _MAX_PAGE))
        window = replace(f, log_search=None, page=1,
                         per_page=min(_MAX_PAGE, per_page * SEARCH_WINDOW_PAGES))
        recent = await _list_jobs(conn, workspace, window)
        cur = await conn.execute(
            "SELECT DISTINCT job_id FROM job_logs WHERE job_id = ANY(%s) AND chunk ILIKE %s",
            ([r["id"] for r in recent], like_pattern(f.log_search)))
        hits = {row[0] for row in await cur.fetchall()}
        found = [r for r in recent if r["id"] in hits]
        # Enough found, or the window held every job there is: the answer is exact.
        if len(found) >= per_page or len(recent) < window.per_page:
            return found[:per_page]
    return await _list_jobs(conn, workspace, f)


async def _list_jobs(conn: AsyncConnection[Any], workspace: str, f: JobFilter) -> list[dict[str, Any]]:
    query = list_query(workspace, f)
    if query is None:  # running jobs that have a final status: there are none
        return []
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(*query)
    return await cur.fetchall()


_NEWEST_FIRST = " ORDER BY created_at DESC, id DESC"


def list_query(workspace: str, f: JobFilter) -> tuple[str, list[Any]] | None:
    """The statement of a job list page and its parameters (None: nothing can match).

    Each branch of the UNION ALL carries the page's ORDER BY and LIMIT itself: PostgreSQL
    then reads the newest rows of each table off its `(workspace_id, created_at, id)` index
    and merges them. With the ORDER BY only outside, it read and sorted every completed job
    of the workspace: 0.9-1.3 s for the Runs view's first page at 1,000,000 jobs
    (tests/benchmarks/bench_history_scale.py)."""
    parts: list[str] = []
    params: list[Any] = []
    if f.success is None and f.status is None and f.only != "completed":
        where, p = _where(f, completed=False)
        parts.append(f"{_QUEUED} WHERE {where}")
        params += [workspace, *p]
    if not f.running and f.only != "queue":
        where, p = _where(f, completed=True)
        parts.append(f"{_DONE} WHERE {where}")
        params += [workspace, *p]
    if not parts:
        return None
    per_page = max(1, min(f.per_page, _MAX_PAGE))
    offset = 0 if f.before else min((max(f.page, 1) - 1) * per_page, _MAX_OFFSET)
    page = f"{_NEWEST_FIRST} LIMIT {per_page} OFFSET {offset}"
    if len(parts) == 1:
        return parts[0] + page, params
    # A branch gives at most the rows up to the page's end (OFFSET is capped well below
    # bigint's range, so this sum fits).
    inner = f"{_NEWEST_FIRST} LIMIT {offset + per_page}"
    return " UNION ALL ".join(f"({part}{inner})" for part in parts) + page, params


def parse_cursor(text: str) -> tuple[datetime, uuid.UUID]:
    """`<created_at ISO 8601>,<job id>` (the last row of the previous page) → its key."""
    when, _, job_id = text.rpartition(",")
    try:
        return datetime.fromisoformat(when.replace("Z", "+00:00")), uuid.UUID(job_id)
    except ValueError:
        raise ArgumentError(
            f"'cursor' must be '<created_at>,<job id>' of the last job seen, not {text!r}",
            field="cursor", hint="take both from the last job of the previous page") from None


#: Shorter text cannot use the trigram index: every log would be read.
MIN_SEARCH_CHARS = 3


def like_pattern(text: str) -> str:
    """`%text%` for (I)LIKE, with the text's own `%`, `_` and `\\` matched literally."""
    if len(text.strip()) < MIN_SEARCH_CHARS:
        raise ArgumentError(
            f"the log search text must be at least {MIN_SEARCH_CHARS} characters, not {text!r}",
            field="log_search", hint="search for a longer piece of the line")
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
