"""Wake the requests that wait for a job (run_wait_result) the moment it completes.

One LISTEN connection per daemon receives every completion; waiters register a
future before the job is pushed, so a job finishing instantly is never missed. A
slow poll backs up NOTIFY, which can be lost while the connection reconnects.

The same connection carries other channels the API `watch`es (a deployed script
invalidates cached lookups); their handlers get None after each (re)connect, when
notifications may have been missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import AsyncConnection

from desktop_app.core.errors import WaitTimeout
from desktop_app.queue.notify import DONE_CHANNEL, Done, parse_done

log = logging.getLogger(__name__)


class CompletionWaiter:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        # A waiter's future gets the completion's NOTIFY (`Done`), or None when woken
        # to look for itself (a reconnect, a batch completion).
        self._waiting: dict[uuid.UUID, list[asyncio.Future[Done | None]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._handlers: dict[str, Callable[[str | None], None]] = {}
        self.connected = asyncio.Event()

    def watch(self, channel: str, handler: Callable[[str | None], None]) -> None:
        """Call `handler(payload)` for each notification on `channel` (before `start`)."""
        assert self._task is None, "watch() channels before start()"
        self._handlers[channel] = handler

    def start(self) -> None:
        self._task = asyncio.create_task(self._listen())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def register(self, job_id: uuid.UUID) -> asyncio.Future[Done | None]:
        fut: asyncio.Future[Done | None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(job_id, []).append(fut)
        return fut

    def unregister(self, job_id: uuid.UUID, fut: asyncio.Future[Done | None]) -> None:
        futs = self._waiting.get(job_id)
        if futs and fut in futs:
            futs.remove(fut)
            if not futs:
                del self._waiting[job_id]

    def _wake(self, job_id: uuid.UUID | None, done: Done | None = None) -> None:
        targets = list(self._waiting.values()) if job_id is None else [self._waiting.get(job_id, [])]
        for futs in targets:
            for fut in futs:
                if not fut.done():
                    fut.set_result(done)

    def wake_all(self) -> None:
        self._wake(None)

    async def _listen(self) -> None:
        while True:
            try:
                conn = await AsyncConnection.connect(self.database_url, autocommit=True)
                async with conn:
                    await conn.execute(f"LISTEN {DONE_CHANNEL}")
                    for channel, handler in self._handlers.items():
                        await conn.execute(f"LISTEN {channel}")
                        handler(None)
                    self.connected.set()
                    self.wake_all()  # re-check anything that finished while we were away
                    async for note in conn.notifies():
                        if note.channel in self._handlers:
                            self._handlers[note.channel](note.payload)
                            continue
                        if note.payload == "*":
                            self.wake_all()
                            continue
                        with contextlib.suppress(ValueError):
                            done = parse_done(note.payload)
                            self._wake(done.job_id, done)
            except psycopg.OperationalError as exc:
                self.connected.clear()
                log.warning("completion listener lost the database: %s", exc)
                await asyncio.sleep(0.5)

    async def wait(self, fut: asyncio.Future[Any], timeout: float) -> bool:
        """Wait for a wake-up; False on timeout (the caller then checks the database)."""
        try:
            await asyncio.wait_for(asyncio.shield(fut), timeout)
            return True
        except TimeoutError:
            return False


# -- waiting for one job -----------------------------------------------------------------

async def wait_completed(state: Any, workspace: str, job_id: uuid.UUID,
                         fut: asyncio.Future[Done | None] | None = None) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + state.sync_timeout_s
    fut = fut or state.waiter.register(job_id)
    try:
        while True:
            # A 1 s poll backs up a NOTIFY lost while the listener reconnected.
            await state.waiter.wait(fut, min(1.0, max(deadline - loop.time(), 0.01)))
            told = fut.result() if fut.done() else None
            if told is not None and told.status is not None and told.workspace == workspace:
                return {"status": told.status, "result": told.result}  # no query needed
            row = await _completed_row(state, workspace, job_id)
            if row is not None:
                return row
            if loop.time() >= deadline:
                raise WaitTimeout(
                    f"job {job_id} did not finish within {state.sync_timeout_s:g} s and keeps"
                         f" running; fetch its result later with"
                         f" jobs_u/completed/get_result_maybe/{job_id}")
            if fut.done():  # woken for another job (a batch completion): wait again
                state.waiter.unregister(job_id, fut)
                fut = state.waiter.register(job_id)
    finally:
        state.waiter.unregister(job_id, fut)


async def _completed_row(state: Any, workspace: str, job_id: uuid.UUID) -> dict[str, Any] | None:
    async with state.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT status, result FROM job_completed WHERE id = %s AND workspace_id = %s",
            (job_id, workspace))
        row = await cur.fetchone()
        if row is None:
            # A flow with `early_return` answers sync callers before it ends.
            cur = await conn.execute(
                "SELECT flow_status->'tidemill'->'early' FROM job_queue WHERE id = %s"
                " AND kind = 'flow'", (job_id,))
            early = await cur.fetchone()
            if early is not None and early[0] is not None:
                return {"status": "success", "result": early[0]["result"]}
    return {"status": row[0], "result": row[1]} if row else None
