"""Whole jobs of the non-Python runtimes through a real daemon: 100 sequential runs each of a
trivial TypeScript (Deno), PostgreSQL, DuckDB and Go script (and Python, for reference)
through the HTTP API (run_wait_result: request → queue → worker → process → result),
p50/p95 in ms. Prints JSON:

    python tests/benchmarks/bench_runtimes.py [--runs 100]

A fresh embedded PostgreSQL (fsync on) serves both the daemon and the SQL script's own
database; the daemon has 2 workers. Each script is run a few times first (warm-up: Deno's
module cache, the Go binary, Python's venv).
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

from desktop_app.db.embedded import EmbeddedPostgres
from tests.e2e.daemon_harness import RunningDaemon, free_port
from tests.support.pg import create_database, postgresql_resource

SCRIPTS: dict[str, tuple[str, str, dict[str, Any], Any]] = {
    # name: (language, code, args, expected result)
    "typescript": ("deno", "export function main(x: number) {\n  return x + 1;\n}\n",
                   {"x": 1}, 2),
    "postgresql": ("postgresql", "-- $1 x (int)\nSELECT $1 + 1 AS y;\n",
                   {"database": "$res:f/bench/db", "x": 1}, [{"y": 2}]),
    "duckdb": ("duckdb", "-- $x (int)\nSELECT $x + 1 AS y;\n", {"x": 1}, [{"y": 2}]),
    "go": ("go", "package inner\n\nfunc main(x int) (interface{}, error) {\n\treturn x + 1, nil\n}\n",
           {"x": 1}, 2),
    "python": ("python3", "def main(x: int):\n    return x + 1\n", {"x": 1}, 2),
}


def percentile(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--only", nargs="*", choices=sorted(SCRIPTS), default=sorted(SCRIPTS))
    a = p.parse_args()
    root = Path(tempfile.mkdtemp(prefix="tm-runtimes-bench-"))
    pg = EmbeddedPostgres(root / "pg")
    url = pg.start()
    create_database(url, "bench_app")
    d = RunningDaemon(home=root / "home", port=free_port(), database_url=url, workers=2,
                      heartbeat=2.0,
                      extra_env={"TIDEMILL_SECRETS": "encrypted-file",
                                 "TIDEMILL_SECRETS_PASSPHRASE": "benchmark"})
    out: dict[str, Any] = {"benchmark": "runtimes", "sequential_runs": a.runs}
    try:
        d.start()
        r = d.api("POST", "resources/create", json={
            "path": "f/bench/db", "resource_type": "postgresql",
            "value": postgresql_resource(url, "bench_app")})
        assert r.status_code == 201, r.text
        with d.http() as c:
            for name in a.only:
                language, code, args, expected = SCRIPTS[name]
                path = f"f/bench/{name}"
                d.deploy(path, code, language)
                t0 = time.perf_counter()
                for _ in range(5):
                    r = c.post(f"/api/w/main/jobs/run_wait_result/p/{path}", json=args)
                    assert r.json() == expected, r.text
                first_s = time.perf_counter() - t0
                lat = []
                for _ in range(a.runs):
                    t0 = time.perf_counter()
                    r = c.post(f"/api/w/main/jobs/run_wait_result/p/{path}", json=args)
                    lat.append((time.perf_counter() - t0) * 1000)
                    assert r.json() == expected, r.text
                out[name] = {"p50_ms": round(statistics.median(lat), 1),
                             "p95_ms": round(percentile(lat, 95), 1),
                             "min_ms": round(min(lat), 1),
                             "warmup_5_runs_s": round(first_s, 2)}
        print(json.dumps(out, indent=2))
    finally:
        d.stop()
        pg.stop()


if __name__ == "__main__":
    main()
