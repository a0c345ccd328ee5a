"""Benchmark: Git sync of a workspace with 1,000 scripts and 100 flows.

Two daemons (homes A and B) on one fresh embedded PostgreSQL (fsync on) and a bare
remote on disk (file://). Measured:
  - deploy latency through the API while every deploy is committed in the background,
    and how long the recorder takes to commit them all (one commit per change);
  - A's first push; B's first pull into an empty home (fetch, parse, apply 1,100 items,
    checkout); after A changes 10 scripts: A's push and B's incremental pull.
Prints JSON:

    python tests/benchmarks/bench_gitsync.py [--scripts 1000] [--flows 100]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import psycopg
import pygit2

from desktop_app.db.embedded import EmbeddedPostgres
from tests.e2e.daemon_harness import RunningDaemon, free_port

BASH = 'x="$1"\necho "script {i} got $x"\n'


def flow(i: int) -> dict[str, Any]:
    return {"summary": f"Flow {i}", "value": {"modules": [
        {"id": "a", "summary": "First step", "value": {
            "type": "rawscript", "language": "bash", "input_transforms": {},
            "content": f'echo "flow {i} a"\n'}},
        {"id": "b", "summary": "Second step", "value": {
            "type": "rawscript", "language": "bash", "input_transforms": {},
            "content": f'echo "flow {i} b"\n'}}]}}


def timed(fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--scripts", type=int, default=1000)
    p.add_argument("--flows", type=int, default=100)
    a = p.parse_args()
    root = Path(tempfile.mkdtemp(prefix="tm-gitsync-bench-"))
    pg = EmbeddedPostgres(root / "pg")
    url = pg.start()
    urls = []
    for name in ("home_a", "home_b", "home_c"):
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        urls.append(url.rsplit("/", 1)[0] + f"/{name}" if "?" not in url else
                    url.replace("/tidemill?", f"/{name}?"))
    env = {"TIDEMILL_SECRETS": "encrypted-file", "TIDEMILL_SECRETS_PASSPHRASE": "benchmark"}
    da = RunningDaemon(home=root / "a", port=free_port(), database_url=urls[0], workers=1,
                       extra_env=env)
    db = RunningDaemon(home=root / "b", port=free_port(), database_url=urls[1], workers=1,
                       extra_env=env)
    dc = RunningDaemon(home=root / "c", port=free_port(), database_url=urls[2], workers=1,
                       extra_env={**env, "TIDEMILL_GITSYNC": "off"})
    remote = f"file://{root / 'remote.git'}"
    pygit2.init_repository(str(root / "remote.git"), bare=True, initial_head="main")
    try:
        da.start()
        db.start()
        dc.start()
        base = []
        with dc.http() as c:  # the same deploys with Git sync off: the baseline
            for i in range(min(a.scripts, 300)):
                t0 = time.perf_counter()
                r = c.post("/api/w/main/scripts/create", json={
                    "path": f"f/bench/s{i:04d}", "language": "bash",
                    "content": BASH.format(i=i)})
                base.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 201, r.text
        dc.stop()
        lat = []
        t_all = time.perf_counter()
        with da.http() as c:
            for i in range(a.scripts):
                t0 = time.perf_counter()
                r = c.post("/api/w/main/scripts/create", json={
                    "path": f"f/bench/s{i:04d}", "language": "bash",
                    "content": BASH.format(i=i)})
                lat.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 201, r.text
            for i in range(a.flows):
                r = c.post("/api/w/main/flows/create", json={**flow(i), "path": f"f/flows/f{i:03d}"})
                assert r.status_code == 201, r.text
            deploys_s = time.perf_counter() - t_all
            status = c.get("/api/w/main/sync/status", params={"wait": "true"}).json()
            committed_s = time.perf_counter() - t_all
        repo = pygit2.Repository(str(da.home / "workspace"))
        commits = sum(1 for _ in repo.walk(repo.head.target))
        push1, _ = timed(lambda: da.cli("sync", "push", "--remote", remote, check=True))
        pull1, _ = timed(lambda: db.cli("sync", "pull", "--remote", remote, check=True,
                                          timeout=600))
        with db.http() as c:
            n_scripts = len(c.get("/api/w/main/scripts/list").json())
            n_flows = len(c.get("/api/w/main/flows/list").json())
        with da.http() as c:
            for i in range(10):
                c.post("/api/w/main/scripts/create", json={
                    "path": f"f/bench/s{i:04d}", "language": "bash",
                    "content": BASH.format(i=i) + "echo changed\n"})
        push2, _ = timed(lambda: da.cli("sync", "push", check=True))
        pull2, out2 = timed(lambda: db.cli("sync", "pull", check=True))
        print(json.dumps({
            "benchmark": "git sync",
            "scripts": a.scripts, "flows": a.flows,
            "deploy_without_gitsync_p50_ms": round(statistics.median(base), 1),
            "deploy_without_gitsync_p95_ms": round(sorted(base)[int(0.95 * (len(base) - 1))], 1),
            "deploy_p50_ms": round(statistics.median(lat), 1),
            "deploy_p95_ms": round(sorted(lat)[int(0.95 * (len(lat) - 1))], 1),
            "deploys_s": round(deploys_s, 2),
            "all_committed_s": round(committed_s, 2),
            "commits": commits, "recorder_errors": status["errors"],
            "push_first_s": round(push1, 2),
            "pull_first_into_empty_home_s": round(pull1, 2),
            "pulled_scripts": n_scripts, "pulled_flows": n_flows,
            "push_10_changed_s": round(push2, 2),
            "pull_10_changed_s": round(pull2, 2),
            "pull_10_changed_updated": out2.stdout.count("updated script"),
            "note": "push/pull times include the CLI process start (~0.3 s)",
        }, indent=2))
    finally:
        for d in (da, db, dc):
            d.stop()
        pg.stop()


if __name__ == "__main__":
    main()
