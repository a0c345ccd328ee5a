"""Workflow-as-code benchmarks:

(a) a workflow of 40 sequential trivial tasks: total seconds;
(b) 40 `step()` checkpoints in one workflow: the run's time / 40 (`step_checkpoint_ms`);
    what a run's first step adds (`first_step_ms`: it also builds the SDK's HTTP client) and
    each further one (`step_marginal_ms`; DBOS records a step in ~1 ms);
(c) 1,000 workflows each sleeping 60 s: time to park them all, workers busy while parked
    (must be 0), and the daemon's memory (daemon + workers, RSS) before and after.

    python tests/benchmarks/bench_workflows.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx

from desktop_app.db.embedded import EmbeddedPostgres
from tests.e2e.daemon_harness import RunningDaemon, free_port

HEAD = "import wmill\nfrom wmill import task, workflow, step\n\n"
TASKS40 = HEAD + ("@task\nasync def one(i: int):\n    return i\n\n@workflow\nasync def main():\n"
                  "    total = 0\n    for i in range(40):\n        total += await one(i)\n"
                  "    return total\n")
STEPS40 = HEAD + ("@workflow\nasync def main():\n    total = 0\n    for i in range(40):\n"
                  "        total += await step(f's{i}', lambda i=i: i)\n    return total\n")
# The same workflow without its steps, and with one: a run's first step() also builds the
# SDK's HTTP client (TLS context included) in the job. (steps40 - steps1) / 39 is what
# each further step() adds (DBOS's ~1 ms is measured that way); steps1 - steps0 is the
# first one.
STEPS0 = HEAD + ("@workflow\nasync def main():\n    total = 0\n    for i in range(40):\n"
                 "        total += i\n    return total\n")
STEPS1 = HEAD + ("@workflow\nasync def main():\n    total = await step('s0', lambda: 0)\n"
                 "    for i in range(40):\n        total += i\n    return total\n")
N_SLEEPERS = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
SLEEPER = HEAD + "@workflow\nasync def main():\n    await wmill.sleep(60)\n    return 'woke'\n"


def rss_mb(pid: int) -> float:
    pids = [pid] + [int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                                                   text=True).stdout.split()]
    total = 0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def timed(d: RunningDaemon, path: str) -> float:
    t0 = time.perf_counter()
    status, result = d.run_wait(path)
    assert status == "success", (path, result)
    return time.perf_counter() - t0


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="tm-wac-bench-"))
    pg = EmbeddedPostgres(root / "pg")
    url = pg.start()
    d = RunningDaemon(home=root / "home", port=free_port(), database_url=url, workers=2,
                      heartbeat=2.0, extra_env={"TIDEMILL_SECRETS": "encrypted-file",
                                                "TIDEMILL_SECRETS_PASSPHRASE": "benchmark"})
    try:
        d.start()
        d.deploy("f/b/tasks40", TASKS40)
        d.deploy("f/b/steps40", STEPS40)
        d.deploy("f/b/steps0", STEPS0)
        d.deploy("f/b/steps1", STEPS1)
        d.deploy("f/b/sleeper", SLEEPER)
        timed(d, "f/b/steps40")  # warm: venv with wmill built
        tasks40 = min(timed(d, "f/b/tasks40") for _ in range(2))
        steps40 = min(timed(d, "f/b/steps40") for _ in range(3))
        steps0 = min(timed(d, "f/b/steps0") for _ in range(3))
        steps1 = min(timed(d, "f/b/steps1") for _ in range(3))
        assert d.proc is not None
        before = rss_mb(d.proc.pid)
        t0 = time.perf_counter()
        with httpx.Client(base_url=d.url, headers={"Authorization": f"Bearer {d.token}"}) as c:
            for _ in range(N_SLEEPERS):
                c.post("/api/w/main/jobs/run/p/f/b/sleeper", json={})
            while True:  # parked = every sleeper ran its first round and holds no worker
                running = c.get("/api/w/main/jobs/list", params={"running": "true",
                                                                 "per_page": 1000}).json()
                due = c.get("/api/w/main/jobs/list", params={"per_page": 1000}).json()
                waiting = [j for j in due if j["type"] == "QueuedJob" and j["attempt"] == 0
                           and not j["running"] and j.get("last_ping") is None
                           and j["started_at"] is None]
                if not running and not waiting:
                    break
                time.sleep(0.5)
        park_s = time.perf_counter() - t0
        time.sleep(2)
        after = rss_mb(d.proc.pid)
        with httpx.Client(base_url=d.url, headers={"Authorization": f"Bearer {d.token}"}) as c:
            busy = c.get("/api/w/main/jobs/list", params={"running": "true"}).json()
        print(json.dumps({
            "benchmark": "workflow-as-code",
            "tasks40_s": round(tasks40, 3), "tasks40_per_task_ms": round(tasks40 / 40 * 1000, 1),
            "steps40_s": round(steps40, 3), "step_checkpoint_ms": round(steps40 / 40 * 1000, 2),
            "steps0_s": round(steps0, 3), "steps1_s": round(steps1, 3),
            "first_step_ms": round((steps1 - steps0) * 1000, 1),
            "step_marginal_ms": round((steps40 - steps1) / 39 * 1000, 2),
            "sleepers": N_SLEEPERS, "park_all_s": round(park_s, 1), "running_while_parked": len(busy),
            "daemon_rss_before_mb": round(before, 1), "daemon_rss_after_mb": round(after, 1),
            "extra_mb": round(after - before, 1),
        }, indent=2))
    finally:
        d.stop()
        pg.stop()


if __name__ == "__main__":
    main()
