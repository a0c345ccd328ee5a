"""The enqueue path alone: `POST /api/w/{ws}/jobs/run/p/{path}` (Windmill's async webhook)
from one client, one request at a time, against a daemon with no workers (so nothing else
runs on the machine's cores meanwhile). Reports the accept latency p50/p95, the floor of an
authenticated request on the same connection (`GET /api/version`), and the API process's
CPU time per post. Prints JSON:

    python tests/benchmarks/bench_enqueue.py [--posts 1000] [--profile FILE]

`--profile FILE` samples the daemon with py-spy (raw collapsed stacks) during the posts.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from desktop_app.db.embedded import EmbeddedPostgres
from tests.benchmarks.bench_webhooks import cpu_seconds, percentile
from tests.e2e.daemon_harness import RunningDaemon, free_port

PATH = "f/bench/hook"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--posts", type=int, default=1000)
    p.add_argument("--profile", type=Path)
    a = p.parse_args()
    root = Path(tempfile.mkdtemp(prefix="tm-enqueue-bench-"))
    pg = EmbeddedPostgres(root / "pg")
    db_url = pg.start()
    d = RunningDaemon(home=root / "home", port=free_port(), database_url=db_url, workers=0,
                      heartbeat=2.0,
                      extra_env={"TIDEMILL_SECRETS": "encrypted-file",
                                 "TIDEMILL_SECRETS_PASSPHRASE": "benchmark",
                                 "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    try:
        d.start()
        d.deploy(PATH, "def main(i: int = 0):\n    return i\n")
        with d.http() as c:
            r = c.post("/api/users/tokens/create", json={"label": "bench", "scope": "run:f/bench/*"})
            assert r.status_code == 201, r.text
            hook = {"Authorization": f"Bearer {r.text}"}
            for i in range(50):  # warm-up: the pool's connections, the script cache
                c.post(f"/api/w/main/jobs/run/p/{PATH}", json={"i": i}, headers=hook)
                c.get("/api/version")
            spy = None
            if a.profile:
                assert d.proc is not None
                spy = subprocess.Popen(["py-spy", "record", "-p", str(d.proc.pid), "-r", "500",
                                        "-f", "raw", "-o", str(a.profile)],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(1)
            assert d.proc is not None
            cpu0 = cpu_seconds(d.proc.pid)
            post, version = [], []
            for i in range(a.posts):
                t0 = time.perf_counter()
                r = c.post(f"/api/w/main/jobs/run/p/{PATH}", json={"i": i}, headers=hook)
                post.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 201, r.text
                if i % 4 == 0:
                    t0 = time.perf_counter()
                    c.get("/api/version")
                    version.append((time.perf_counter() - t0) * 1000)
            cpu = cpu_seconds(d.proc.pid) - cpu0
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait(30)
        print(json.dumps({
            "benchmark": "enqueue (one client)", "posts": a.posts,
            "post_p50_ms": round(statistics.median(post), 2),
            "post_p95_ms": round(percentile(post, 95), 2),
            "version_p50_ms": round(statistics.median(version), 2),
            "api_cpu_ms_per_request": round(cpu * 1000 / (a.posts + len(version)), 2),
            "load_average": os.getloadavg()[0],
        }, indent=2))
    finally:
        d.stop()
        pg.stop()


if __name__ == "__main__":
    main()
