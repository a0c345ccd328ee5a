"""Time from `tidemill` (no arguments) to an interactive main window, the daemon already
running: the process starts, imports Qt and the views, finds the daemon, shows the
window and fills the workspace tree. Prints JSON. Run by hand (offscreen):

    python tests/benchmarks/bench_gui_startup.py [--runs 5]

Phases are seconds since the command was launched: `imported` (Python, the CLI and the
GUI modules loaded), `qt` (QApplication and theme), `app` (daemon found), `window` (main
window shown), `ready` (workspace listed: the user can click).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.e2e.daemon_harness import RunningDaemon, free_port  # noqa: E402
from tests.support.keyring_session import secret_service_session  # noqa: E402


def one_start(daemon: RunningDaemon) -> dict[str, float]:
    env = {**daemon.env(), "QT_QPA_PLATFORM": "offscreen", "TIDEMILL_TOKEN": daemon.token,
           "TIDEMILL_GUI_EXIT_WHEN_READY": "1", "PYTHONPATH": str(ROOT)}
    env["TIDEMILL_T0"] = str(time.time())
    out = subprocess.run([sys.executable, "-m", "desktop_app.cli.main"], env=env,
                         capture_output=True, text=True, timeout=120)
    total = time.time() - float(env["TIDEMILL_T0"])
    phases = {}
    for line in out.stdout.splitlines():
        if line.startswith("{"):
            rec = json.loads(line)
            phases[rec["phase"]] = rec["t"]
    if "ready" not in phases:
        raise RuntimeError(f"the GUI did not report ready:\n{out.stdout}\n{out.stderr}")
    return {**phases, "process_exit": round(total, 3)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--scripts", type=int, default=50, help="deployed before measuring")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, secret_service_session(Path(tmp) / "ss"):
        daemon = RunningDaemon(home=Path(tmp) / "home", port=free_port(), database_url=None)
        daemon.start(timeout=120)
        try:
            for i in range(a.scripts):
                daemon.deploy(f"f/bench/s{i:03d}", f"def main(x: int = {i}):\n    return x\n",
                              summary=f"script {i}")
            one_start(daemon)  # warm the OS file cache: measure a normal start, not the first
            runs = [one_start(daemon) for _ in range(a.runs)]
        finally:
            daemon.stop()
    report = {"runs": a.runs, "scripts_listed": a.scripts, "target_ready_s": 2.0}
    for phase in ("imported", "qt", "app", "window", "ready", "process_exit"):
        values = [r[phase] for r in runs]
        report[f"{phase}_median_s"] = round(statistics.median(values), 3)
        report[f"{phase}_max_s"] = round(max(values), 3)
    report["cpu_count"] = os.cpu_count()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
