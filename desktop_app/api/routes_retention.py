"""Job history upkeep: prune finished jobs now (`jobs/prune`, what the daemon does on its
own every few minutes) and what takes the database's space (`/api/database/usage`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from desktop_app.api import access
from desktop_app.api.auth import Identity, authenticate
from desktop_app.queue.retention import prune

router = APIRouter(prefix="/api/w/{workspace}", tags=["jobs"])
global_router = APIRouter(prefix="/api/database", tags=["database"])


@router.post("/jobs/prune")
async def prune_jobs(workspace: str, request: Request,
                     who: Identity = Depends(authenticate)) -> dict[str, Any]:
    """Delete the workspace's finished jobs (and logs) older than its retention policy,
    and clear those of scripts with `delete_after_secs`; what was removed."""
    access.require_role(who, "admin", "pruning the job history")
    async with request.app.state.tidemill.pool.connection() as conn:
        report = await prune(conn, workspace)
    return report.as_dict()


@global_router.get("/usage")
async def database_usage(request: Request,
                         who: Identity = Depends(authenticate)) -> dict[str, Any]:
    """The database's size and its biggest tables (with indexes and TOAST), largest first."""
    access.require_role(who, "admin", "reading the database's size")
    async with request.app.state.tidemill.pool.connection() as conn:
        total = await (await conn.execute(
            "SELECT pg_database_size(current_database())")).fetchone()
        cur = await conn.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid), pg_relation_size(c.oid),"
            "       greatest(c.reltuples, 0)::bigint"
            "  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'm')"
            " ORDER BY 2 DESC LIMIT 15")
        tables = [{"table": name, "total_bytes": int(size), "table_bytes": int(heap),
                   "rows_estimate": int(rows)} for name, size, heap, rows in await cur.fetchall()]
    return {"database_bytes": int(total[0]) if total else 0, "tables": tables}
