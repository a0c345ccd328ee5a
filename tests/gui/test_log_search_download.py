"""The Runs view's log search box narrows the list to jobs whose log holds the text, and
the job view's "Download log…" saves the whole log — real widgets, a real daemon."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from desktop_app.gui.app import MainWindow
from tests.e2e.daemon_harness import RunningDaemon
from tests.gui.test_runs_job_views import _until, _window_run

SAY = 'x="$1"\necho "order $x shipped"\nif [ "$x" = 7 ]; then echo "WARNING: parcel 7 Was Lost"; fi\n'


def test_log_search_box_and_download(daemon: RunningDaemon, qtbot: Any, qloop: Any,
                                     tmp_path: Path) -> None:
    daemon.deploy("f/shop/ship", SAY, "bash")
    for n in (5, 6, 7):
        daemon.run_wait("f/shop/ship", {"x": n})
    jobs = daemon.api("GET", "jobs/list", params={"log_search": "was lost"}).json()
    assert len(jobs) == 1 and jobs[0]["log_match"] == "WARNING: parcel 7 Was Lost"
    lost = jobs[0]["id"]

    async def body(w: MainWindow) -> None:
        await w.goto("runs")
        model = w.runs.model
        await _until(lambda: len(model.rows) == 3 and not model.loading, what="three runs")
        w.runs.search.setText("parcel 7 was")
        await _until(lambda: model.filters.get("log_search") == "parcel 7 was"
                     and not model.loading and len(model.rows) == 1, what="search result")
        assert model.job_id(0) == lost
        w.runs.search.setText("zz")  # too short for the index: not a filter yet
        await _until(lambda: "log_search" not in model.filters and len(model.rows) == 3
                     and not model.loading, what="search cleared")
        await w.show_job(lost)
        dest = tmp_path / "saved.log"
        await w.job.download_log(dest)
        assert dest.read_text() == daemon.api("GET", f"jobs_u/get_logs/{lost}").text
        assert "parcel 7 Was Lost" in dest.read_text()
        assert f"Saved the log ({dest.stat().st_size:,} bytes)" in w.job.message.text()
        await asyncio.sleep(0)

    _window_run(qloop, daemon, qtbot, body)


def test_settings_show_the_database_size(daemon: RunningDaemon, qtbot: Any, qloop: Any) -> None:
    async def body(w: MainWindow) -> None:
        await w.goto("settings")
        view = w.settings
        await _until(lambda: "largest:" in view.database.text(), what="database size")
        text = view.database.text()
        assert text.split()[1] in ("MB", "KB") and "retention policy" in text, text

    _window_run(qloop, daemon, qtbot, body)
