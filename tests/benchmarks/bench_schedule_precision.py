"""Benchmark: schedule precision. A `*/1` seconds schedule runs `def main(): return 1` on a
real daemon (fresh embedded PostgreSQL, 2 workers) for 60 s; the lag of each run is its
`started_at` minus its planned fire time (`scheduled_for`). Prints JSON:

    python tests/benchmarks/bench_schedule_precision.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import psycopg

from desktop_app.db.embedded import EmbeddedPostgres
from tests.e2e.daemon_harness import RunningDaemon, free_port


def percentile(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=int, default=60)
    p.add_argument("--workers", type=int, default=2)
    a = p.parse_args()
    root = Path(tempfile.mkdtemp(prefix="tm-sched-bench-"))
    pg = EmbeddedPostgres(root / "pg")
    url = pg.start()
    d = RunningDaemon(home=root / "home", port=free_port(), database_url=url,
                      workers=a.workers, heartbeat=2.0,
                      extra_env={"TIDEMILL_SECRETS": "encrypted-file",
                                 "TIDEMILL_SECRETS_PASSPHRASE": "benchmark"})
    try:
        d.start()
        d.deploy("f/bench/one", "def main():\n    return 1\n")
        d.run_wait("f/bench/one")  # warm-up: venv and workers ready
        r = d.api("POST", "schedules/create", json={
            "path": "f/bench/every_second", "schedule": "*/1 * * * * *", "timezone": "UTC",
            "script_path": "f/bench/one", "is_flow": False})
        assert r.status_code == 201, r.text
        time.sleep(a.seconds)
        d.api("POST", "schedules/setenabled/f/bench/every_second", json={"enabled": False})
        time.sleep(2)
        with psycopg.connect(url, autocommit=True) as c:
            rows = c.execute(
                "SELECT extract(epoch FROM started_at - scheduled_for) * 1000,"
                " extract(epoch FROM completed_at - scheduled_for) * 1000, status"
                " FROM job_completed WHERE schedule_path = 'f/bench/every_second'"
                " ORDER BY scheduled_for").fetchall()
        start_lag = [float(r[0]) for r in rows]
        done_lag = [float(r[1]) for r in rows]
        print(json.dumps({
            "benchmark": "schedule precision (*/1 seconds)",
            "duration_s": a.seconds, "workers": a.workers, "runs": len(rows),
            "failed": sum(1 for r in rows if r[2] != "success"),
            "start_lag_median_ms": round(statistics.median(start_lag), 1),
            "start_lag_p99_ms": round(percentile(start_lag, 99), 1),
            "start_lag_max_ms": round(max(start_lag), 1),
            "start_lag_min_ms": round(min(start_lag), 1),
            "completed_lag_median_ms": round(statistics.median(done_lag), 1),
        }, indent=2))
    finally:
        d.stop()
        pg.stop()


if __name__ == "__main__":
    main()
