"""What auditing every run costs the push: single-row pushes (autocommit, fsync on) into a
fresh embedded PostgreSQL with the audit trigger of migration 0011 disabled, then enabled,
alternating for a few rounds. Prints JSON (microseconds per push, per round):

    python tests/benchmarks/bench_audit_trigger.py [--pushes 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from psycopg import AsyncConnection

from desktop_app.db.embedded import EmbeddedPostgres
from desktop_app.db.migrate import migrate
from desktop_app.queue import queue
from desktop_app.queue.model import NewJob


async def pushes(url: str, n: int) -> float:
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        t = time.perf_counter()
        for i in range(n):
            await queue.push(conn, NewJob(kind="script", tag="nobody", created_by="admin",
                                          permissioned_as="u/admin", script_path="f/b/h",
                                          args={"i": i}))
        spent = time.perf_counter() - t
        await conn.execute("DELETE FROM job_queue")
    return round(spent * 1e6 / n, 1)


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--pushes", type=int, default=2000)
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args()
    pg = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="tm-audit-bench-")) / "pg")
    url = pg.start()
    migrate(url)
    out: dict[str, list[float]] = {"without_trigger_us": [], "with_trigger_us": []}
    try:
        async with await AsyncConnection.connect(url, autocommit=True) as c:
            for _ in range(a.rounds):
                await c.execute("ALTER TABLE job_queue DISABLE TRIGGER job_queue_audit_runs")
                out["without_trigger_us"].append(await pushes(url, a.pushes))
                await c.execute("ALTER TABLE job_queue ENABLE TRIGGER job_queue_audit_runs")
                out["with_trigger_us"].append(await pushes(url, a.pushes))
            cur = await c.execute("SELECT count(*) FROM audit_log")
            audited = (await cur.fetchone() or (0,))[0]
    finally:
        pg.stop()
    print(json.dumps({"benchmark": "audit_trigger", "pushes": a.pushes, **out,
                      "audit_rows": audited}, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
