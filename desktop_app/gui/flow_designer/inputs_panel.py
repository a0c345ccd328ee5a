"""The flow's inputs as a small form builder (name, type, default, required) with the run
form it makes previewed underneath. Each change replaces the schema in one command."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.gui.schema_form import SchemaForm

TYPES = ["string", "integer", "number", "boolean", "object", "array"]
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class InputsError(ValueError):
    pass


def parse_default(kind: str, text: str) -> Any:
    """The default typed in the builder as a value of `kind` (None when empty)."""
    text = text.strip()
    if not text:
        return None
    if kind == "string":
        return text
    if kind == "boolean":
        if text.lower() not in ("true", "false"):
            raise InputsError(f"default {text!r} is not true or false")
        return text.lower() == "true"
    try:
        value = json.loads(text)
    except ValueError:
        raise InputsError(f"default {text!r} is not a valid {kind}"
                          + (" (JSON)" if kind in ("object", "array") else "")) from None
    ok = {"integer": isinstance(value, int) and not isinstance(value, bool),
          "number": isinstance(value, int | float) and not isinstance(value, bool),
          "object": isinstance(value, dict), "array": isinstance(value, list)}[kind]
    if not ok:
        raise InputsError(f"default {text!r} is not a valid {kind}")
    return value


class InputsPanel(QWidget):
    def __init__(self, set_schema: Callable[[dict[str, Any]], None]) -> None:
        super().__init__()
        self.set_schema = set_schema
        self.schema: dict[str, Any] = {}
        self.lay = QVBoxLayout(self)
        self.lay.setContentsMargins(8, 8, 8, 8)
        heading = QLabel("Flow inputs")
        heading.setObjectName("heading")
        self.lay.addWidget(heading)
        self.fields_box = QGroupBox("Fields")
        self.grid = QGridLayout(self.fields_box)
        self.lay.addWidget(self.fields_box)
        self.error = QLabel("")
        self.error.setObjectName("fieldError")
        self.error.setWordWrap(True)
        self.lay.addWidget(self.error)
        add = QPushButton("Add field")
        add.setObjectName("addField")
        add.clicked.connect(self.add_field)
        self.lay.addWidget(add)
        self.preview_box = QGroupBox("Run form preview")
        self.preview_lay = QVBoxLayout(self.preview_box)
        self.lay.addWidget(self.preview_box)
        self.lay.addStretch(1)
        self.rows: list[dict[str, QWidget]] = []
        self.preview: SchemaForm | None = None

    def show_schema(self, schema: dict[str, Any] | None) -> None:
        self.schema = copy.deepcopy(schema or {})
        while self.grid.count():
            taken = self.grid.takeAt(0)
            w = taken.widget() if taken is not None else None
            if w is not None:
                w.hide()  # kept parented until deleted: never a window of its own
                w.deleteLater()
        for col, title in enumerate(["Name", "Type", "Default", "Required", ""]):
            label = QLabel(title)
            label.setObjectName("muted")
            self.grid.addWidget(label, 0, col)
        props = self.schema.get("properties") or {}
        required = set(self.schema.get("required") or [])
        self.rows = []
        for row, (name, prop) in enumerate(props.items(), 1):
            name_edit = QLineEdit(name)
            kind = QComboBox()
            kind.addItems(TYPES)
            t = prop.get("type") if isinstance(prop.get("type"), str) else "string"
            kind.setCurrentText(t if t in TYPES else "string")
            default = prop.get("default")
            default_edit = QLineEdit("" if default is None else default if isinstance(
                default, str) else json.dumps(default))
            req = QCheckBox()
            req.setChecked(name in required)
            remove = QPushButton("✕")
            remove.setFixedWidth(28)
            remove.setToolTip(f"Remove the input {name}")
            for col, w in enumerate([name_edit, kind, default_edit, req, remove]):
                self.grid.addWidget(w, row, col)
            self.rows.append({"name": name_edit, "type": kind, "default": default_edit,
                              "required": req, "old": QLabel(name)})
            name_edit.editingFinished.connect(self.commit)
            default_edit.editingFinished.connect(self.commit)
            kind.currentTextChanged.connect(lambda _t: self.commit())
            req.toggled.connect(lambda _on: self.commit())
            remove.clicked.connect(lambda _=False, n=name: self.remove_field(n))
        if not props:
            self.grid.addWidget(QLabel("No inputs yet."), 1, 0, 1, 5)
        self._preview()

    def _preview(self) -> None:
        if self.preview is not None:
            self.preview.hide()  # kept parented until deleted: never a window of its own
            self.preview.deleteLater()
        self.preview = SchemaForm(self.schema)
        if not self.preview.fields:
            for label in self.preview.findChildren(QLabel):
                label.setText("Add a field above: it appears here as the run form shows it.")
                label.setWordWrap(True)
        self.preview_lay.addWidget(self.preview)

    def built_schema(self) -> dict[str, Any]:
        """The schema the rows describe; InputsError says what is wrong."""
        schema = copy.deepcopy(self.schema)
        schema.setdefault("$schema", "https://json-schema.org/draft/2020-12/schema")
        schema["type"] = "object"
        old_props = schema.get("properties") or {}
        props: dict[str, Any] = {}
        required: list[str] = []
        for row in self.rows:
            name = row["name"].text().strip()  # type: ignore[attr-defined]
            old = row["old"].text()  # type: ignore[attr-defined]
            if not _NAME.fullmatch(name):
                raise InputsError(f"input name {name!r}: use letters, digits and _ "
                                  "(not starting with a digit)")
            if name in props:
                raise InputsError(f"two inputs are named {name!r}")
            prop = dict(old_props.get(old) or {})
            kind = row["type"].currentText()  # type: ignore[attr-defined]
            prop["type"] = kind
            if kind == "array":
                prop.setdefault("items", {"type": "string"})
            else:
                prop.pop("items", None)
            default = parse_default(kind, row["default"].text())  # type: ignore[attr-defined]
            if default is None:
                prop.pop("default", None)
            else:
                prop["default"] = default
            props[name] = prop
            if row["required"].isChecked():  # type: ignore[attr-defined]
                required.append(name)
        schema["properties"] = props
        schema["required"] = required
        if "order" in schema:
            schema["order"] = list(props)
        return schema

    def commit(self) -> None:
        try:
            schema = self.built_schema()
        except InputsError as exc:
            self.error.setText(str(exc))
            return
        self.error.setText("")
        if schema != self.schema:
            self.set_schema(schema)

    def add_field(self) -> None:
        schema = copy.deepcopy(self.schema)
        props = schema.setdefault("properties", {})
        n = len(props) + 1
        while f"input{n}" in props:
            n += 1
        props[f"input{n}"] = {"type": "string"}
        schema.setdefault("type", "object")
        schema.setdefault("required", [])
        self.set_schema(schema)

    def remove_field(self, name: str) -> None:
        schema = copy.deepcopy(self.schema)
        (schema.get("properties") or {}).pop(name, None)
        schema["required"] = [r for r in schema.get("required") or [] if r != name]
        if "order" in schema:
            schema["order"] = [o for o in schema["order"] if o != name]
        self.set_schema(schema)
