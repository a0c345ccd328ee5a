"""The script editor against a real daemon: live form, Test run with live logs, deploy, history."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from PySide6.QtWidgets import QLineEdit

from desktop_app.client.http import Connection, TidemillClient
from desktop_app.gui.app import MainWindow
from desktop_app.gui.schema_form import (
    ArrayEditor,
    BoolEditor,
    DateTimeEditor,
    EnumEditor,
    ObjectEditor,
    ResourceEditor,
    StringEditor,
)
from tests.e2e.daemon_harness import RunningDaemon

RICH = '''from datetime import datetime
from typing import Literal


def main(name: str, count: int, ratio: float = 0.5, loud: bool = False,
         mode: Literal["calm", "brisk"] = "calm", tags: list[str] = [],
         when: datetime = datetime(2026, 1, 1)):
    for i in range(count):
        print("greeting", name, i)
    return [{"name": name, "n": i, "mode": mode, "loud": loud} for i in range(count)]
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


async def until(check: Callable[[], Any], timeout: float = 30, what: str = "") -> Any:
    """Let the loop run until `check()` is truthy (the debounce and the daemon need time)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or check}")


def _job_count(daemon: RunningDaemon) -> int:
    r = daemon.api("GET", "jobs/list")
    assert r.status_code == 200, r.text
    return len(r.json())


def test_write_a_script_the_form_follows_test_run_then_deploy(
        daemon: RunningDaemon, qtbot: Any, qloop: Any) -> None:
    async def body(w: MainWindow) -> None:
        await w.goto("home")
        dialog = w.home.open_new_script_dialog()
        dialog.path.setText("not a path")  # type: ignore[attr-defined]
        dialog._check()  # type: ignore[attr-defined]
        assert "f/folder/name" in dialog.error.text()  # type: ignore[attr-defined]
        dialog.path.setText("f/demo/rich")  # type: ignore[attr-defined]
        dialog.language.setCurrentText("python3")  # type: ignore[attr-defined]
        dialog._check()  # type: ignore[attr-defined]
        assert w.stack.currentWidget() is w.script
        s = w.script
        assert "def main" in s.editor.toPlainText()  # the template
        await until(lambda: "name" in s.form.fields, what="the template's form")

        s.editor.setPlainText(RICH)
        await until(lambda: "when" in s.form.fields, what="the form of the typed code")
        form = s.form
        assert list(form.fields) == ["name", "count", "ratio", "loud", "mode", "tags", "when"]
        kinds = {n: type(f.editor) for n, f in form.fields.items()}
        assert kinds == {"name": StringEditor, "count": StringEditor, "ratio": StringEditor,
                         "loud": BoolEditor, "mode": EnumEditor, "tags": ArrayEditor,
                         "when": DateTimeEditor}
        assert form.fields["count"].editor.kind == "integer"
        assert form.fields["ratio"].editor.text() == "0.5"  # the default is filled in
        assert form.fields["name"].required and not form.fields["ratio"].required

        form.fields["name"].editor.setText("Ada")
        form.fields["count"].editor.setText("3")
        # a syntax error: the message shows under the editor, the last good form stays
        s.editor.setPlainText(RICH.replace("count: int,", "count: int,,"))
        await until(s.parse_status.isVisible, what="the syntax error")
        assert "Line 5" in s.parse_status.text()
        assert s.editor.error_line == 5  # and the line is marked in the code
        assert s.form is form and form.fields["name"].editor.text() == "Ada"
        # fixed, with one more argument: what was typed is kept
        s.editor.setPlainText(RICH.replace("count: int,", "count: int, shout: bool = True,"))
        await until(lambda: "shout" in s.form.fields, what="the new argument")
        assert not s.parse_status.isVisible()
        form = s.form
        assert form.fields["name"].editor.text() == "Ada"
        assert form.fields["count"].editor.text() == "3"
        assert form.fields["shout"].editor.isChecked()

        form.fields["mode"].editor.setCurrentText("brisk")
        jobs_before = _job_count(daemon)
        job_id = await s.test_run()
        assert job_id and s.status.text().startswith("Succeeded")
        assert "greeting Ada 0" in s.logs.toPlainText()
        assert "greeting Ada 2" in s.logs.toPlainText()
        assert s.result.mode == "table"  # a list of objects
        assert s.result.table.rowCount() == 3
        assert s.result.result[2] == {"name": "Ada", "n": 2, "mode": "brisk", "loud": False}
        # the script's column order (jsonb would give n, loud, mode, name) and JSON's false
        table = s.result.table
        assert [table.horizontalHeaderItem(c).text() for c in range(4)] == \
            ["name", "n", "mode", "loud"]
        assert table.item(0, 3).text() == "false"
        assert _job_count(daemon) == jobs_before + 1

        # a failing run shows the error and the script's line that failed
        s.editor.setPlainText("def main(x: int = 1):\n    y = 0\n    return x / y\n")
        await until(lambda: list(s.form.fields) == ["x"], what="the form of the failing code")
        await s.test_run()
        assert s.status.text().startswith("Failed")
        assert s.result.mode == "error"
        assert "ZeroDivisionError" in s.result.error_title.text()
        assert s.result.error_line_number == 3
        assert "return x / y" in s.result.error_line.text()
        assert s.result.error_stack.extraSelections()
        assert s.editor.error_line == 3  # the failing line is marked in the code too

        # deploy (Ctrl+S opens the dialog); the script then shows in the browser
        s.editor.setPlainText(RICH)
        assert s.editor.error_line is None  # editing clears the mark
        deploy = s.open_deploy_dialog()
        assert deploy is not None
        assert deploy.changes.text() == "The first version of this script."
        deploy.summary.setText("Greets, richly")
        deploy.description.setPlainText("First version")
        deploy.accept()
        await until(lambda: s.status.text().startswith("Deployed"), what="the deploy")
        assert "not deployed" not in s.title.text()
        await w.goto("home")
        assert "f/demo/rich" in w.home.visible_paths()
        script = daemon.api("GET", "scripts/get/p/f/demo/rich").json()
        assert script["summary"] == "Greets, richly" and script["description"] == "First version"

        # a second version, then the history's diff between the two
        await w.open_script("f/demo/rich")
        assert "changed" not in s.title.text()
        s.editor.setPlainText(RICH.replace('"greeting"', '"hi"'))
        assert "changed, not deployed" in s.title.text()
        second = s.open_deploy_dialog()
        assert second is not None and second.changes.text() == \
            "+1 -1 lines since the deployed version."
        second.reject()
        assert await s.deploy("Says hi", "")
        assert "changed" not in s.title.text()
        history = s.open_history()
        assert history is not None
        await until(lambda: len(history.versions) == 2, what="the history")
        lines = await until(lambda: history.lines, what="the diff")
        assert '-        print("greeting", name, i)' in lines
        assert '+        print("hi", name, i)' in lines
        assert "background" in history.diff.toHtml()
        history.reject()

    _window_run(qloop, daemon, qtbot, body)


@pytest.mark.api_only  # no job runs: the API in-process
def test_invalid_values_are_explained_beside_their_fields_and_start_no_job(
        daemon: RunningDaemon, qtbot: Any, qloop: Any) -> None:
    code = ('def main(age: int, ratio: float, scores: list[float], who: dict = {}):\n'
            '    return age\n')
    daemon.deploy("f/demo/strict", code)

    async def body(w: MainWindow) -> None:
        await w.open_script("f/demo/strict")
        s = w.script
        # a description in the deployed schema survives an edit and a deploy from here
        s.schema["properties"]["age"]["description"] = "years"  # type: ignore[index]
        s.editor.setPlainText(code.replace("who: dict = {}", "who: dict = {}, n: int = 1"))
        assert await s.deploy("", "")
        stored = daemon.api("GET", "scripts/get/p/f/demo/strict").json()["schema"]
        assert stored["properties"]["age"]["description"] == "years"
        assert "n" in stored["properties"]
        s.schema["properties"]["age"].update(minimum=0, maximum=130)  # type: ignore[index]
        s._set_form(s.schema, keep_values=False)
        form = s.form
        form.fields["age"].editor.setText("200")
        form.fields["ratio"].editor.setText("half")
        scores = form.fields["scores"].editor
        scores.add_row().setText("1.5")
        scores.add_row().setText("lots")
        form.fields["who"].editor.setPlainText("[1, 2]")
        assert await s.test_run() is None
        assert form.fields["age"].error.text() == "must be at most 130"
        assert "not a number" in form.fields["ratio"].error.text()
        assert form.fields["scores"].error.text() == "item 2: “lots” is not a number"
        assert "JSON object" in form.fields["who"].error.text()
        assert "Fix the fields" in s.status.text()
        assert s.last_job_id is None
        form.fields["age"].editor.setText("")
        await s.test_run()
        assert form.fields["age"].error.text() == "required"

    _window_run(qloop, daemon, qtbot, body)
    assert _job_count(daemon) == 0


def test_resource_picker_lists_that_type_and_creates_one(
        daemon: RunningDaemon, qtbot: Any, qloop: Any) -> None:
    code = ('postgresql = mailgun = dict\n\n\ndef main(db: postgresql, mail: mailgun = None):\n'
            '    return {"db": db, "mail": mail}\n')
    for path, rtype in (("f/res/main_db", "postgresql"), ("f/res/replica", "postgresql"),
                        ("f/res/chat", "slack")):
        r = daemon.api("POST", "resources/create",
                       json={"path": path, "resource_type": rtype, "value": {"host": path}})
        assert r.status_code == 201, r.text
    daemon.deploy("f/demo/uses_db", code)

    async def body(w: MainWindow) -> None:
        await w.open_script("f/demo/uses_db")
        picker = w.script.form.fields["db"].editor
        assert isinstance(picker, ResourceEditor) and picker.resource_type == "postgresql"
        items = [picker.combo.itemText(i) for i in range(picker.combo.count())]
        assert items == ["", "f/res/main_db", "f/res/replica"]  # not the slack one

        # "New…" for a type the workspace knows: the type's own form, password masked
        picker.open_new_dialog()
        dialog = picker.dialog
        await until(lambda: dialog.type_loaded, what="the type's schema")
        form = dialog.type_form
        assert form is not None and "password" in form.fields
        assert form.fields["password"].editor.echoMode() == QLineEdit.EchoMode.Password
        assert form.fields["port"].editor.text() == "5432"  # the type's default
        dialog.path.setText("f/res/new_db")
        form.fields["port"].editor.setText("many")
        dialog._check_then_accept()
        assert "fix the fields" in dialog.error.text() and dialog.isVisible()
        assert "not a whole number" in form.fields["port"].error.text()
        form.fields["port"].editor.setText("5433")
        form.fields["host"].editor.setText("db.local")
        form.fields["user"].editor.setText("app")
        form.fields["dbname"].editor.setText("shop")
        form.fields["password"].editor.setText("s3cret")
        dialog._check_then_accept()
        await until(lambda: "f/res/new_db" in picker.paths or dialog.error.text(),
                    what="the new resource")
        assert dialog.error.text() == ""
        assert picker.combo.currentText() == "f/res/new_db"
        assert picker.value() == "$res:f/res/new_db"

        # a type without a schema: the value is typed as JSON
        mail = w.script.form.fields["mail"].editor
        mail.open_new_dialog()
        dialog = mail.dialog
        await until(lambda: dialog.type_loaded, what="the type lookup")
        assert dialog.type_form is None
        dialog.path.setText("f/res/mailer")
        dialog.value_text.setPlainText("{not json")
        dialog._check_then_accept()
        assert "not valid JSON" in dialog.error.text()
        dialog.value_text.setPlainText('{"api_key": "k"}')
        dialog._check_then_accept()
        await until(lambda: "f/res/mailer" in mail.paths, what="the JSON resource")

        job_id = await w.script.test_run()
        assert job_id, w.script.status.text()
        result = w.script.result.result
        assert isinstance(result, dict) and "mail" in result, (result, w.script.status.text())
        assert result["mail"] == {"api_key": "k"}
        assert result["db"]["host"] == "db.local" and result["db"]["port"] == 5433
        assert result["db"]["password"] == "s3cret"  # kept in the keyring, given to the job

    _window_run(qloop, daemon, qtbot, body)


def test_keyboard_shortcuts_run_deploy_and_search(
        daemon: RunningDaemon, qtbot: Any, qloop: Any) -> None:
    from PySide6.QtCore import Qt

    daemon.deploy("f/demo/keys", "def main(n: int = 2):\n    print('n is', n)\n    return n\n")
    daemon.deploy("f/demo/slow", "import time\n\n\ndef main():\n    print('first', flush=True)\n"
                  "    for i in range(40):\n        print('tick', i, flush=True)\n"
                  "        time.sleep(0.1)\n    print('second')\n    return 'slow'\n")

    async def body(w: MainWindow) -> None:
        w.activateWindow()
        await w.open_script("f/demo/keys")
        s = w.script
        s.editor.setFocus()
        qtbot.keyClick(s.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        await until(lambda: s.status.text().startswith("Succeeded"), what="Ctrl+Enter's run")
        assert "n is 2" in s.logs.toPlainText()
        assert s.editor.toPlainText().count("\n") == 3  # no newline was typed
        qtbot.keyClick(s.editor, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
        assert s.deploy_dialog.isVisible()
        s.deploy_dialog.reject()
        qtbot.keyClick(s.editor, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
        assert s.code.find_bar.isVisible() and not s.code.find_bar.replace_row.isVisible()
        qtbot.keyClick(s.editor, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
        assert w.stack.currentWidget() is w.home
        assert w.home.search.hasFocus()

        # another script opened while a test run streams: nothing of it lands there
        await w.open_script("f/demo/slow")
        run = asyncio.ensure_future(s.test_run())
        await until(lambda: "first" in s.logs.toPlainText(), what="the slow run's first line")
        w.new_script("f/demo/other", "python3")
        assert await asyncio.wait_for(run, 30)
        assert "first" not in s.logs.toPlainText() and "second" not in s.logs.toPlainText()
        assert s.result.result is None and s.status.text() == ""
        assert s.run_button.isEnabled()

    _window_run(qloop, daemon, qtbot, body)


def test_nested_object_and_array_of_objects_reach_the_script(
        daemon: RunningDaemon, qtbot: Any, qloop: Any) -> None:
    code = ('export async function main(user: {name: string, age: number}, '
            'items: {sku: string, qty: number}[]) {\n  return {user, items};\n}\n')
    daemon.deploy("f/demo/nested", code, language="deno")

    async def body(w: MainWindow) -> None:
        await w.open_script("f/demo/nested")
        form = w.script.form
        user = form.fields["user"].editor
        assert isinstance(user, ObjectEditor)
        user.form.fields["name"].editor.setText("Ada")
        user.form.fields["age"].editor.setText("36")
        items = form.fields["items"].editor
        assert isinstance(items, ArrayEditor)
        first = items.add_row()
        assert isinstance(first, ObjectEditor)
        first.form.fields["sku"].editor.setText("A-1")
        first.form.fields["qty"].editor.setText("2")
        second = items.add_row()
        second.form.fields["sku"].editor.setText("gone")
        items.remove_row(second)
        assert len(items.editors()) == 1
        assert await w.script.test_run()
        assert w.script.result.result == {"user": {"name": "Ada", "age": 36},
                                          "items": [{"sku": "A-1", "qty": 2}]}

    _window_run(qloop, daemon, qtbot, body)


def test_a_10000_line_test_run_keeps_the_editor_responsive(
        daemon: RunningDaemon, qtbot: Any, qloop: Any) -> None:
    from PySide6.QtCore import QTimer

    flood = ('def main(lines: int = 10000):\n    for i in range(lines):\n'
             '        print(f"line {i:05d} " + "x" * 40)\n    return lines\n')
    daemon.deploy("f/demo/flood", flood)

    async def body(w: MainWindow) -> float:
        await w.open_script("f/demo/flood")
        # Between two ticks of a 5 ms timer, the CPU time the GUI thread spent is the
        # longest anything held the loop. CPU time, not wall time: on a loaded machine the
        # OS may pause the whole process, which no handler of ours can help.
        busy: list[float] = []
        last = [time.thread_time()]

        def tick() -> None:
            now = time.thread_time()
            busy.append(now - last[0])
            last[0] = now
        probe = QTimer()
        probe.setInterval(5)
        probe.timeout.connect(tick)
        last[0] = time.thread_time()
        probe.start()
        await w.script.test_run()
        probe.stop()
        text = w.script.logs.toPlainText()
        assert "line 00000" in text and "line 09999" in text
        assert w.script.result.result == 10000
        worst = max(busy) * 1000
        assert len(busy) > 20
        assert worst < 50, f"the event loop was held for {worst:.0f} ms of CPU"
        return worst

    _window_run(qloop, daemon, qtbot, body)
