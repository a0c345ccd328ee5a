"""Where a job's time goes, process by process: sequential `run_wait_result` calls against a
daemon with one worker, and the CPU time each kind of process spent per run (PostgreSQL,
the daemon, the worker, the Python zygote with the job it forked). A sequential run is a
chain through these processes, so its wall time is close to the sum of their CPU.

Two scripts: a trivial one (`return 1`) and one that imports `requests` (what byte-compiled
venvs are for: a job sees its venv read-only and cannot cache a compiled module itself).
Prints JSON:

    python tests/benchmarks/bench_job_cpu.py [--runs 300] [--import-runs 30]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx
import psutil

from desktop_app.db.embedded import EmbeddedPostgres
from tests.benchmarks.bench_webhooks import percentile
from tests.e2e.daemon_harness import RunningDaemon, free_port

TRIVIAL = "def main():\n    return 1\n"
IMPORTS = "import requests\n\ndef main():\n    return requests.__version__\n"


def cpu_by_kind(socket_dir: str, daemon_pid: int) -> dict[str, float]:
    """CPU seconds so far of this benchmark's processes by kind, own and of reaped children
    (the postmaster reaps its backends, the zygote its jobs)."""
    kinds: dict[psutil.Process, str] = {}
    daemon = psutil.Process(daemon_pid)
    kinds[daemon] = "daemon"
    for child in daemon.children(recursive=True):
        cmd = " ".join(child.cmdline())
        kinds[child] = ("worker" if "desktop_app.worker" in cmd
                        else "zygote_and_jobs" if "zygote" in cmd else "other")
    for proc in psutil.process_iter(["name", "cmdline"]):
        # the postmaster: the one listening on this database URL's socket directory
        cmd = proc.info["cmdline"] or []
        if proc.info["name"] == "postgres" and "-k" in cmd and socket_dir in cmd:
            kinds[proc] = "postgres"
            for backend in proc.children():
                kinds[backend] = "postgres"
    totals: dict[str, float] = {}
    for proc, kind in kinds.items():
        try:
            t = proc.cpu_times()
        except psutil.Error:
            continue
        totals[kind] = totals.get(kind, 0.0) + t.user + t.system + t.children_user + t.children_system
    return totals


def measure(d: RunningDaemon, path: str, runs: int) -> dict[str, object]:
    with httpx.Client(base_url=d.url, headers={"Authorization": f"Bearer {d.token}"},
                      timeout=600) as c:
        def run() -> float:
            t0 = time.perf_counter()
            r = c.post(f"/api/w/main/jobs/run_wait_result/p/{path}", json={})
            assert r.status_code == 200, r.text
            return (time.perf_counter() - t0) * 1000
        first = run()  # builds the venv, starts the zygote
        for _ in range(10):
            run()
        time.sleep(1)  # let the idle loops settle before the CPU snapshot
        assert d.proc is not None
        assert d.database_url is not None
        socket_dir = parse_qs(urlsplit(d.database_url).query)["host"][0]
        before = cpu_by_kind(socket_dir, d.proc.pid)
        walls = [run() for _ in range(runs)]
        after = cpu_by_kind(socket_dir, d.proc.pid)
    per_run = {k: round((after[k] - before.get(k, 0.0)) / runs * 1000, 2) for k in after}
    return {"runs": runs, "first_run_ms": round(first, 1), "p50_ms": round(percentile(walls, 50), 2),
            "p95_ms": round(percentile(walls, 95), 2),
            "cpu_ms_per_run": per_run, "cpu_ms_per_run_total": round(sum(per_run.values()), 2)}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=300)
    p.add_argument("--import-runs", type=int, default=30)
    a = p.parse_args()
    root = Path(tempfile.mkdtemp(prefix="tm-job-cpu-bench-"))
    pg = EmbeddedPostgres(root / "pg")
    url = pg.start()
    d = RunningDaemon(home=root / "home", port=free_port(), database_url=url, workers=1,
                      heartbeat=2.0, extra_env={"TIDEMILL_SECRETS": "encrypted-file",
                                                "TIDEMILL_SECRETS_PASSPHRASE": "benchmark"})
    try:
        d.start()
        d.deploy("f/bench/trivial", TRIVIAL)
        d.deploy("f/bench/imports", IMPORTS)
        print(json.dumps({
            "benchmark": "job cpu",
            "trivial": measure(d, "f/bench/trivial", a.runs),
            "imports_requests": measure(d, "f/bench/imports", a.import_runs),
            "load_average": round(psutil.getloadavg()[0], 2),
        }, indent=2))
    finally:
        d.stop()
        pg.stop()


if __name__ == "__main__":
    main()
