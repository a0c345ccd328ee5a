"""Jobs the daemon completes itself, without a process: the timers of flows (a `sleep`
between steps, an approval's timeout) and flows waiting for a concurrency slot. A
sleeping flow is a row with a due time."""

from __future__ import annotations

import asyncio
import logging

import psycopg
from psycopg import AsyncConnection

from desktop_app.core.jobs import JobStatus
from desktop_app.flows.engine import start_waiting_flow
from desktop_app.flows.run import INTERNAL_TAG
from desktop_app.queue import queue

log = logging.getLogger(__name__)


async def run_internal_jobs(database_url: str, poll_s: float = 0.1) -> None:
    while True:
        try:
            async with await AsyncConnection.connect(database_url, autocommit=True) as conn:
                while True:
                    async with conn.transaction():
                        due = await queue.claim(conn, "daemon", [INTERNAL_TAG], limit=100)
                        for job in due:
                            if job.kind == "flow":  # parked by its concurrency limit
                                await start_waiting_flow(conn, job)
                                continue
                            await queue.complete(conn, job.id, JobStatus.SUCCESS,
                                                 job.args.get("value"))
                    if not due:
                        await asyncio.sleep(poll_s)
        except psycopg.OperationalError as exc:
            log.warning("internal jobs lost the database: %s", str(exc).strip())
            await asyncio.sleep(0.5)
