"""The flow designer driven like a user would, against a real daemon: build a flow with an
inline Python step, a branch to one with two branches and a parallel for loop; save; run;
watch the nodes end in the right states; approve a waiting step; edit the YAML."""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtWidgets import QCheckBox, QLabel, QLineEdit, QPushButton

from desktop_app.client.http import Connection, TidemillClient
from desktop_app.flowgraph.model import TOP, ListRef
from desktop_app.gui.app import MainWindow
from desktop_app.gui.flow_designer.designer import FlowDesigner
from desktop_app.gui.flow_designer.expr_edit import ExprEdit
from tests.e2e.daemon_harness import RunningDaemon
from tests.gui.flow_samples import js, py


def _window_run(loop: Any, daemon: RunningDaemon, qtbot: Any, body: Any) -> Any:
    async def go() -> Any:
        conn = Connection(url=daemon.url, token=daemon.token)
        async with TidemillClient(conn, timeout=120) as client:
            window = MainWindow(client)
            qtbot.addWidget(window)
            window.resize(1280, 800)
            window.show()
            try:
                return await body(window)
            finally:
                if window.flow._poller is not None:
                    window.flow._poller.cancel()
    return loop.run_until_complete(asyncio.wait_for(go(), 240))


def _menu_action(menu: Any, text: str) -> Any:
    found = _find_action(menu, text)
    assert found is not None, f"no menu entry {text!r}"
    return found


def _find_action(menu: Any, text: str) -> Any:
    for action in menu.actions():
        if action.text() == text:
            return action
        if action.menu() is not None:
            found = _find_action(action.menu(), text)
            if found is not None:
                return found
    return None


def _plus(d: FlowDesigner, ref: ListRef, index: int) -> Any:
    for plus in d.scene.plus:
        if plus.point.ref == ref and plus.point.index == index:
            return plus.point
    raise AssertionError(f"no + at {ref} {index}")


def _insert(d: FlowDesigner, ref: ListRef, index: int, entry: str) -> str:
    """Press the "+" on that edge and pick `entry` from its menu; the new step's id."""
    before = set(d.doc.ids())
    _menu_action(d.insert_menu(_plus(d, ref, index)), entry).trigger()
    (new,) = set(d.doc.ids()) - before
    assert d.selected == new and d.step_panel.step_id == new
    return new


def _type_code(d: FlowDesigner, code: str) -> None:
    assert d.step_panel.code is not None
    d.step_panel.code.setPlainText(code)
    d.step_panel.commit_code()  # what the pause after typing does


def _expr(d: FlowDesigner, name: str, text: str) -> None:
    """Switch input `name` to a JavaScript expression and type `text`."""
    mode, _editor = d.step_panel.inputs[name]
    mode.setCurrentText("javascript")
    _mode, editor = d.step_panel.inputs[name]
    assert isinstance(editor, ExprEdit)
    editor.setText(text)
    editor.editingFinished.emit()


def test_build_save_run_a_flow_in_the_designer(daemon: RunningDaemon, qtbot: Any,
                                                qloop: Any) -> None:
    async def body(w: MainWindow) -> None:
        await w.goto("flow", "f/designer/built")
        d = w.flow
        assert w.stack.currentWidget() is d
        assert d.doc.ids() == [] and "nothing is deployed" in d.status.text()

        # A flow input n: integer, default 4, required.
        d.inputs_panel.findChild(QPushButton, "addField").click()
        row = d.inputs_panel.rows[0]
        row["name"].setText("n")
        row["name"].editingFinished.emit()
        d.inputs_panel.rows[0]["type"].setCurrentText("integer")
        d.inputs_panel.rows[0]["default"].setText("4")
        d.inputs_panel.rows[0]["default"].editingFinished.emit()
        d.inputs_panel.rows[0]["required"].setChecked(True)
        assert d.doc.flow["schema"]["properties"] == {"n": {"type": "integer", "default": 4}}
        assert d.doc.flow["schema"]["required"] == ["n"]
        assert list(d.run_form.fields) == ["n"] and d.run_form.fields["n"].required

        # Inline Python: double n.
        a = _insert(d, TOP, 0, "python3")
        _type_code(d, "def main(n: int):\n    return n * 2\n")
        assert "input n is required and has no value" in d.problems_of(a)
        assert d.scene.nodes[a].problems  # shown on the node
        shown = d.step_panel.problems_box
        assert shown is not None and "no value" in shown.findChildren(QLabel)[0].text()
        _expr(d, "n", "flow_input.n")
        assert d.problems_of(a) == []
        assert not d.step_panel.problems_box.isVisibleTo(d)  # type: ignore[union-attr]
        completer = d.step_panel.inputs["n"][1]
        assert isinstance(completer, ExprEdit)
        assert completer.completions_for("flow_input.") == ["flow_input.n"]

        # Branch to one: two branches and a default, each with a Python step.
        pick = _insert(d, TOP, 1, "Branch to one")
        add = [b for b in d.step_panel.findChildren(QPushButton) if b.text() == "Add branch"]
        add[0].click()
        assert len(d.doc.module(pick)["value"]["branches"]) == 2
        for index, cond in enumerate(["results.a > 10", "results.a > 5"]):
            edit = d.step_panel.findChild(ExprEdit, f"branchExpr{index}")
            edit.setText(cond)
            edit.editingFinished.emit()
        outcomes = {}
        for ref, word in [(ListRef(pick, "branches", 0), "big"),
                          (ListRef(pick, "branches", 1), "mid"),
                          (ListRef(pick, "default"), "small")]:
            sid = _insert(d, ref, 0, "python3")
            _type_code(d, f"def main():\n    return '{word}'\n")
            outcomes[word] = sid

        # A parallel for loop over [1, 2, 3] multiplying each item by results.a.
        loop = _insert(d, TOP, 2, "For loop")
        d.select_and_show(loop)
        iterator = d.step_panel.widgets["iterator"]
        assert isinstance(iterator, QLineEdit)
        iterator.setText("[1, 2, 3]")
        iterator.editingFinished.emit()
        parallel = d.step_panel.widgets["parallel"]
        assert isinstance(parallel, QCheckBox)
        parallel.setChecked(True)
        inner = _insert(d, ListRef(loop, "modules"), 0, "python3")
        _type_code(d, "def main(x: int, base: int):\n    return x * base\n")
        _expr(d, "x", "flow_input.iter.value")
        _expr(d, "base", "results.a")
        assert d.problems == {}, d.problems

        # The graph: loop and branch as containers around their steps.
        assert d.scene.nodes[loop].container and d.scene.nodes[pick].container
        assert d.scene.nodes[loop].node.rect.contains(d.scene.nodes[inner].node.rect)
        labels = [lab.text for lab in d.scene.layout_.labels]  # type: ignore[union-attr]
        assert labels == ["Branch 1: results.a > 10", "Branch 2: results.a > 5", "Default"]

        # Undo and redo the last edit with the shortcuts' slots.
        d.undo()
        assert d.doc.module(inner)["value"]["input_transforms"]["base"] != js("results.a")
        d.redo()
        assert d.doc.module(inner)["value"]["input_transforms"]["base"] == js("results.a")

        assert await d.save()
        stored = await w.client.get_flow("f/designer/built")
        assert stored["value"] == d.doc.flow["value"] and not d.stack.dirty

        d.run_form.fields["n"].widget.setText("4")  # type: ignore[attr-defined]
        job_id = await d.run_flow()
        assert job_id
        view = await asyncio.wait_for(d.follow(job_id), 180)
        assert view.finished and view.success, view
        assert view.result == [8, 16, 24]
        expect = {a: "success", pick: "success", outcomes["mid"]: "success",
                  outcomes["big"]: "skipped", outcomes["small"]: "skipped",
                  loop: "success", inner: "success"}
        assert {k: view.states[k] for k in expect} == expect
        assert {k: d.scene.nodes[k].state for k in expect} == expect
        assert view.results[a] == 8 and view.results[inner] == [8, 16, 24]
        assert d.run_result.toPlainText().replace(" ", "").replace("\n", "") == "[8,16,24]"
        d.select_and_show(a)
        assert d.step_panel.result_box is not None
        assert d.step_panel.result_box.toPlainText() == "8"

        # Test one step alone: its inputs from the run form (n = 5) and the last results.
        d.run_form.fields["n"].widget.setText("5")  # type: ignore[attr-defined]
        _type_code(d, "def main(n: int):\n    return n * 3\n")
        outcome = await d.test_step(a)
        assert outcome.success and outcome.result == 15
        assert d.step_panel.test_status.text() == "Succeeded"  # type: ignore[union-attr]
        d.select_and_show(inner)
        assert await d.test_step(inner) is None
        assert "flow_input.iter.value has no value yet" in \
            d.step_panel.test_status.text()  # type: ignore[union-attr]

    _window_run(qloop, daemon, qtbot, body)


def test_approval_from_the_designer_and_yaml_round_trip(daemon: RunningDaemon, qtbot: Any,
                                                         qloop: Any) -> None:
    ask = py("ask", "Ask", "def main():\n    return 'asked'\n")
    ask["suspend"] = {"required_events": 1, "timeout": 600, "resume_form": {"schema": {
        "type": "object", "properties": {"note": {"type": "string"}}, "required": ["note"]}}}
    flow = {"summary": "Approve me", "value": {"modules": [
        ask, py("after", "After", "def main(r):\n    return r\n", r="resume")]},
        "schema": {"type": "object", "properties": {}, "required": []}}
    r = daemon.api("POST", "flows/create", json={**flow, "path": "f/designer/approve"})
    assert r.status_code == 201, r.text

    async def body(w: MainWindow) -> None:
        await w.goto("flow", "f/designer/approve")
        d = w.flow
        assert d.doc.flow["value"] == flow["value"]

        # YAML: a broken edit points at its line and leaves the graph alone.
        d.tabs.setCurrentIndex(1)
        text = d.yaml.editor.toPlainText()
        assert text == d.doc.to_yaml()
        lines = text.splitlines()
        bad = next(i for i, line in enumerate(lines) if "summary: After" in line)
        lines[bad] = lines[bad].replace("summary: After", "summary: [After")
        d.yaml.editor.setPlainText("\n".join(lines) + "\n")
        d.tabs.setCurrentIndex(0)
        assert d.tabs.currentIndex() == 1  # refused to leave
        assert d.yaml.error.isVisible() and d.yaml.error_line() is not None
        assert abs(d.yaml.error_line() - (bad + 1)) <= 1
        assert d.doc.module("after")["summary"] == "After"
        d.yaml.editor.setPlainText(text.replace("summary: After", "summary: Then"))
        d.tabs.setCurrentIndex(0)
        assert d.tabs.currentIndex() == 0
        assert d.doc.module("after")["summary"] == "Then"
        assert d.scene.nodes["after"].node.title == "Then"
        d.undo()
        assert d.doc.flow["value"] == flow["value"]

        # A script by path: its inputs come from the deployed script's schema.
        daemon.deploy("f/designer/double", "def main(v: int):\n    return v * 2\n")
        sid = _insert(d, TOP, 2, "Script by path")
        path = d.step_panel.widgets["path"]
        assert isinstance(path, QLineEdit)
        path.setText("f/designer/double")
        path.editingFinished.emit()
        for _ in range(100):
            if "v" in d.step_panel.inputs:
                break
            await asyncio.sleep(0.05)
        assert list(d.step_panel.inputs) == ["v"]
        assert d.problems_of(sid) == ["input v is required and has no value"]
        d.undo()
        d.undo()
        assert d.doc.flow["value"] == flow["value"]

        job_id = await d.run_flow({})
        for _ in range(300):
            view = await d.poll(job_id)  # type: ignore[arg-type]
            if view.states.get("ask") == "suspended":
                break
            await asyncio.sleep(0.2)
        assert view.states == {"ask": "suspended", "after": "waiting"}
        d.select_and_show("ask")
        assert d.step_panel.approve_row is not None and d.step_panel.resume_form is not None
        assert not await d.answer_approval("ask", True)  # the note is required
        assert d.step_panel.resume_form.fields["note"].error.text() == "required"
        d.step_panel.resume_form.fields["note"].widget.setText("ship it")  # type: ignore[attr-defined]
        assert await d.answer_approval("ask", True)
        view = await asyncio.wait_for(d.follow(job_id), 120)  # type: ignore[arg-type]
        assert view.success and view.states == {"ask": "success", "after": "success"}
        assert view.result == {"note": "ship it", "approved": True}

        # Reject: the run ends there and the steps after it never run.
        job_id = await d.run_flow({})
        for _ in range(300):
            view = await d.poll(job_id)  # type: ignore[arg-type]
            if view.states.get("ask") == "suspended":
                break
            await asyncio.sleep(0.2)
        assert await d.answer_approval("ask", False)
        view = await asyncio.wait_for(d.follow(job_id), 120)  # type: ignore[arg-type]
        assert view.finished and not view.success
        assert view.states == {"ask": "failure", "after": "skipped"}
        assert "Failed" in d.run_status.text()

    _window_run(qloop, daemon, qtbot, body)

