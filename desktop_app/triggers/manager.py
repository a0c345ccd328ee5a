"""The trigger manager, a daemon task: runs the listeners this daemon owns, the SMTP
listener, and the failure handlers of triggered runs.

Ownership: each enabled WebSocket/Postgres/MQTT trigger is listened to by exactly one
daemon, the one holding its session-level advisory lock on the manager's own connection.
Every round (on NOTIFY tidemill_triggers, else each `poll_s`) the manager reads the enabled
triggers, tries the locks of those nobody listens to, stops listeners whose trigger was
disabled, deleted or edited (an edit restarts it), checks in `pg_locks` that it still holds
each lock it thinks it holds, and writes `last_server_ping`. If its connection dies, the
locks go with it: it stops all its listeners at once, and another daemon (or itself, after
reconnecting) takes them over within a round.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import dict_row

from desktop_app.core.event_triggers import OWNED_KINDS
from desktop_app.triggers import runs
from desktop_app.triggers.listeners import ListenerContext, run_listener
from desktop_app.triggers.smtp import SmtpListener
from desktop_app.triggers.store import CHANNEL

log = logging.getLogger("tidemill.triggers")

#: advisory lock class of trigger ownership (the objid is a hash of the trigger's key)
LOCK_CLASS = 74611


def trigger_key(row: dict[str, Any]) -> str:
    return f"{row['workspace_id']}:{row['kind']}:{row['path']}"


@dataclass
class _Owned:
    row: dict[str, Any]
    lock_id: int
    task: asyncio.Task[None]


class TriggerManager:
    def __init__(self, state: Any, server_id: str, *, smtp_host: str = "127.0.0.1",
                 smtp_port: int | None = 2525, poll_s: float = 1.0) -> None:
        self.state = state
        self.server_id = server_id
        self.poll_s = poll_s
        self.owned: dict[str, _Owned] = {}
        self.smtp = SmtpListener(state, smtp_host, smtp_port) if smtp_port is not None else None
        self._conn: AsyncConnection[Any] | None = None

    async def run(self) -> None:
        while True:
            try:
                async with await AsyncConnection.connect(
                        self.state.database_url, autocommit=True,
                        application_name=f"tidemill trigger manager {self.server_id}"[:63],
                ) as conn:
                    self._conn = conn
                    await conn.execute(f"LISTEN {CHANNEL}")
                    while True:
                        await self.round(conn)
                        await self._wait(conn)
            except asyncio.CancelledError:
                await self.stop_all()
                raise
            except psycopg.OperationalError as exc:
                log.warning("trigger manager lost the database: %s", str(exc).strip())
            except Exception:  # the manager outlives any one bad round
                log.exception("trigger manager round failed")
            # The locks died with the connection (or may have): nothing is ours any more.
            await self._stop_listeners()
            self._conn = None
            await asyncio.sleep(1.0)

    async def _wait(self, conn: AsyncConnection[Any]) -> None:
        async for _ in conn.notifies(timeout=self.poll_s, stop_after=1):
            pass

    async def round(self, conn: AsyncConnection[Any]) -> None:
        cur = conn.cursor(row_factory=dict_row)
        await cur.execute("SELECT *, hashtext(workspace_id || ':' || kind || ':' || path)"
                          " AS lock_id FROM event_triggers WHERE mode = 'enabled' OR"
                          " kind = 'email'")
        rows = await cur.fetchall()
        wanted = {trigger_key(r): r for r in rows
                  if r["kind"] in OWNED_KINDS and r["mode"] == "enabled"}
        await self._check_locks(conn)
        for key, owned in list(self.owned.items()):
            row = wanted.get(key)
            if row is None or row["edited_at"] != owned.row["edited_at"] or owned.task.done():
                await self._release(conn, key)
        for key, row in wanted.items():
            if key in self.owned:
                continue
            cur2 = await conn.execute("SELECT pg_try_advisory_lock(%s, %s)",
                                      (LOCK_CLASS, row["lock_id"]))
            got = await cur2.fetchone()
            if got and got[0]:
                self._start(row)
        if self.owned:
            keys = [(o.row["workspace_id"], o.row["kind"], o.row["path"])
                    for o in self.owned.values()]
            await conn.execute(
                "UPDATE event_triggers t SET server_id = %s, last_server_ping = now()"
                " FROM unnest(%s::text[], %s::text[], %s::text[]) AS k(ws, kind, path)"
                " WHERE t.workspace_id = k.ws AND t.kind = k.kind AND t.path = k.path",
                (self.server_id, [k[0] for k in keys], [k[1] for k in keys],
                 [k[2] for k in keys]))
        # Side duties: a failure in one of them is logged and retried next round, and never
        # costs this daemon its listeners (only a lost connection does).
        await self._duty("the SMTP listener",
                         self._smtp_round(conn, [r for r in rows if r["kind"] == "email"]))
        await self._duty("failure handlers", self._outcomes(conn))

    async def _outcomes(self, conn: AsyncConnection[Any]) -> None:
        while await runs.process_outcomes(conn):
            pass

    async def _duty(self, what: str, work: Any) -> None:
        try:
            await work
        except psycopg.OperationalError:
            raise
        except Exception:
            log.exception("trigger manager: %s failed this round", what)

    async def _check_locks(self, conn: AsyncConnection[Any]) -> None:
        """Stop listeners whose lock this session no longer holds (it should never happen
        while the connection lives; if it does, two daemons must not both listen)."""
        if not self.owned:
            return
        cur = await conn.execute(
            "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND"
            " pid = pg_backend_pid() AND classid = %s::oid AND objsubid = 2 AND granted",
            (LOCK_CLASS,))
        held = {int(r[0]) for r in await cur.fetchall()}
        for key, owned in list(self.owned.items()):
            if owned.lock_id & 0xFFFFFFFF not in held:
                log.warning("lost the lock of trigger %s: stopping its listener", key)
                await self._cancel(self.owned.pop(key))

    def _start(self, row: dict[str, Any]) -> None:
        ctx = ListenerContext(row=row, state=self.state, server_id=self.server_id)
        task = asyncio.create_task(self._guarded(ctx), name=f"trigger {trigger_key(row)}")
        self.owned[trigger_key(row)] = _Owned(row, row["lock_id"], task)
        log.info("listening for %s trigger %s", row["kind"], row["path"])

    async def _guarded(self, ctx: ListenerContext) -> None:
        try:
            await run_listener(ctx)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug in one listener must not touch the others
            log.exception("listener of %s crashed", trigger_key(ctx.row))
            await runs.record_error(self.state.pool, ctx.row, f"listener crashed: {exc!r}")

    async def _cancel(self, owned: _Owned) -> None:
        """Cancel a listener; wait a little for it to close its connection, never long (a
        peer that does not answer a close must not hold up the other triggers)."""
        owned.task.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.wait({owned.task}, timeout=2.0)

    async def _release(self, conn: AsyncConnection[Any], key: str) -> None:
        owned = self.owned.pop(key)
        await self._cancel(owned)
        await conn.execute("SELECT pg_advisory_unlock(%s, %s)", (LOCK_CLASS, owned.lock_id))
        await conn.execute("UPDATE event_triggers SET status = NULL WHERE workspace_id = %s"
                           " AND kind = %s AND path = %s AND server_id = %s",
                           (owned.row["workspace_id"], owned.row["kind"], owned.row["path"],
                            self.server_id))

    async def _stop_listeners(self) -> None:
        for key in list(self.owned):
            await self._cancel(self.owned.pop(key))

    async def _smtp_round(self, conn: AsyncConnection[Any], email: list[dict[str, Any]]) -> None:
        """The SMTP port is open only while there is an email trigger."""
        if self.smtp is None:
            return
        if not email:
            await self.smtp.stop()
            return
        if self.smtp.server is None and not await self.smtp.start():
            await conn.execute("UPDATE event_triggers SET last_error = %s, last_error_at = now(),"
                               " status = 'error' WHERE kind = 'email' AND mode = 'enabled'"
                               " AND last_error IS DISTINCT FROM %s",
                               (self.smtp.error, self.smtp.error))
            return
        await conn.execute("UPDATE event_triggers SET status = 'listening', server_id = %s,"
                           " last_server_ping = now(), last_error = CASE WHEN last_error LIKE"
                           " 'the SMTP listener cannot listen%%' THEN NULL ELSE last_error END"
                           " WHERE kind = 'email' AND mode = 'enabled'",
                           (f"{self.server_id} smtp {self.smtp.address}",))

    async def stop_all(self) -> None:
        await self._stop_listeners()
        if self.smtp is not None:
            await self.smtp.stop()
