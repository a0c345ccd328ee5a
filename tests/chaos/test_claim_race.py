"""One claim never takes more rows than its limit, whatever plan PostgreSQL picks."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from psycopg import AsyncConnection

from desktop_app.core.jobs import JobStatus
from desktop_app.queue import queue
from desktop_app.queue.model import NewJob

TAG = "python3"


async def _push(conn: AsyncConnection[Any], n: int) -> list[uuid.UUID]:
    return await queue.push_many(conn, [NewJob(kind="script", tag=TAG, created_by="t",
                                               raw_code="def main(): pass") for _ in range(n)])


async def _race(url: str, *, claimers: int, jobs: int, settings: dict[str, str],
                updaters: int) -> tuple[int, list[int]]:
    """Push `jobs`, let `claimers` claim (limit 1) while `updaters` touch rows; returns
    (jobs claimed, sizes of claims that took more than one row)."""
    opts = " ".join(f"-c {k}={v}" for k, v in settings.items())
    async with await AsyncConnection.connect(url, autocommit=True) as c:
        await _push(c, jobs)
    done = asyncio.Event()
    over: list[int] = []
    taken: list[uuid.UUID] = []

    async def claimer(i: int) -> None:
        async with await AsyncConnection.connect(url, autocommit=True, options=opts) as c:
            idle = 0
            while idle < 20:
                got = await queue.claim(c, f"w{i}", [TAG], 1)
                if len(got) > 1:
                    over.append(len(got))
                if not got:
                    idle += 1
                    await asyncio.sleep(0.005)
                    continue
                idle = 0
                taken.extend(j.id for j in got)
                for j in got:
                    await queue.heartbeat(c, j.id)
                    await queue.complete(c, j.id, JobStatus.SUCCESS, None)

    async def updater() -> None:
        async with await AsyncConnection.connect(url, autocommit=True) as c:
            while not done.is_set():
                # heartbeats of running rows and touches of queued ones
                await c.execute("UPDATE job_queue SET last_ping = now()"
                                " WHERE id IN (SELECT id FROM job_queue ORDER BY random() LIMIT 3)")
                await asyncio.sleep(0)

    ups = [asyncio.create_task(updater()) for _ in range(updaters)]
    await asyncio.gather(*(claimer(i) for i in range(claimers)))
    done.set()
    await asyncio.gather(*ups)
    return len(taken), over


async def _seed_history(url: str, n: int, stats: str) -> None:
    """A database that ran `n` jobs. `empty`: ANALYZE saw an empty queue (as autovacuum does
    on a database between bursts: the plan that took every row); `large`: it saw thousands
    of waiting rows (left in place, not due)."""
    async with await AsyncConnection.connect(url, autocommit=True) as c:
        for _ in range(n // 500):
            ids = await _push(c, 500)
            await queue.complete_many(c, [(i, JobStatus.SUCCESS, None) for i in ids])
        if stats == "large":
            await queue.push_many(c, [NewJob(kind="script", tag="elsewhere", created_by="t",
                                             scheduled_for=datetime.now(UTC) + timedelta(days=1))
                                      for _ in range(5000)])
        await c.execute("ANALYZE job_queue")


PLANS = {
    "default": {},
    "no-hash-no-merge": {"enable_hashjoin": "off", "enable_mergejoin": "off"},
    "no-hash-no-merge-no-material": {"enable_hashjoin": "off", "enable_mergejoin": "off",
                                     "enable_material": "off"},
    "generic": {"plan_cache_mode": "force_generic_plan"},
    "generic-nested": {"plan_cache_mode": "force_generic_plan", "enable_hashjoin": "off",
                       "enable_mergejoin": "off", "enable_material": "off"},
    "no-nestloop": {"enable_nestloop": "off"},
}


@pytest.mark.parametrize("stats", ["empty", "large"])
@pytest.mark.parametrize("plan", list(PLANS))
async def test_claim_never_takes_more_than_its_limit(database_url: str, plan: str,
                                                     stats: str) -> None:
    """Four claimers race (their statement prepared after five runs, as psycopg does) while
    two other sessions update the rows; every claim has limit 1. Before the claim became a
    materialized CTE, the `default` plan on `empty` statistics took all 200 rows at once."""
    await _seed_history(database_url, 3000, stats)
    claimed, over = await _race(database_url, claimers=4, jobs=200, settings=PLANS[plan],
                                updaters=2)
    assert not over, f"plan {plan}, {stats} statistics: claims of limit 1 took {over} rows"
    assert claimed == 200, f"plan {plan}, {stats} statistics: {claimed} of 200 jobs claimed"
