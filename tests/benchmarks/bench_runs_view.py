"""The runs view over 100,000 jobs: time to the first page, then scrolling to the very end
page by page (each frame's time, and each page fetch's time — keyset paging keeps the
last page as quick as the first). Real daemon, real PostgreSQL, real widgets offscreen.
Prints JSON. Run by hand:

    python tests/benchmarks/bench_runs_view.py [--jobs 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import psycopg  # noqa: E402

from desktop_app.db.migrate import migrate  # noqa: E402
from tests.e2e.daemon_harness import RunningDaemon, free_port  # noqa: E402
from tests.support.keyring_session import secret_service_session  # noqa: E402


def fill(url: str, n: int) -> float:
    """`n` finished jobs with one COPY into job_completed; returns seconds taken."""
    t0 = time.perf_counter()
    now = datetime.now(UTC)
    cols = ("id, kind, script_path, tag, created_by, permissioned_as, created_at, started_at,"
            " completed_at, duration_ms, status, trigger_kind, args")
    with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY job_completed ({cols}) FROM STDIN") as copy:
            for i in range(n):
                created = now - timedelta(seconds=i // 3)  # three jobs per second: ties
                copy.write_row((uuid.uuid4(), "script", f"f/bench/s{i % 40}", "default",
                                "admin", "u/admin", created, created,
                                created + timedelta(milliseconds=i % 900), i % 900,
                                "failure" if i % 17 == 0 else "success",
                                "schedule" if i % 5 == 0 else "webhook",
                                json.dumps({"i": i})))
        cur.execute("ANALYZE job_completed")
    return time.perf_counter() - t0


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return round(values[min(len(values) - 1, int(len(values) * p))], 2)


async def drive(daemon: RunningDaemon, n: int) -> dict[str, object]:
    from desktop_app.client.http import Connection, TidemillClient
    from desktop_app.gui.app import MainWindow

    async with TidemillClient(Connection(url=daemon.url, token=daemon.token)) as client:
        w = MainWindow(client)
        w.resize(1280, 800)
        w.show()
        await asyncio.sleep(0.2)
        t0 = time.perf_counter()
        await w.goto("runs")
        table, model = w.runs.table, w.runs.model
        table.viewport().repaint()
        first_page_ms = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        await w.runs.refresh()  # again, warm: what opening Runs costs on a used app
        table.viewport().repaint()
        first_page_warm_ms = (time.perf_counter() - t0) * 1000
        bar = table.verticalScrollBar()
        frames: list[float] = []
        cpu_frames: list[float] = []  # CPU time of this process: without other programs' load
        fetches: list[float] = []
        t_scroll = time.perf_counter()
        while True:
            t, c = time.perf_counter(), time.process_time()
            bar.setValue(min(bar.value() + bar.pageStep(), bar.maximum()))  # one Page Down
            table.viewport().repaint()  # paints now: the frame the user would see
            frames.append((time.perf_counter() - t) * 1000)
            cpu_frames.append((time.process_time() - c) * 1000)
            await asyncio.sleep(0)  # let the loop run (fetchMore's page load, timers)
            if model.loading:  # reached the bottom: Qt asked for the next page
                t = time.perf_counter()
                while model.loading:
                    await asyncio.sleep(0.001)
                fetches.append((time.perf_counter() - t) * 1000)
            if model.exhausted and bar.value() >= bar.maximum():
                break
        scroll_s = time.perf_counter() - t_scroll
        assert len(model.rows) == n, (len(model.rows), n)
        w.close()
    return {
        "jobs": n, "rows_loaded": len(model.rows), "first_page_ms": round(first_page_ms, 1),
        "first_page_warm_ms": round(first_page_warm_ms, 1),
        "frames": len(frames), "frame_ms_p50": pct(frames, 0.5), "frame_ms_p95": pct(frames, 0.95),
        "frame_ms_max": round(max(frames), 2), "frame_cpu_ms_p95": pct(cpu_frames, 0.95),
        "frame_cpu_ms_max": round(max(cpu_frames), 2), "pages_fetched": len(fetches),
        "page_fetch_ms_p50": pct(fetches, 0.5), "page_fetch_ms_max": round(max(fetches), 1),
        "first_5_pages_ms_avg": round(statistics.mean(fetches[:5]), 1),
        "last_5_pages_ms_avg": round(statistics.mean(fetches[-5:]), 1),
        "scroll_to_end_s": round(scroll_s, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=100_000)
    a = ap.parse_args()
    import qasync
    from PySide6.QtWidgets import QApplication

    from desktop_app.db.embedded import EmbeddedPostgres

    with tempfile.TemporaryDirectory() as tmp, secret_service_session(Path(tmp) / "ss"):
        pg = EmbeddedPostgres(Path(tmp) / "pg")
        url = pg.start()
        try:
            migrate(url)
            fill_s = fill(url, a.jobs)
            daemon = RunningDaemon(home=Path(tmp) / "home", port=free_port(), database_url=url)
            daemon.start(timeout=120)
            try:
                app = QApplication.instance() or QApplication([])
                loop = qasync.QEventLoop(app)
                asyncio.set_event_loop(loop)
                with loop:
                    report = loop.run_until_complete(drive(daemon, a.jobs))
            finally:
                daemon.stop()
        finally:
            pg.stop()
    report["copy_fill_s"] = round(fill_s, 2)
    report["cpu_count"] = os.cpu_count()
    print(json.dumps(report, indent=2), flush=True)
    os._exit(0)  # skip interpreter teardown: PySide6 can crash collecting widgets at exit


if __name__ == "__main__":
    main()
