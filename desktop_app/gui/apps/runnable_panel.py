"""The builder's runnables panel: the app's runnables (a deployed script or flow by path,
or an inline script), their inputs (static or expressions), trigger and follow-ups."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.apps import commands
from desktop_app.apps.kinds import RUNNABLE_TYPES, TRIGGERS
from desktop_app.apps.model import AppDefinition, Runnable, is_expr, static_value
from desktop_app.gui.code_editor import CodeEditor

LANGUAGES = ("python3", "deno", "bash", "postgresql", "duckdb", "go")
_NEW_INLINE = "def main(name: str = \"world\"):\n    return f\"hello {name}\"\n"


def input_text(raw: Any) -> str:
    """An input as typed in the panel: ``=expr`` for an expression, JSON for a value."""
    if is_expr(raw):
        return "=" + raw["expr"]
    return json.dumps(static_value(raw), ensure_ascii=False)


def parse_input(text: str) -> Any:
    """The inverse of `input_text`; plain text that is not JSON is a string."""
    text = text.strip()
    if text.startswith("="):
        return {"expr": text[1:].strip()}
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if isinstance(value, dict) and len(value) == 1 and ("expr" in value or "value" in value):
        return {"value": value}
    return value


class RunnablePanel(QWidget):
    def __init__(self, app: AppDefinition, push: Callable[[commands.Command], None],
                 deployed: Callable[[], list[tuple[str, str]]]) -> None:
        super().__init__()
        self.app = app
        self.push = push
        self.deployed = deployed  # [(kind, path)] of what may be picked
        self.selected = ""
        outer = QVBoxLayout(self)
        self.list = QListWidget()
        self.list.setMaximumHeight(120)
        self.list.currentTextChanged.connect(self._picked)
        outer.addWidget(self.list)
        buttons = QHBoxLayout()
        self.add_script = QPushButton("+ Script or flow")
        self.add_script.clicked.connect(lambda: self.add("script"))
        self.add_inline = QPushButton("+ Inline script")
        self.add_inline.clicked.connect(lambda: self.add("inline"))
        self.remove = QPushButton("Remove")
        self.remove.clicked.connect(self._remove)
        for b in (self.add_script, self.add_inline, self.remove):
            buttons.addWidget(b)
        outer.addLayout(buttons)
        self.body = QWidget()
        outer.addWidget(self.body, 1)
        self.message = QLabel("")
        self.message.setObjectName("fieldError")
        self.message.setWordWrap(True)
        outer.addWidget(self.message)

    # -- list --------------------------------------------------------------------------------
    def reload(self) -> None:
        ids = [r.id for r in self.app.runnables]
        self.list.blockSignals(True)
        self.list.clear()
        self.list.addItems(ids)
        self.list.blockSignals(False)
        if self.selected in ids:
            self.list.setCurrentRow(ids.index(self.selected))
        self._show(self.selected if self.selected in ids else "")

    def _picked(self, runnable_id: str) -> None:
        self.selected = runnable_id
        self._show(runnable_id)

    def add(self, kind: str) -> str:
        rid = self.app.new_id("query" if kind == "script" else "inline")
        raw: dict[str, Any] = {"id": rid, "type": kind}
        if kind == "inline":
            raw.update(language="python3", content=_NEW_INLINE, inputs={})
        else:
            deployed = self.deployed()
            raw.update(path=deployed[0][1] if deployed else "f/folder/name", inputs={})
            if deployed and deployed[0][0] == "flow":
                raw["type"] = "flow"
        raw["trigger"] = "button"
        self.selected = rid
        self.push(commands.AddRunnable(raw))
        return rid

    def _remove(self) -> None:
        if self.selected:
            self.push(commands.RemoveRunnable(self.selected))

    def set_field(self, key: str, value: Any) -> None:
        r = self.app.runnable(self.selected)
        if r.raw.get(key) != value:
            self.push(commands.SetField(("runnable", r.id), key, value))

    # -- editor ------------------------------------------------------------------------------
    def _show(self, runnable_id: str) -> None:
        self.body.setParent(None)
        self.body.deleteLater()
        self.body = QWidget()
        self.layout().insertWidget(2, self.body, 1)  # type: ignore[union-attr]
        self.remove.setEnabled(bool(runnable_id))
        if not runnable_id:
            return
        r = self.app.runnable(runnable_id)
        form = QFormLayout(self.body)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        kind = QComboBox()
        kind.addItems(RUNNABLE_TYPES)
        kind.setCurrentText(r.type)
        kind.currentTextChanged.connect(lambda t: self.set_field("type", t))
        form.addRow("type", kind)
        if r.type == "inline":
            self._inline_rows(form, r)
        else:
            path = QComboBox()
            path.setEditable(True)
            path.addItems([p for k, p in self.deployed() if k == r.type])
            path.setCurrentText(r.path or "")
            line = path.lineEdit()
            assert line is not None  # an editable combo box has one
            line.editingFinished.connect(
                lambda: self.set_field("path", path.currentText().strip()))
            path.activated.connect(lambda _i: self.set_field("path", path.currentText().strip()))
            self.path_combo = path
            form.addRow("path", path)
        trigger = QComboBox()
        trigger.addItems(TRIGGERS)
        trigger.setCurrentText(r.trigger)
        trigger.setToolTip("load: once when the app opens; change: on load and whenever an "
                           "input it reads changes; button: when a button or form runs it")
        trigger.currentTextChanged.connect(lambda t: self.set_field("trigger", t))
        self.trigger_combo = trigger
        form.addRow("trigger", trigger)
        self.input_edits: dict[str, QLineEdit] = {}
        for name, raw in r.inputs.items():
            edit = QLineEdit(input_text(raw))
            edit.setToolTip("a JSON value, or =expression (e.g. =table1.selectedRow.id)")
            edit.editingFinished.connect(lambda n=name, e=edit: self._set_input(n, e.text()))
            self.input_edits[name] = edit
            form.addRow(f"input {name}", edit)
        new_input = QLineEdit()
        new_input.setPlaceholderText("name=value or name==expression, Enter to add")
        new_input.returnPressed.connect(lambda: self._add_input(new_input.text()))
        form.addRow("add input", new_input)
        for outcome in ("success", "error"):
            follow = r.follow_up(outcome)
            message = QLineEdit(str(follow.get("message") or ""))
            message.editingFinished.connect(
                lambda o=outcome, e=message: self._set_follow(o, "message", e.text().strip()))
            form.addRow(f"on {outcome}: message", message)
        refresh = QLineEdit(", ".join(r.follow_up("success").get("refresh") or []))
        refresh.setPlaceholderText("runnable ids to run again, comma separated")
        refresh.editingFinished.connect(lambda: self._set_follow(
            "success", "refresh", [t.strip() for t in refresh.text().split(",") if t.strip()]))
        self.refresh_edit = refresh
        form.addRow("on success: refresh", refresh)

    def _inline_rows(self, form: QFormLayout, r: Runnable) -> None:
        language = QComboBox()
        language.addItems(LANGUAGES)
        language.setCurrentText(r.language or "python3")
        language.currentTextChanged.connect(lambda t: self.set_field("language", t))
        form.addRow("language", language)
        editor = CodeEditor()
        editor.setPlainText(r.content or "")
        editor.setMinimumHeight(140)
        save = QPushButton("Apply code")
        save.clicked.connect(lambda: self.set_field("content", editor.toPlainText()))
        self.code_editor = editor
        form.addRow(editor)
        form.addRow(save)

    def _set_input(self, name: str, text: str) -> None:
        r = self.app.runnable(self.selected)
        inputs = dict(r.inputs)
        inputs[name] = parse_input(text)
        self.set_field("inputs", inputs)

    def _add_input(self, text: str) -> None:
        name, sep, value = text.partition("=")
        if not sep or not name.strip():
            self.message.setText("write name=value (or name==expression)")
            return
        self.message.setText("")
        self._set_input(name.strip(), value)

    def _set_follow(self, outcome: str, key: str, value: Any) -> None:
        r = self.app.runnable(self.selected)
        follow = dict(r.follow_up(outcome))
        if value:
            follow[key] = value
        else:
            follow.pop(key, None)
        self.set_field(f"on_{outcome}", follow or None)
