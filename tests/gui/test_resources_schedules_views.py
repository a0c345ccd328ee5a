"""Resources through their type's form, secret variables revealed from the keyring,
schedules with the cron in words and the next 5 runs, the tray's logic, and start-up that
launches a daemon when none answers — real widgets against real daemons."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit

from desktop_app.cli import daemon_control
from desktop_app.client.http import Connection, TidemillClient
from desktop_app.gui.app import MainWindow
from desktop_app.gui.resources_view import DOTS
from desktop_app.gui.schedules_view import in_zone
from tests.e2e.daemon_harness import RunningDaemon, free_port


def _window_run(loop: Any, daemon: RunningDaemon, qtbot: Any, body: Any) -> Any:
    async def go() -> Any:
        conn = Connection(url=daemon.url, token=daemon.token)
        async with TidemillClient(conn, timeout=120) as client:
            window = MainWindow(client)
            qtbot.addWidget(window)
            window.show()
            return await body(window)
    return loop.run_until_complete(asyncio.wait_for(go(), 180))


@pytest.mark.api_only  # no job runs: the API in-process
def test_resource_created_and_edited_through_its_type_form(
        daemon: RunningDaemon, qtbot: Any, qloop: Any) -> None:
    async def body(w: MainWindow) -> None:
        await w.goto("resources")
        view = w.resources
        assert view.resources_stack.currentWidget() is view.resources_empty
        assert "New resource" in view.resources_empty.text()
        ed = view.resource_editor
        ed.new()
        assert not await ed.save()
        assert "path" in ed.message.text()  # says what is missing

        ed.path.setText("f/db/main")
        ed.rtype.setCurrentText("postgresql")
        fields = ed.form.fields
        assert {"host", "port", "user", "dbname", "password"} <= set(fields)
        fields["host"].widget.setText("db.example.org")  # type: ignore[attr-defined]
        fields["port"].widget.setText("not a port")  # type: ignore[attr-defined]
        assert not await ed.save()
        assert "whole number" in fields["port"].error.text()  # beside the field
        fields["port"].widget.setText("5433")  # type: ignore[attr-defined]
        fields["user"].widget.setText("app")  # type: ignore[attr-defined]
        fields["dbname"].widget.setText("sales")  # type: ignore[attr-defined]
        fields["password"].widget.setText("s3cret-pw")  # type: ignore[attr-defined]
        assert await ed.save(), ed.message.text()
        assert view.shown_resources() == ["f/db/main"]
        stored = await w.client.resource_value("f/db/main")
        assert stored["host"] == "db.example.org" and stored["port"] == 5433
        assert stored["password"] == "s3cret-pw"  # kept in the keyring, read back
        assert (await w.client.get_resource("f/db/main"))["value"]["password"] == "$secret"

        # Edit: the form opens filled with the stored values.
        await ed.edit("f/db/main")
        assert ed.form.fields["host"].widget.text() == "db.example.org"  # type: ignore[attr-defined]
        assert ed.form.fields["port"].widget.text() == "5433"  # type: ignore[attr-defined]
        assert not ed.rtype.isEnabled() and ed.path.isReadOnly()
        ed.form.fields["host"].widget.setText("db2.example.org")  # type: ignore[attr-defined]
        assert await ed.save()
        stored = await w.client.resource_value("f/db/main")
        assert stored["host"] == "db2.example.org" and stored["password"] == "s3cret-pw"

    _window_run(qloop, daemon, qtbot, body)


@pytest.mark.api_only  # no job runs: the API in-process
def test_secret_variable_shows_dots_until_revealed_from_the_keyring(
        daemon: RunningDaemon, qtbot: Any, qloop: Any) -> None:
    r = daemon.api("POST", "variables/create", json={
        "path": "f/cfg/token", "value": "tok-123-abc", "is_secret": True,
        "description": "API token"})
    assert r.status_code == 201, r.text
    daemon.api("POST", "variables/create", json={"path": "f/cfg/region", "value": "eu-west"})

    async def body(w: MainWindow) -> None:
        await w.goto("resources")
        view = w.resources
        assert view.shown_variable_values() == {"f/cfg/region": "eu-west", "f/cfg/token": DOTS}
        item = view.variable_list.findItems("f/cfg/token", Qt.MatchFlag.MatchExactly, 0)[0]
        view._variable_clicked(item, 0)
        ed = view.variable_editor
        assert ed.value.text() == ""  # the secret is not even in the window
        assert ed.value.echoMode() == QLineEdit.EchoMode.Password
        assert not ed.reveal_button.isHidden()
        assert await ed.reveal() == "tok-123-abc"
        assert ed.value.text() == "tok-123-abc"
        assert ed.value.echoMode() == QLineEdit.EchoMode.Normal

        # Saving an untouched secret keeps it; a new plain variable is created.
        ed.edit(next(v for v in view.variables if v["path"] == "f/cfg/token"))
        ed.description.setText("the API token")
        assert await ed.save()
        assert await w.client.variable_value("f/cfg/token") == "tok-123-abc"
        ed.new()
        ed.path.setText("f/cfg/limit")
        ed.value.setText("42")
        assert await ed.save()
        assert view.shown_variable_values()["f/cfg/limit"] == "42"

    _window_run(qloop, daemon, qtbot, body)


def test_schedule_created_with_cron_in_words_next_runs_and_enable_switch(
        daemon: RunningDaemon, qtbot: Any, qloop: Any) -> None:
    daemon.deploy("f/demo/report", "def main(day: str = 'today', copies: int = 1):\n"
                                   "    return day\n",
                  schema={"type": "object", "properties": {
                      "day": {"type": "string", "default": "today"},
                      "copies": {"type": "integer", "minimum": 1, "default": 1}}})

    async def body(w: MainWindow) -> None:
        await w.goto("schedules")
        view = w.schedules
        assert view.stack.currentWidget() is view.empty
        ed = view.editor
        ed.new()
        ed.path.setText("f/demo/weekday_report")
        ed.target.setCurrentText("f/demo/report")
        ed.cron.setText("0 30 9 * * 1-5")
        assert ed.explain.text() == "At 09:30, Monday through Friday"
        ed.timezone.setCurrentText("Europe/Paris")
        shown = await ed.update_preview()
        assert len(shown) == 5
        for line in shown:
            assert " 09:30:00 CE" in line  # CET or CEST: Paris wall time
            assert line[:3] in ("Mon", "Tue", "Wed", "Thu", "Fri")
        # The arguments are the script's own form, with its defaults and its rules.
        form = await ed.load_form()
        assert form is not None and list(form.fields) == ["day", "copies"]
        assert form.fields["day"].editor.text() == "today"
        form.fields["day"].editor.setText("monday")
        form.fields["copies"].editor.setText("0")
        assert not await ed.save()
        assert form.fields["copies"].error.text() == "must be at least 1"
        assert ed.message.text() == "Fix the arguments marked in red."
        form.fields["copies"].editor.setText("2")
        assert await ed.save(), ed.message.text()
        rows = view.rows()
        assert len(rows) == 1
        on, path, target, words, next_run, last_run = rows[0]
        assert last_run == "never"
        assert (on, path, target, words) == ("on", "f/demo/weekday_report", "f/demo/report",
                                             "At 09:30, Monday through Friday")
        got = await w.client.get_schedule("f/demo/weekday_report")
        assert next_run == in_zone(got["stats"]["next_fire"], "Europe/Paris", short=True)
        assert next_run[:3] == shown[0][:3] and " 09:30 CE" in next_run  # the first of the 5
        assert got["timezone"] == "Europe/Paris" and got["args"] == {"day": "monday", "copies": 2}

        # Disable with the switch, then enable again.
        item = view.tree.topLevelItem(0)
        item.setCheckState(0, Qt.CheckState.Unchecked)
        for _ in range(100):
            if not (await w.client.get_schedule("f/demo/weekday_report"))["enabled"]:
                break
            await asyncio.sleep(0.05)
        assert not (await w.client.get_schedule("f/demo/weekday_report"))["enabled"]
        await view.refresh()
        assert view.rows()[0][0] == "off" and view.rows()[0][4] == "— disabled"
        await view.set_enabled("f/demo/weekday_report", True)
        assert (await w.client.get_schedule("f/demo/weekday_report"))["enabled"]

        # Edit: open it from the list, change the cron, save.
        view._clicked(view.tree.topLevelItem(0), 1)
        assert ed.editing == "f/demo/weekday_report" and ed.path.isReadOnly()
        form = await ed.load_form({"day": "monday", "copies": 2})  # what edit() loads
        assert form is not None and form.fields["copies"].editor.text() == "2"
        ed.cron.setText("0 0 18 * * 5")
        assert ed.explain.text() == "At 18:00, on Friday"
        assert await ed.save(), ed.message.text()
        got = await w.client.get_schedule("f/demo/weekday_report")
        assert got["schedule"] == "0 0 18 * * 5" and got["enabled"]
        assert view.rows()[0][3] == "At 18:00, on Friday"

        # A bad expression: said in words under the field, and the daemon's reason.
        ed.new()
        ed.cron.setText("0 0 9 * *  * *")
        assert "6 fields" in ed.explain.text()
        assert await ed.update_preview() == []
        assert "cron" in ed.next_times.item(0).text()
        ed.path.setText("f/demo/bad")
        ed.target.setCurrentText("f/demo/report")
        assert not await ed.save()
        assert "schedule" in ed.message.text()

    _window_run(qloop, daemon, qtbot, body)


def test_tray_counts_failures_notifies_once_and_pauses_workers(
        daemon: RunningDaemon, qtbot: Any, qloop: Any) -> None:
    """Offscreen there is no system tray: the tray logic runs without an icon."""
    from desktop_app.gui.tray import Tray

    daemon.deploy("f/demo/boom", "def main():\n    raise ValueError('disk full')\n")

    async def body() -> None:
        conn = Connection(url=daemon.url, token=daemon.token)
        async with TidemillClient(conn, timeout=60) as client:
            tray = Tray(client, daemon.home)
            assert tray.icon is None
            await tray.poll()
            assert tray.watch.activity.reachable and tray.watch.activity.failures == []
            job_id = await client.run_async("f/demo/boom", {})
            for _ in range(200):
                if (await client.get_job(job_id))["type"] == "CompletedJob":
                    break
                await asyncio.sleep(0.05)
            await tray.poll()
            assert tray.notifications == [("f/demo/boom failed", "disk full")]
            assert "1 failed since you last looked" in tray.watch.activity.tooltip()
            await tray.poll()
            assert len(tray.notifications) == 1  # one notification per failure
            tray.mark_seen()
            await tray.poll()
            assert tray.watch.activity.failures == [] and tray.watch.activity.level == "idle"

            await tray.toggle_pause()
            assert tray.watch.activity.paused and tray.pause_action.text() == "Resume workers"
            queued = await client.run_async("f/demo/boom", {})
            await asyncio.sleep(1.5)
            assert (await client.get_job(queued))["type"] == "QueuedJob"  # nobody claims it
            await tray.toggle_pause()
            assert not tray.watch.activity.paused
            for _ in range(200):
                if (await client.get_job(queued))["type"] == "CompletedJob":
                    break
                await asyncio.sleep(0.05)
            assert (await client.get_job(queued))["type"] == "CompletedJob"
            tray.close()

    qloop.run_until_complete(asyncio.wait_for(body(), 120))


def test_tray_process_without_a_system_tray_says_so_and_exits(tmp_path: Path) -> None:
    res = subprocess.run([sys.executable, "-m", "desktop_app.gui.tray", "--home", str(tmp_path)],
                         capture_output=True, text=True, timeout=60,
                         env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert res.returncode == 0, res.stderr
    assert "no system tray" in res.stdout


def test_startup_starts_a_daemon_when_none_answers(
        database_url: str, tmp_path: Path, qapp: Any, qloop: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from desktop_app.gui.startup import ensure_daemon

    home = tmp_path / "home"
    monkeypatch.delenv("TIDEMILL_URL", raising=False)
    monkeypatch.setenv("TIDEMILL_DATABASE_URL", database_url)
    monkeypatch.setenv("TIDEMILL_TRAY", "0")
    port = free_port()
    conn = Connection(url=f"http://127.0.0.1:{port}", token=None)
    try:
        got = qloop.run_until_complete(asyncio.wait_for(ensure_daemon(home, conn), 120))
        assert got.url == f"http://127.0.0.1:{port}" and got.token  # the new admin token

        async def whoami() -> dict[str, Any]:
            async with TidemillClient(got) as client:
                return await client.whoami()
        assert qloop.run_until_complete(whoami())["username"] == "admin"
        assert daemon_control.running_url(home) == got.url
        # A second start finds it running and launches nothing.
        again = qloop.run_until_complete(ensure_daemon(home, got))
        assert again is got
    finally:
        daemon_control.stop(home)
