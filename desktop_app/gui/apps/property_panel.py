"""The builder's property panel: the selected component's place on the grid and each of
its properties, as a static value or an expression (``{expr: ...}``).

A static value is typed as JSON where the property's default is not a string (numbers,
lists, objects, null), as plain text where it is; a checkbox for booleans. An edit is one
undoable command, sent when the field is left or Enter is pressed."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop_app.apps import commands
from desktop_app.apps.kinds import GRID_COLUMNS, KINDS, prop_schema
from desktop_app.apps.model import AppDefinition, Component, is_expr, static_value
from desktop_app.gui.schema_form import EnumEditor

STATIC, EXPR = "static", "expr"


class PropertyEditor(QWidget):
    """One property: a static/expression switch and its value."""

    def __init__(self, panel: PropertyPanel, component: Component, name: str) -> None:
        super().__init__()
        self.panel = panel
        self.component = component
        self.name = name
        raw = component.prop(name)
        self.schema = prop_schema(component.type, name)
        self.text_like = self.schema.get("type") == "string"
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.mode = QComboBox()
        self.mode.addItems([STATIC, EXPR])
        self.mode.setFixedWidth(76)
        self.mode.setToolTip("static: a fixed value; expr: a JavaScript expression over the "
                             "app state (e.g. table1.selectedRow.name)")
        self.mode.setCurrentText(EXPR if is_expr(raw) else STATIC)
        self.bool_box = QCheckBox()
        self.edit = QLineEdit()
        # a fixed set of values: the script form's choice editor
        self.choice: EnumEditor | None = EnumEditor(self.schema, required=False) \
            if self.schema.get("enum") else None
        self.error = QLabel("")
        self.error.setObjectName("fieldError")
        row.addWidget(self.mode)
        row.addWidget(self.bool_box)
        row.addWidget(self.edit, 1)
        if self.choice is not None:
            row.addWidget(self.choice, 1)
        self._show(raw)
        self.mode.currentTextChanged.connect(self._mode_changed)
        self.edit.editingFinished.connect(self.commit)
        self.bool_box.toggled.connect(lambda _on: self.commit())
        if self.choice is not None:
            self.choice.currentIndexChanged.connect(lambda _i: self.commit())

    def _show(self, raw: Any) -> None:
        is_bool = not is_expr(raw) and isinstance(static_value(raw), bool)
        is_choice = self.choice is not None and not is_expr(raw) and \
            static_value(raw) in (self.schema.get("enum") or [])
        self.bool_box.setVisible(is_bool)
        self.edit.setVisible(not is_bool and not is_choice)
        if self.choice is not None:
            self.choice.setVisible(is_choice)
            if is_choice:
                self.choice.blockSignals(True)
                self.choice.set_value(static_value(raw))
                self.choice.blockSignals(False)
                return
        if is_expr(raw):
            self.edit.setText(raw["expr"])
            self.edit.setPlaceholderText("expression, e.g. table1.selectedRow")
        elif is_bool:
            self.bool_box.blockSignals(True)
            self.bool_box.setChecked(bool(static_value(raw)))
            self.bool_box.blockSignals(False)
        else:
            value = static_value(raw)
            self.edit.setText(value if isinstance(value, str) and self.text_like else
                              json.dumps(value, ensure_ascii=False))
            self.edit.setPlaceholderText("text" if self.text_like else "a JSON value")
        self.edit.setCursorPosition(0)  # show the start of a long value

    def _mode_changed(self, mode: str) -> None:
        self.bool_box.setVisible(False)
        self.edit.setVisible(True)
        if self.choice is not None:
            self.choice.setVisible(False)
        if mode == EXPR:
            self.edit.setPlaceholderText("expression, e.g. table1.selectedRow")
        self.commit()

    def value(self) -> Any:
        """The raw property this editor holds; ValueError saying what is wrong."""
        if self.mode.currentText() == EXPR:
            text = self.edit.text().strip()
            if not text:
                raise ValueError("an expression cannot be empty")
            return {"expr": text}
        if not self.bool_box.isHidden():
            return self.bool_box.isChecked()
        if self.choice is not None and not self.choice.isHidden():
            return self.choice.value()
        text = self.edit.text()
        if self.text_like:
            return text
        if self.schema.get("type") == "number":
            try:
                number = float(text)
            except ValueError:
                if not text.strip():
                    return None
                raise ValueError(f"“{text.strip()}” is not a number") from None
            return int(number) if number.is_integer() and "." not in text else number
        try:
            value = json.loads(text) if text.strip() else None
        except json.JSONDecodeError as e:
            raise ValueError(f"not JSON ({e.msg}); quote text: \"like this\"") from e
        if isinstance(value, dict) and len(value) == 1 and ("expr" in value or "value" in value):
            value = {"value": value}  # a static object that would read as an expression
        return value

    def commit(self) -> None:
        try:
            raw = self.value()
        except ValueError as e:
            self.error.setText(f"{self.name}: {e}")
            self.panel.show_error(self.error.text())
            return
        self.panel.show_error("")
        if raw != self.component.props.get(self.name, _ABSENT):
            self.panel.push(commands.SetField(("prop", self.component.id), self.name, raw))


_ABSENT = object()


class PropertyPanel(QWidget):
    """Edits the selected component; rebuilt when the selection or the app changes."""

    def __init__(self, app: AppDefinition, push: Callable[[commands.Command], None],
                 select: Callable[[str], None] | None = None) -> None:
        super().__init__()
        self.app = app
        self.push = push
        self.select = select or self.show_component
        self.component_id = ""
        self.editors: dict[str, PropertyEditor] = {}
        self.outer = QVBoxLayout(self)
        self.title = QLabel("Select a component on the canvas,\nor drag one from the palette.")
        self.title.setObjectName("muted")
        self.title.setWordWrap(True)
        self.outer.addWidget(self.title)
        self.body = QWidget()
        self.outer.addWidget(self.body)
        self.message = QLabel("")
        self.message.setObjectName("fieldError")
        self.message.setWordWrap(True)
        self.outer.addWidget(self.message)
        self.outer.addStretch(1)

    def show_error(self, text: str) -> None:
        self.message.setText(text)

    def show_component(self, component_id: str) -> None:
        self.component_id = component_id
        self.body.setParent(None)
        self.body.deleteLater()
        self.body = QWidget()
        self.outer.insertWidget(1, self.body)
        self.editors = {}
        self.message.setText("")
        try:
            component = self.app.component(component_id) if component_id else None
        except Exception:
            component = None
        if component is None:
            self.title.setText("Select a component on the canvas,\n"
                               "or drag one from the palette.")
            return
        kind = KINDS.get(component.type)
        self.title.setText(f"<b>{component.id}</b> — {kind.label if kind else component.type}")
        form = QFormLayout(self.body)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow(self._geometry_row(component))
        if kind and kind.runs:
            form.addRow("runnable", self._runnable_combo(component))
        names = list(kind.props) if kind else []
        names += [n for n in component.props if n not in names]
        for name in names:
            editor = PropertyEditor(self, component, name)
            self.editors[name] = editor
            label = QLabel(name)
            if kind and name in kind.notes:
                label.setToolTip(kind.notes[name])
            form.addRow(label, editor)
        if kind and kind.state:
            state = QLabel("exposes: " + ", ".join(f"{component.id}.{k}" for k in kind.state))
            state.setObjectName("muted")
            state.setWordWrap(True)
            state.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(state)
        parent = self._parent_of(component.id)
        if parent is not None and parent.type == "tabs":
            tab = QSpinBox()
            names = parent.prop("tabs")
            tab.setRange(0, max(0, len(names) - 1) if isinstance(names, list) else 0)
            tab.setValue(component.tab)
            tab.valueChanged.connect(lambda i: self.push(commands.SetField(
                ("component", component.id), "tab", i)))
            form.addRow("tab", tab)
        if parent is not None:
            up = QPushButton(f"Select {parent.id} (holds it)")
            up.clicked.connect(lambda: self.select(parent.id))
            form.addRow(up)
        if kind and kind.container:
            inside = QLabel("Holds: " + (", ".join(c.id for c in component.children) or
                                         "nothing yet — drop components on it"))
            inside.setObjectName("muted")
            inside.setWordWrap(True)
            form.addRow(inside)
            for child in component.children:
                pick = QPushButton(f"Edit {child.id}")
                pick.clicked.connect(lambda _c=False, cid=child.id: self.select(cid))
                form.addRow(pick)
        remove = QPushButton(f"Remove {component.id}")
        remove.clicked.connect(lambda: self.push(commands.RemoveComponent(component.id)))
        form.addRow(remove)

    def _parent_of(self, component_id: str) -> Component | None:
        for c, parent in self.app.all_components():
            if c.id == component_id:
                return parent
        return None

    def _geometry_row(self, component: Component) -> QWidget:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        spins = []
        for name, value, top in zip("xywh", component.geometry,
                                    (GRID_COLUMNS - 1, 999, GRID_COLUMNS, 99), strict=True):
            spin = QSpinBox()
            spin.setRange(0 if name in "xy" else 1, top)
            spin.setValue(value)
            spin.setPrefix(f"{name} ")
            spin.setKeyboardTracking(False)
            spins.append(spin)
            row.addWidget(spin)

        def changed() -> None:
            x, y, w, h = (s.value() for s in spins)
            geometry = (x, y, max(1, min(w, GRID_COLUMNS - x)), h)
            if geometry != component.geometry:
                self.push(commands.SetGeometry(component.id, geometry))

        for spin in spins:
            spin.valueChanged.connect(lambda _v: changed())
        self.geometry_spins = spins
        return box

    def _runnable_combo(self, component: Component) -> QComboBox:
        combo = QComboBox()
        combo.addItem("(none)", None)
        for r in self.app.runnables:
            combo.addItem(r.id, r.id)
        combo.setCurrentIndex(max(0, combo.findData(component.runnable)))
        combo.currentIndexChanged.connect(lambda i: self.push(commands.SetField(
            ("component", component.id), "runnable", combo.itemData(i))))
        self.runnable_combo = combo
        return combo
