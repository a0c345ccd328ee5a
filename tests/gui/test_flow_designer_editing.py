"""Editing in the flow designer with the mouse and keyboard (no daemon needed: nothing here
is saved or run): drag a step onto an edge, undo/redo keys, Delete, the step menus, zoom,
the minimap, expression completion."""

from __future__ import annotations

import copy
from typing import Any

from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QLineEdit

from desktop_app.client.http import Connection, TidemillClient
from desktop_app.flowgraph.model import TOP, ListRef
from desktop_app.flowgraph.steps import KINDS
from desktop_app.gui.flow_designer.canvas import MAX_ZOOM, MIN_ZOOM
from desktop_app.gui.flow_designer.designer import FlowDesigner
from desktop_app.gui.flow_designer.expr_edit import ExprEdit
from tests.gui.flow_samples import js, long_flow, order_pipeline, py


def _designer(qtbot: Any, flow: dict[str, Any]) -> FlowDesigner:
    d = FlowDesigner(TidemillClient(Connection("http://127.0.0.1:9", None)))
    qtbot.addWidget(d)
    d.resize(1280, 800)
    d.show()
    qtbot.waitExposed(d)
    d.open_document(copy.deepcopy(flow), "f/test/edit")
    return d


def _three() -> dict[str, Any]:
    return {"summary": "three", "value": {"modules": [
        py("a", "A", "def main():\n    return 1\n"), py("b", "B", "def main():\n    return 2\n"),
        py("c", "C", "def main(x):\n    return x\n", x="results.a")]},
        "schema": {"type": "object", "properties": {"n": {"type": "integer"}}, "required": []}}


def _mouse(d: FlowDesigner, kind: QEvent.Type, scene: QPointF, buttons: Any) -> None:
    view = d.canvas
    pos = QPointF(view.mapFromScene(scene))
    button = Qt.MouseButton.LeftButton if kind != QEvent.Type.MouseMove else \
        Qt.MouseButton.NoButton
    event = QMouseEvent(kind, pos, QPointF(view.viewport().mapToGlobal(pos.toPoint())), button,
                        buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(view.viewport(), event)


def _focus(qtbot: Any, d: FlowDesigner) -> None:
    """Keys reach the designer's shortcuts only in the active window, focus on the graph."""
    d.activateWindow()
    qtbot.waitUntil(d.isActiveWindow)
    d.canvas.setFocus()
    qtbot.waitUntil(d.canvas.hasFocus)


def _order(d: FlowDesigner) -> list[str]:
    return [s["id"] for s in d.doc.steps(TOP)]


def test_drag_a_step_onto_an_edge_then_undo_and_redo_with_the_keys(qtbot: Any) -> None:
    d = _designer(qtbot, _three())
    a = d.scene.nodes["a"].node.rect
    target = next(p for p in d.scene.plus if p.point.ref == TOP and p.point.index == 3)
    start = QPointF(a.cx, a.y + a.h / 2)
    d.canvas.ensureVisible(d.scene.nodes["a"])
    _mouse(d, QEvent.Type.MouseButtonPress, start, Qt.MouseButton.LeftButton)
    for k in range(1, 6):  # travel to the "+" after c
        point = start + (target.pos() - start) * (k / 5)
        _mouse(d, QEvent.Type.MouseMove, point, Qt.MouseButton.LeftButton)
    _mouse(d, QEvent.Type.MouseButtonRelease, target.pos(), Qt.MouseButton.NoButton)
    assert _order(d) == ["b", "c", "a"]
    # c reads results.a, which now runs after it: the node says so.
    assert d.problems_of("c") == ["input x: results.a — step 'a' has not run yet at this point"]
    assert d.scene.nodes["c"].problems

    _focus(qtbot, d)
    qtbot.keyClick(d.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert _order(d) == ["a", "b", "c"] and d.problems_of("c") == []
    qtbot.keyClick(d.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)
    assert _order(d) == ["b", "c", "a"]


def test_panels_never_leave_windows_behind(qtbot: Any) -> None:
    d = _designer(qtbot, order_pipeline())
    for sid in ["a", "c", "g", "j", "a"]:
        d.select_and_show(sid)
    d.select("input")
    d.set_schema({"type": "object", "properties": {"x": {"type": "string"}}, "required": []})
    QApplication.processEvents()
    assert [w for w in QApplication.topLevelWidgets() if w.isVisible()] == [d]
    # Showing a step again and again leaves exactly one panel's worth of fields.
    counts = []
    for _ in range(3):
        d.selected = None
        d.select_and_show("k")
        counts.append(len([w for w in d.step_panel.findChildren(QLineEdit)
                           if w.isVisibleTo(d)]))
    assert counts[0] == counts[1] == counts[2]


def test_delete_key_and_the_step_menu(qtbot: Any) -> None:
    d = _designer(qtbot, _three())
    d.select_and_show("b")
    _focus(qtbot, d)
    qtbot.keyClick(d.canvas, Qt.Key.Key_Delete)
    assert _order(d) == ["a", "c"] and "b" not in d.scene.nodes
    menu = {a.text(): a for a in d.context_menu("c").actions()}
    assert list(menu) == ["Duplicate", "Move up", "Move down", "Wrap in a for loop", "Delete"]
    menu["Move up"].trigger()
    assert _order(d) == ["c", "a"]
    menu = {a.text(): a for a in d.context_menu("a").actions()}
    menu["Duplicate"].trigger()
    assert _order(d) == ["c", "a", "b"]  # the copy takes the first free id
    menu = {a.text(): a for a in d.context_menu("b").actions()}
    menu["Wrap in a for loop"].trigger()
    (loop,) = [s["id"] for s in d.doc.steps(TOP) if s["value"]["type"] == "forloopflow"]
    assert [s["id"] for s in d.doc.steps(ListRef(loop, "modules"))] == ["b"]
    assert d.scene.nodes[loop].node.rect.contains(d.scene.nodes["b"].node.rect)
    for _ in range(4):
        d.undo()
    assert d.doc.flow == _three()


def test_the_insert_menu_offers_every_kind_and_each_lands_on_its_edge(qtbot: Any) -> None:
    d = _designer(qtbot, {"value": {"modules": []}})
    menu = d.insert_menu(d.scene.plus[0].point)
    texts = [a.text() for a in menu.actions()]
    assert texts == ["Inline script", *[t for k, t in KINDS.items() if k != "rawscript"]]
    languages = [a.text() for a in menu.actions()[0].menu().actions()]
    assert {"python3", "bun", "deno", "bash", "go", "postgresql"} <= set(languages)
    for text in texts[1:]:
        end = next(p for p in d.scene.plus if p.point.ref == TOP
                   and p.point.index == len(d.doc.steps(TOP)))
        {a.text(): a for a in d.insert_menu(end.point).actions()}[text].trigger()
    kinds = [s["value"]["type"] for s in d.doc.steps(TOP)]
    assert kinds == ["script", "flow", "forloopflow", "whileloopflow", "branchone",
                     "branchall", "rawscript", "identity"]
    approval = d.doc.steps(TOP)[6]
    assert approval["suspend"]["required_events"] == 1
    # Every container got its own "+" for its inner steps.
    owners = {p.point.ref.owner for p in d.scene.plus}
    assert {s["id"] for s in d.doc.steps(TOP) if s["value"]["type"] in (
        "forloopflow", "whileloopflow", "branchone", "branchall")} <= owners


def test_zoom_fit_and_minimap(qtbot: Any) -> None:
    d = _designer(qtbot, long_flow(60))
    assert d.canvas.minimap.isVisible()  # the flow is taller than the canvas
    for _ in range(30):
        d.canvas.zoom_by(1.5)
    assert abs(d.canvas.zoom() - MAX_ZOOM) < 1e-6
    for _ in range(30):
        d.canvas.zoom_by(0.5)
    assert abs(d.canvas.zoom() - MIN_ZOOM) < 1e-6
    d.canvas.fit()
    visible = d.canvas.mapToScene(d.canvas.viewport().rect()).boundingRect()
    assert visible.contains(d.scene.itemsBoundingRect())
    assert d.zoom_label.text() == f"{d.canvas.zoom() * 100:.0f} %"
    small = _designer(qtbot, _three())
    assert not small.canvas.minimap.isVisible()


def test_expression_completion_offers_inputs_and_earlier_results(qtbot: Any) -> None:
    d = _designer(qtbot, order_pipeline())
    d.select_and_show("e")  # inside the loop, after d
    names = d.completion_names("e")
    assert {"flow_input.count", "flow_input.customer", "results.a", "results.b", "results.d",
            "flow_input.iter.value"} <= set(names)
    assert "results.f" not in names and "results.e" not in names
    edit = d.step_panel.inputs["price"][1]
    assert isinstance(edit, ExprEdit)
    assert edit.completions_for("results.") == ["results.a", "results.b", "results.p",
                                                "results.d"]
    edit.setText("results.")
    edit.setCursorPosition(len("results."))
    edit.insert_completion("results.d")
    assert edit.text() == "results.d"
    assert d.doc.module("e")["value"]["input_transforms"]["price"] == js("results.d")
