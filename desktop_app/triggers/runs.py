"""What a trigger does with an event: queue a run of its script or flow (the job's
`trigger_kind` is the trigger's kind), record how the trigger is doing, and run the failure
handler of triggers whose runs failed.

Nothing here may raise into a listener: a script that was deleted, a database hiccup or a
bad handler becomes the trigger's `last_error`, never a dead listener or daemon.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from desktop_app.core.errors import NotFound, TidemillError, UsageError
from desktop_app.core.jobs import PLAIN_ARGS
from desktop_app.db import flows as flow_store
from desktop_app.db import scripts as script_store
from desktop_app.scheduler.jobs import push_item, retries

log = logging.getLogger("tidemill.triggers")


def _message(exc: BaseException) -> str:
    return exc.message if isinstance(exc, TidemillError) else (str(exc).strip() or repr(exc))


async def fire(pool: Any, row: dict[str, Any], args: dict[str, Any],
               event: dict[str, Any]) -> uuid.UUID | None:
    """Queue one run for an event; None (and the trigger's last_error set) if it cannot."""
    ws, kind, path = row["workspace_id"], row["kind"], row["path"]
    try:
        async with pool.connection() as conn, conn.transaction():
            job = await push_item(
                conn, workspace=ws, path=row["script_path"], is_flow=row["is_flow"],
                args=args, created_by=row["edited_by"], permissioned_as=row["permissioned_as"],
                trigger_path=path, schedule_path=None, max_retries=retries(row["retry"]),
                # a peer's message, not a person with rights: its references stay text
                extra={"trigger": f"{kind}/{path}", PLAIN_ARGS: True}, trigger_kind=kind,
                event={"kind": kind, **event, "trigger_path": path})
            await conn.execute("UPDATE event_triggers SET last_event_at = now(),"
                               " events_total = events_total + 1 WHERE workspace_id = %s"
                               " AND kind = %s AND path = %s", (ws, kind, path))
        return job
    except Exception as exc:  # the listener goes on; the user sees why no run started
        await record_error(pool, row, f"could not start a run of {row['script_path']}:"
                                      f" {_message(exc)}")
        return None


async def record_error(pool: Any, row: dict[str, Any], message: str) -> None:
    log.warning("%s trigger %s: %s", row["kind"], row["path"], message)
    try:
        async with pool.connection() as conn:
            await conn.execute(
                "UPDATE event_triggers SET last_error = %s, last_error_at = now()"
                " WHERE workspace_id = %s AND kind = %s AND path = %s",
                (message[:2000], row["workspace_id"], row["kind"], row["path"]))
    except Exception:  # the database is away: the log has it
        log.exception("could not record the error of %s trigger %s", row["kind"], row["path"])


async def set_status(pool: Any, row: dict[str, Any], status: str,
                     server_id: str | None = None) -> None:
    try:
        async with pool.connection() as conn:
            await conn.execute(
                "UPDATE event_triggers SET status = %s, server_id = COALESCE(%s, server_id),"
                " last_server_ping = now() WHERE workspace_id = %s AND kind = %s AND path = %s",
                (status, server_id, row["workspace_id"], row["kind"], row["path"]))
    except Exception:
        log.exception("could not record the status of %s trigger %s", row["kind"], row["path"])


# -- failure handlers ----------------------------------------------------------------------

async def handler_target(conn: AsyncConnection[Any], ws: str, prefixed: str) -> tuple[str, bool]:
    """'script/f/x' or 'flow/f/x' (as schedules write them) or a bare path (a script, else a
    flow). NotFound when nothing is there."""
    kind, sep, rest = prefixed.partition("/")
    if sep and kind in ("script", "flow") and rest:
        candidates = [(rest, kind == "flow")]
    else:
        candidates = [(prefixed, False), (prefixed, True)]
    for path, is_flow in candidates:
        try:
            if is_flow:
                await flow_store.latest(conn, ws, path)
            else:
                await script_store.latest(conn, ws, path)
            return path, is_flow
        except NotFound:
            continue
    raise NotFound(f"no script or flow at {prefixed!r} for the failure handler",
                   hint="error_handler_path: script/f/… or flow/f/…, deployed first")


async def _trigger_of(conn: AsyncConnection[Any], o: dict[str, Any]) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    if o["trigger_kind"] == "http":
        await cur.execute("SELECT workspace_id, 'http' AS kind, path, script_path, is_flow,"
                          " edited_by, permissioned_as, extra->>'error_handler_path' AS"
                          " error_handler_path, extra->'error_handler_args' AS"
                          " error_handler_args FROM http_triggers WHERE workspace_id = %s"
                          " AND path = %s", (o["workspace_id"], o["trigger_path"]))
    else:
        await cur.execute("SELECT * FROM event_triggers WHERE workspace_id = %s AND kind = %s"
                          " AND path = %s", (o["workspace_id"], o["trigger_kind"],
                                             o["trigger_path"]))
    return await cur.fetchone()


async def process_outcomes(conn: AsyncConnection[Any], batch: int = 100) -> int:
    """Run the failure handler of each failed triggered run (each once, whatever the number
    of daemons: the rows are taken with SKIP LOCKED and deleted). Returns how many."""
    async with conn.transaction():
        cur = conn.cursor(row_factory=dict_row)
        await cur.execute(
            "DELETE FROM trigger_outcomes WHERE job_id IN (SELECT job_id FROM trigger_outcomes"
            " ORDER BY completed_at LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING *", (batch,))
        outcomes = sorted(await cur.fetchall(), key=lambda o: (o["completed_at"], o["job_id"]))
        for o in outcomes:
            row = await _trigger_of(conn, o)
            if row is None or not row["error_handler_path"]:
                continue
            await _run_handler(conn, row, o)
    return len(outcomes)


async def _run_handler(conn: AsyncConnection[Any], row: dict[str, Any],
                       o: dict[str, Any]) -> None:
    result = o["result"]
    error = result.get("error", result) if isinstance(result, dict) else result
    # Windmill's trigger error handler arguments
    args: dict[str, Any] = {
        "error": error, "path": row["script_path"], "is_flow": row["is_flow"],
        "trigger_path": f"{row['kind']}/{row['path']}", "workspace_id": row["workspace_id"],
        "email": f"{row['edited_by']}@tidemill.local", "job_id": str(o["job_id"]),
        "started_at": o["started_at"].isoformat() if o["started_at"] else None}
    if isinstance(row["error_handler_args"], dict):
        args.update(row["error_handler_args"])
    try:
        async with conn.transaction():
            path, is_flow = await handler_target(conn, row["workspace_id"],
                                                 row["error_handler_path"])
            await push_item(conn, workspace=row["workspace_id"], path=path, is_flow=is_flow,
                            args=args, created_by=row["edited_by"],
                            permissioned_as=row["permissioned_as"],
                            trigger_path=f"{row['kind']}/{row['path']}", schedule_path=None,
                            trigger_kind=None,
                            extra={"trigger_handler_of": f"{row['kind']}/{row['path']}"})
    except Exception as exc:  # the outcome is consumed; the trigger shows why
        message = f"could not run the failure handler {row['error_handler_path']}:" \
                  f" {_message(exc)}"
        log.warning("%s trigger %s: %s", row["kind"], row["path"], message)
        if row["kind"] == "http":
            await conn.execute("UPDATE http_triggers SET last_error = %s WHERE workspace_id = %s"
                               " AND path = %s", (message, row["workspace_id"], row["path"]))
        else:
            await conn.execute("UPDATE event_triggers SET last_error = %s, last_error_at = now()"
                               " WHERE workspace_id = %s AND kind = %s AND path = %s",
                               (message, row["workspace_id"], row["kind"], row["path"]))


def check_handler_prefix(prefixed: str) -> None:
    if not prefixed.startswith(("script/", "flow/", "f/", "u/")):
        raise UsageError(f"'error_handler_path' {prefixed!r} must be script/<path>,"
                         " flow/<path> or a script's path")
