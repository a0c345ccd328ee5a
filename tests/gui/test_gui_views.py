"""The script view's form, Run, validation, and the runs view, against a real daemon."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from PySide6.QtWidgets import QComboBox

from desktop_app.client.http import Connection, TidemillClient
from desktop_app.gui.app import MainWindow
from desktop_app.gui.schema_form import (
    ArrayEditor,
    BoolEditor,
    DateTimeEditor,
    EnumEditor,
    JsonEditor,
    StringEditor,
)
from tests.e2e.daemon_harness import RunningDaemon

GREET = '''
from datetime import datetime
from typing import Literal


def main(name: str, count: int, ratio: float = 0.5, loud: bool = False,
         mode: Literal["calm", "brisk"] = "calm", when: datetime = datetime(2026, 1, 1),
         tags: list[str] = [], extra: dict = {}):
    print("greeting", name)
    return {"greeting": ("HELLO " if loud else "hello ") + name, "count": count * 2,
            "mode": mode, "tags": tags, "extra": extra}
'''


def _window_run(loop: Any, daemon: RunningDaemon, qtbot: Any, body: Any) -> Any:
    async def go() -> Any:
        conn = Connection(url=daemon.url, token=daemon.token)
        async with TidemillClient(conn, timeout=120) as client:
            window = MainWindow(client)
            qtbot.addWidget(window)
            window.show()
            return await body(window)
    return loop.run_until_complete(asyncio.wait_for(go(), 180))


def _jobs(daemon: RunningDaemon) -> list[dict[str, Any]]:
    r = daemon.api("GET", "jobs/list")
    assert r.status_code == 200, r.text
    return list(r.json())


def test_script_view_builds_the_form_runs_and_lists_the_job(
        daemon: RunningDaemon, qtbot: Any, qloop: Any) -> None:
    daemon.deploy("f/demo/greet", GREET, summary="Greet someone")

    async def body(w: MainWindow) -> Any:
        await w.goto("home")
        assert w.home.visible_paths() == ["f/demo/greet"]
        w.home.search.setText("nothing-like-this")
        assert w.home.visible_paths() == []
        w.home.search.setText("greet")
        assert w.home.visible_paths() == ["f/demo/greet"]

        await w.goto("script", "f/demo/greet")
        assert w.stack.currentWidget() is w.script
        form = w.script.form
        kinds = {name: type(f.widget) for name, f in form.fields.items()}
        assert list(form.fields) == ["name", "count", "ratio", "loud", "mode", "when", "tags",
                                     "extra"]  # the signature's order
        assert kinds == {"name": StringEditor, "count": StringEditor, "ratio": StringEditor,
                         "loud": BoolEditor, "mode": EnumEditor, "when": DateTimeEditor,
                         "tags": ArrayEditor, "extra": JsonEditor}
        assert form.fields["name"].required and form.fields["count"].required
        assert not form.fields["ratio"].required
        assert "*" in form.fields["count"].label.text()
        mode = form.fields["mode"].widget
        assert isinstance(mode, QComboBox)
        assert [mode.itemText(i) for i in range(mode.count())] == ["", "calm", "brisk"]
        assert "def main" in w.script.editor.toPlainText()

        form.fields["name"].widget.setText("Ada")  # type: ignore[attr-defined]
        form.fields["count"].widget.setText("21")  # type: ignore[attr-defined]
        form.fields["loud"].widget.setChecked(True)  # type: ignore[attr-defined]
        mode.setCurrentText("brisk")
        form.fields["tags"].widget.set_value(["x", "y"])  # type: ignore[attr-defined]
        form.fields["extra"].widget.setPlainText('{"k": 1}')  # type: ignore[attr-defined]
        await w.script.test_run()
        result = w.script.result.result
        assert result == {"greeting": "HELLO Ada", "count": 42, "mode": "brisk",
                          "tags": ["x", "y"], "extra": {"k": 1}}
        assert w.script.status.text().startswith("Succeeded")
        job_id = w.script.last_job_id
        assert job_id

        w.show_view("runs")
        await w.runs.refresh()
        rows = {r[-1]: r for r in w.runs.model.rows}
        assert rows[job_id][:2] == ("success", "f/demo/greet")
        await w.show_job(job_id)
        assert w.stack.currentWidget() is w.job
        assert w.job.result.result["count"] == 42
        assert json.loads(w.job.args.toPlainText())["name"] == "Ada"
        assert "greeting Ada" in w.job.logs.text()
        return job_id

    _window_run(qloop, daemon, qtbot, body)


@pytest.mark.api_only  # no job runs: the API in-process
def test_invalid_integer_shows_a_message_beside_the_field_and_starts_no_job(
        daemon: RunningDaemon, qtbot: Any, qloop: Any) -> None:
    daemon.deploy("f/demo/greet", GREET)

    async def body(w: MainWindow) -> None:
        await w.goto("script", "f/demo/greet")
        form = w.script.form
        form.fields["name"].widget.setText("Ada")  # type: ignore[attr-defined]
        form.fields["count"].widget.setText("twelve")  # type: ignore[attr-defined]
        form.fields["extra"].widget.setPlainText("{not json")  # type: ignore[attr-defined]
        await w.script.test_run()
        assert "not a whole number" in form.fields["count"].error.text()
        assert "not valid JSON" in form.fields["extra"].error.text()
        assert form.fields["name"].error.text() == ""
        assert w.script.result.result is None
        assert w.script.last_job_id is None

        form.fields["name"].widget.setText("")  # type: ignore[attr-defined]
        await w.script.test_run()
        assert form.fields["name"].error.text() == "required"

    _window_run(qloop, daemon, qtbot, body)
    assert _jobs(daemon) == []


def test_empty_workspace_and_runs_say_what_to_do(
        daemon: RunningDaemon, qtbot: Any, qloop: Any) -> None:
    async def body(w: MainWindow) -> None:
        await w.goto("home")
        assert w.home.stack.currentWidget() is w.home.empty
        assert "tidemill deploy" in w.home.empty.text()
        await w.goto("runs")
        assert w.runs.stack.currentWidget() is w.runs.empty
        assert w.banner.isHidden()

    _window_run(qloop, daemon, qtbot, body)


def test_unreachable_daemon_shows_a_banner(daemon: RunningDaemon, qtbot: Any, qloop: Any) -> None:
    async def body(w: MainWindow) -> None:
        assert await w.ping()
        assert w.banner.isHidden()
        daemon.stop()
        assert not await w.ping()
        assert w.banner.isVisible()
        assert "cannot reach" in w.banner.text() and "retrying" in w.banner.text()

    _window_run(qloop, daemon, qtbot, body)


@pytest.mark.api_only  # no job runs: the API in-process
def test_cli_screenshot_renders_a_view_at_1280x800(daemon: RunningDaemon, tmp_path: Any) -> None:
    import struct

    daemon.deploy("f/demo/greet", GREET)
    out = tmp_path / "script.png"
    daemon.cli("gui", "--screenshot", str(out), "--view", "script", "--path", "f/demo/greet",
               "--theme", "dark", check=True)
    head = out.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", head[16:24]) == (1280, 800)
    bad = daemon.cli("gui", "--screenshot", str(tmp_path / "x.png"), "--view", "nope")
    assert bad.returncode != 0 and "unknown view" in bad.stderr
