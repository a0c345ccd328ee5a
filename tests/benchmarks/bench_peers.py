"""Tidemill beside its peers, same machine, same run: Prefect 3 and DBOS (installed from
PyPI into a temporary venv by this script) against Tidemill on the same workload:

(a) a flow of 40 sequential steps each computing fibo(10) (three runs; best and median);
(b) 200 trivial runs (`return 1`), one after another, each awaited.

Not the same isolation: Prefect's tasks and DBOS's steps run inside the calling Python
process (threads/coroutines of one interpreter); Tidemill runs every step and every job in
a process of its own (forked from a warm interpreter, in its sandbox), with its state in
PostgreSQL. DBOS uses an embedded PostgreSQL started here (its own database on the same
server as Tidemill's); Prefect its default ephemeral local server (SQLite).

    python tests/benchmarks/bench_peers.py [--trivial 200] [--skip prefect dbos]

Prints JSON: each system's times and Tidemill's ratio (peer time / Tidemill time: above 1
means Tidemill is faster).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from desktop_app.db.embedded import EmbeddedPostgres
from tests.benchmarks.bench_flows import FIBO, timed_run
from tests.e2e.daemon_harness import RunningDaemon, free_port
from tests.e2e.flow_helpers import flow, js, py
from tests.support.pg import create_database

WORKLOAD = Path(__file__).with_name("peers_workload.py")
PEER_PACKAGES = {"prefect": "prefect>=3,<4", "dbos": "dbos"}


def make_venv(root: Path, packages: list[str]) -> Path:
    """A venv with the peers installed (uv when present: it reuses its download cache)."""
    venv = root / "peers-venv"
    uv = shutil.which("uv")
    if uv:
        subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
        subprocess.run([uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"),
                        *packages], check=True)
    else:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *packages],
                       check=True)
    return venv / "bin" / "python"


def run_peer(python: Path, peer: str, root: Path, trivial: int, db_url: str | None) -> dict[str, Any]:
    env = dict(os.environ, PREFECT_HOME=str(root / "prefect-home"),
               PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="300",
               PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_LOGGING_LEVEL="WARNING",
               DO_NOT_TRACK="1", PEERS_TRIVIAL=str(trivial))
    env.pop("PYTHONPATH", None)  # the peer imports nothing of Tidemill
    argv = [str(python), str(WORKLOAD), peer] + ([db_url] if db_url else [])
    done = subprocess.run(argv, env=env, cwd=root, capture_output=True, text=True, timeout=1800)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"error": (done.stderr or done.stdout)[-2000:]}
    return dict(json.loads(lines[-1]))


def sqlalchemy_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def summary(fibo_runs: list[float], trivial_s: float, trivial: int) -> dict[str, Any]:
    return {"fibo40_s": [round(x, 3) for x in fibo_runs],
            "fibo40_best_s": round(min(fibo_runs), 3),
            "fibo40_median_s": round(statistics.median(fibo_runs), 3),
            f"trivial{trivial}_s": round(trivial_s, 3)}


def tidemill(url: str, root: Path, trivial: int) -> dict[str, Any]:
    d = RunningDaemon(home=root / "home", port=free_port(), database_url=url, workers=2,
                      heartbeat=2.0, extra_env={"TIDEMILL_SECRETS": "encrypted-file",
                                                "TIDEMILL_SECRETS_PASSPHRASE": "benchmark"})
    try:
        d.start()
        steps = [py(f"s{i}", FIBO, n=js("10")) for i in range(40)]
        d.api("POST", "flows/create", json={"path": "f/bench/fibo40", **flow(*steps)})
        d.deploy("f/bench/one", "def main():\n    return 1\n")
        timed_run(d, "f/bench/fibo40", {})  # warm-up: venv, zygotes
        runs = [timed_run(d, "f/bench/fibo40", {})[0] for _ in range(3)]
        with d.http() as c:
            for _ in range(3):
                c.post("/api/w/main/jobs/run_wait_result/p/f/bench/one", json={})
            t0 = time.perf_counter()
            for _ in range(trivial):
                r = c.post("/api/w/main/jobs/run_wait_result/p/f/bench/one", json={})
                assert r.json() == 1, r.text
            trivial_s = time.perf_counter() - t0
        return summary(runs, trivial_s, trivial)
    finally:
        d.stop()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--trivial", type=int, default=200)
    p.add_argument("--skip", nargs="*", choices=sorted(PEER_PACKAGES), default=[])
    a = p.parse_args()
    peers = [name for name in PEER_PACKAGES if name not in a.skip]
    root = Path(tempfile.mkdtemp(prefix="tm-peers-bench-"))
    pg = EmbeddedPostgres(root / "pg")
    url = pg.start()
    out: dict[str, Any] = {
        "benchmark": "peers",
        "isolation": "Prefect's tasks and DBOS's steps run in-process (one interpreter); "
                     "Tidemill runs each step and job in its own process",
        "load_average_start": round(os.getloadavg()[0], 2)}
    try:
        t0 = time.perf_counter()
        python = make_venv(root, [PEER_PACKAGES[n] for n in peers]) if peers else None
        out["peers_install_s"] = round(time.perf_counter() - t0, 1)
        out["tidemill"] = tidemill(create_database(url, "tidemill_bench"), root, a.trivial)
        for name in peers:
            assert python is not None
            db = sqlalchemy_url(create_database(url, "dbos_bench")) if name == "dbos" else None
            res = run_peer(python, name, root, a.trivial, db)
            if "fibo40_s" in res:
                res = summary(res["fibo40_s"], res[f"trivial{a.trivial}_s"], a.trivial)
                tm = out["tidemill"]
                res["ratio_fibo40_best"] = round(res["fibo40_best_s"] / tm["fibo40_best_s"], 2)
                key = f"trivial{a.trivial}_s"
                res[f"ratio_trivial{a.trivial}"] = round(res[key] / tm[key], 2)
            out[name] = res
        out["load_average_end"] = round(os.getloadavg()[0], 2)
        print(json.dumps(out, indent=2))
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
