"""Benchmark: 5,000 jobs from 50 clients on a daemon whose database already ran 3,000 jobs.
Each job appends its id to a file; prints JSON: accepted, succeeded, failed (by error
name), lost (accepted and never ran), duplicated (ran more than once), time to drain.

A real daemon on its own embedded PostgreSQL (secrets in an encrypted file), as
tests/chaos/ starts it. Run by hand, from the checkout to measure:

    PYTHONPATH=$PWD python3 tests/benchmarks/bench_chaos.py [--jobs 5000] [--clients 50]

To measure another checkout (e.g. the commit before a fix) with this script:

    cd /path/to/old && PYTHONPATH=$PWD python3 /path/to/new/tests/benchmarks/bench_chaos.py

(the helpers in tests/chaos/ are found next to this script when the old checkout has none).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[2]))  # after PYTHONPATH: its code wins

from tests.chaos import burst
from tests.e2e.daemon_harness import RunningDaemon, free_port
from tests.support.pg import discard_server


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=5000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--history", type=int, default=3000, help="jobs the database already ran")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--drain-timeout", type=float, default=900)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-chaos-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        d = RunningDaemon(home=home, port=free_port(), database_url=None, workers=args.workers,
                          extra_env={"TIDEMILL_SECRETS": "encrypted-file",
                                     "TIDEMILL_SECRETS_PASSPHRASE": "bench-chaos"})
        d.start(timeout=180)
        log = Path(tmp) / "ran.log"
        try:
            d.deploy(burst.PATH, burst.APPEND)
            url = burst.database_url(home)
            burst.seed_history(url, args.history)
            ledger = burst.Ledger()
            t0 = time.monotonic()
            burst.submit(d, ledger, log, args.jobs, clients=args.clients)
            submitted_s = time.monotonic() - t0
            done = burst.wait_done(url, ledger.accepted, args.drain_timeout)
            drain_s = time.monotonic() - t0
            runs = burst.ran(log)
            failed = Counter(name or status for status, name in done.values()
                             if status != "success")
            print(json.dumps({
                "jobs": args.jobs, "clients": args.clients, "history": args.history,
                "workers": args.workers,
                "accepted": len(ledger.accepted),
                "succeeded": sum(1 for s, _ in done.values() if s == "success"),
                "failed": dict(failed),
                "lost": sum(1 for i in ledger.accepted if i not in runs),
                "not_completed": len(ledger.accepted) - len(done),
                "duplicated": sum(1 for k in runs.values() if k > 1),
                "submit_s": round(submitted_s, 1),
                "time_to_drain_s": round(drain_s, 1),
            }))
        finally:
            d.stop()
            discard_server(burst.EmbeddedPostgres(home))


if __name__ == "__main__":
    main()
