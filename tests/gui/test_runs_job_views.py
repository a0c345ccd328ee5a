"""Runs (filters, keyset paging), the job view (live log, cancel, re-run, chart) and a
10,000-line log that must not freeze the window — real widgets against a real daemon."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import psycopg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from desktop_app.client.http import Connection, TidemillClient
from desktop_app.gui.app import MainWindow
from desktop_app.gui.runs_view import FIRST_PAGE, PAGE
from tests.e2e.daemon_harness import RunningDaemon


def _window_run(loop: Any, daemon: RunningDaemon, qtbot: Any, body: Any) -> Any:
    async def go() -> Any:
        conn = Connection(url=daemon.url, token=daemon.token)
        async with TidemillClient(conn, timeout=120) as client:
            window = MainWindow(client)
            qtbot.addWidget(window)
            window.resize(1280, 800)
            window.show()
            return await body(window)
    return loop.run_until_complete(asyncio.wait_for(go(), 180))


async def _until(check: Any, timeout: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def seed_history(database_url: str, count: int) -> None:
    """`count` finished jobs: every 10th failed, every 3rd from a schedule, two paths,
    seven jobs per timestamp (ties the keyset cursor must break by id), the oldest 200
    older than a week."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            """
            INSERT INTO job_completed (id, kind, script_path, tag, created_by, permissioned_as,
                                       created_at, started_at, duration_ms, status,
                                       trigger_kind, args, result)
            SELECT gen_random_uuid(), 'script',
                   CASE WHEN i %% 2 = 0 THEN 'f/seed/even' ELSE 'f/seed/odd' END,
                   'default', 'admin', 'u/admin',
                   now() - make_interval(secs => (i / 7) * 60)
                         - CASE WHEN i > %(n)s - 200 THEN interval '10 days' ELSE interval '0' END,
                   now(), (i %% 50) * 10,
                   CASE WHEN i %% 10 = 0 THEN 'failure' ELSE 'success' END,
                   CASE WHEN i %% 3 = 0 THEN 'schedule' ELSE 'webhook' END,
                   jsonb_build_object('i', i), to_jsonb(i)
              FROM generate_series(1, %(n)s) AS i
            """, {"n": count})


def test_runs_view_pages_through_history_and_filters(
        daemon: RunningDaemon, database_url: str, qtbot: Any, qloop: Any) -> None:
    total = 1234
    seed_history(database_url, total)

    async def body(w: MainWindow) -> None:
        await w.goto("runs")
        model = w.runs.model
        assert len(model.rows) == FIRST_PAGE  # the first page only
        assert model.canFetchMore()
        assert "scroll for more" in w.runs.count.text()
        # Scrolling to the bottom asks the model for more (Qt's fetchMore).
        w.runs.table.scrollToBottom()
        await _until(lambda: len(model.rows) == FIRST_PAGE + PAGE, what="second page")
        await model.load_all_pages()
        assert len(model.rows) == total
        ids = [r[-1] for r in model.rows]
        assert len(set(ids)) == total  # no job twice across pages despite equal timestamps
        started = [r[2] for r in model.rows]
        assert started == sorted(started, reverse=True)  # newest first
        assert w.runs.count.text() == f"{total:,} runs shown"

        w.runs.status.setCurrentText("Failed")
        await _until(lambda: model.filters.get("status") == "failure" and model.rows
                     and not model.loading, what="failure filter")
        await model.load_all_pages()
        assert {r[0] for r in model.rows} == {"failure"}
        assert len(model.rows) == total // 10

        w.runs.trigger.setCurrentText("Schedule")
        await w.runs.refresh()
        await model.load_all_pages()
        assert {r[4] for r in model.rows} == {"schedule"}
        assert len(model.rows) == len([i for i in range(1, total + 1)
                                       if i % 10 == 0 and i % 3 == 0])

        w.runs.status.setCurrentText("Any status")
        w.runs.trigger.setCurrentText("Any trigger")
        w.runs.since.setCurrentText("Last 7 days")
        w.runs.path.setText("f/seed/even")
        await asyncio.sleep(0.4)  # the path filter waits for typing to pause
        await w.runs.refresh()
        await model.load_all_pages()
        assert {r[1] for r in model.rows} == {"f/seed/even"}
        assert len(model.rows) == len([i for i in range(1, total - 199) if i % 2 == 0])

        w.runs.path.setText("f/nothing/here")
        await w.runs.refresh()
        assert w.runs.stack.currentWidget() is w.runs.empty
        assert "No runs match these filters" in w.runs.empty.text()

    _window_run(qloop, daemon, qtbot, body)


TICKER = '''
import time

def main(n: int = 400, pause: float = 0.05):
    for i in range(n):
        print(f"tick {i}", flush=True)
        time.sleep(pause)
    return n
'''


def test_job_view_streams_the_log_live_cancels_and_reruns(
        daemon: RunningDaemon, qtbot: Any, qloop: Any) -> None:
    daemon.deploy("f/demo/ticker", TICKER)
    daemon.run_wait("f/demo/ticker", {"n": 2, "pause": 0})  # one finished run for the chart

    async def body(w: MainWindow) -> None:
        job_id = await w.client.run_async("f/demo/ticker", {"n": 400, "pause": 0.05})
        await w.show_job(job_id)
        job = w.job
        assert w.stack.currentWidget() is job
        await _until(lambda: "tick 5" in job.logs.text(), what="live log lines")
        assert job.following and job.cancel_button.isEnabled()
        assert job.status_label.text() in ("running", "queued")
        assert [b.status for b in job.chart.bars][:1] == ["success"]  # oldest first
        assert len(job.chart.bars) == 2

        await job.cancel()
        await _until(lambda: job.status_label.text() == "canceled", what="canceled status")
        assert not job.cancel_button.isEnabled()
        assert "canceled by" in job.meta.text()
        assert "tick 400" not in job.logs.text()

        new_id = await job.rerun()
        assert new_id and new_id != job_id
        await _until(lambda: job.job_id == new_id and job.job.get("id") == new_id,
                     what="the new job shown")
        assert job.job["args"] == {"n": 400, "pause": 0.05}  # the same arguments
        await _until(lambda: "tick 1" in job.logs.text(), what="re-run's live log")
        await job.cancel()
        await _until(lambda: job.status_label.text() == "canceled", what="re-run canceled")
        assert "triggered by API / app" in job.meta.text()

    _window_run(qloop, daemon, qtbot, body)


FLOOD = '''
def main(lines: int = 10000):
    for i in range(lines):
        print(f"line {i:05d} " + "x" * 40)
    return lines
'''


def test_a_10000_line_log_stream_keeps_the_window_responsive(
        daemon: RunningDaemon, qtbot: Any, qloop: Any) -> None:
    daemon.deploy("f/demo/flood", FLOOD)

    async def body(w: MainWindow) -> float:
        # Each tick records the wall time since the previous one and the CPU time this
        # thread spent in between: the CPU time is what our handlers cost; the wall time
        # also counts other programs on a busy machine.
        gaps: list[float] = []
        cpu: list[float] = []
        last = [time.perf_counter(), time.thread_time()]

        def tick() -> None:
            now, now_cpu = time.perf_counter(), time.thread_time()
            gaps.append(now - last[0])
            cpu.append(now_cpu - last[1])
            last[0], last[1] = now, now_cpu

        probe = QTimer()
        probe.setInterval(5)
        probe.timeout.connect(tick)
        job_id = await w.client.run_async("f/demo/flood", {})
        await w.show_job(job_id)
        last[0], last[1] = time.perf_counter(), time.thread_time()
        probe.start()
        await _until(lambda: w.job.status_label.text() == "success" and not w.job.logs.busy,
                     timeout=90, what="all 10,000 lines shown")
        probe.stop()
        QApplication.processEvents()
        text = w.job.logs.toPlainText()
        assert "line 00000" in text and "line 09999" in text
        assert text.count("\n") >= 10_000
        worst = max(cpu) * 1000  # the longest the loop was busy between two ticks
        assert len(gaps) > 20
        assert worst < 50, f"a handler held the event loop for {worst:.0f} ms"
        print(f"10,000-line log: longest busy stretch between probe ticks {worst:.1f} ms CPU, "
              f"{max(gaps) * 1000 - 5:.1f} ms wall, over {len(gaps)} ticks")
        return worst

    _window_run(qloop, daemon, qtbot, body)
