"""How long the embedded PostgreSQL takes to come up. Prints JSON; not collected by pytest.

    python tests/benchmarks/bench_embedded_postgres.py [--runs N]

first_start: empty home → initdb + start + CREATE DATABASE tidemill (binaries ready).
start_existing: a new EmbeddedPostgres on stopped data (what a daemon start costs).
restart: `restart()` on a running server (stop + start).
adopt: `start()` while the server of that home is already running.
copy_binaries_once: first use as root with a fresh system dir (binaries copied).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from desktop_app.db.embedded import EmbeddedPostgres


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def discard(server: EmbeddedPostgres) -> None:
    server.stop()
    if (server.home / "postgres" / "LOCATION").exists():
        shutil.rmtree(server.data_dir.parent, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    figures: dict[str, list[float]] = {
        "first_start": [], "start_existing": [], "restart": [], "stop": [], "adopt": []}
    homes = Path(tempfile.mkdtemp(prefix="tidemill-bench-"))  # 0700, like root's home
    system = Path(tempfile.mkdtemp(prefix="tidemill-bench-sys-"))
    try:
        if os.geteuid() == 0:
            system.chmod(0o755)  # our own folder: the server user must traverse it
            fresh = EmbeddedPostgres(homes / "copy", system_dir=system / "tidemill")
            figures["copy_binaries_once"] = [timed(lambda: fresh.install_dir)]
            shutil.rmtree(fresh.data_dir.parent, ignore_errors=True)
        warm_up = EmbeddedPostgres(homes / "warm-up")  # imports, user lookup, binaries
        warm_up.start()
        discard(warm_up)
        for run in range(runs):
            home = homes / f"home-{run}"
            server = EmbeddedPostgres(home)
            figures["first_start"].append(timed(server.start))
            figures["adopt"].append(timed(EmbeddedPostgres(home).start))
            figures["restart"].append(timed(server.restart))
            figures["stop"].append(timed(server.stop))
            figures["start_existing"].append(timed(EmbeddedPostgres(home).start))
            discard(server)
    finally:
        shutil.rmtree(homes, ignore_errors=True)
        shutil.rmtree(system, ignore_errors=True)
    report: dict[str, object] = {
        name: {"median_s": round(statistics.median(values), 4),
               "runs_s": [round(v, 4) for v in values]}
        for name, values in figures.items()}
    report.update(as_root=os.geteuid() == 0, cpus=os.cpu_count())
    print(json.dumps(report, indent=2))

if __name__ == "__main__":
    main()
