"""A form generated from a script's JSON Schema, with validation beside each field.

Strings, integers, numbers, booleans, enums (combo box), date-times, arrays of strings
(one per line) and objects (JSON text). Integers and numbers are typed as text so that a
wrong value can be shown and explained rather than silently refused.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QDateTime, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QWidget,
)


class FieldError(ValueError):
    """The value typed in a field is not what its schema asks for."""


class SchemaField:
    """One property: its editor widget, its label and the message label beside it."""

    def __init__(self, name: str, prop: dict[str, Any], required: bool) -> None:
        self.name = name
        self.prop = prop
        self.required = required
        self.kind = _kind_of(prop)
        self.widget = self._make_widget()
        self.widget.setObjectName(f"field_{name}")
        title = prop.get("title") or name
        self.label = QLabel(f"{title} <span style='color:#d33'>*</span>" if required else title)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setToolTip(prop.get("description") or "")
        self.error = QLabel("")
        self.error.setObjectName("fieldError")
        self.error.setWordWrap(True)
        self.error.setMinimumWidth(140)
        self.error.setMaximumWidth(220)

    def _make_widget(self) -> QWidget:
        p, default = self.prop, self.prop.get("default")
        if self.kind == "enum":
            combo = QComboBox()
            if not self.required:
                combo.addItem("")
            combo.addItems([str(v) for v in p["enum"]])
            if default is not None:
                combo.setCurrentText(str(default))
            return combo
        if self.kind == "boolean":
            box = QCheckBox()
            box.setChecked(bool(default))
            return box
        if self.kind == "date-time":
            dt = QDateTimeEdit(QDateTime.currentDateTime())
            dt.setCalendarPopup(True)
            dt.setDisplayFormat("yyyy-MM-dd HH:mm:ss")
            if isinstance(default, str):
                parsed = QDateTime.fromString(default, Qt.DateFormat.ISODate)
                if parsed.isValid():
                    dt.setDateTime(parsed)
            return dt
        if self.kind in ("string-list", "object"):
            text = QPlainTextEdit()
            text.setFixedHeight(72)
            if default is not None:
                text.setPlainText("\n".join(map(str, default)) if self.kind == "string-list"
                                  else json.dumps(default, indent=2))
            text.setPlaceholderText("one value per line" if self.kind == "string-list"
                                    else '{"key": "value"}')
            return text
        line = QLineEdit()
        if default is not None:
            line.setText(str(default))
        line.setPlaceholderText({"integer": "a whole number", "number": "a number"}
                                .get(self.kind, p.get("description") or ""))
        return line

    def raw_text(self) -> str:
        w = self.widget
        if isinstance(w, QLineEdit):
            return w.text()
        if isinstance(w, QPlainTextEdit):
            return w.toPlainText()
        if isinstance(w, QComboBox):
            return w.currentText()
        return ""

    def value(self) -> Any:
        """The typed value, `None` when empty; raises FieldError with a message for the user."""
        w, text = self.widget, self.raw_text().strip()
        if isinstance(w, QCheckBox):
            return w.isChecked()
        if isinstance(w, QDateTimeEdit):
            return w.dateTime().toUTC().toString(Qt.DateFormat.ISODate)
        if text == "":
            if self.required:
                raise FieldError("required")
            return None
        if self.kind == "integer":
            try:
                n: float = int(text)
            except ValueError:
                raise FieldError(f"“{text}” is not a whole number") from None
            return _in_range(n, self.prop)
        if self.kind == "number":
            try:
                n = float(text)
            except ValueError:
                raise FieldError(f"“{text}” is not a number") from None
            return _in_range(n, self.prop)
        if self.kind == "string-list":
            return [line for line in text.splitlines() if line.strip()]
        if self.kind == "object":
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                raise FieldError(f"not valid JSON: {exc.msg} (line {exc.lineno})") from None
            if not isinstance(obj, dict):
                raise FieldError("must be a JSON object {…}")
            return obj
        return text

    def show_error(self, message: str) -> None:
        self.error.setText(message)


def _in_range(n: float, prop: dict[str, Any]) -> float:
    if "minimum" in prop and n < prop["minimum"]:
        raise FieldError(f"must be at least {prop['minimum']}")
    if "maximum" in prop and n > prop["maximum"]:
        raise FieldError(f"must be at most {prop['maximum']}")
    return n


def _kind_of(prop: dict[str, Any]) -> str:
    if prop.get("enum"):
        return "enum"
    t = prop.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), "string")
    if t == "string" and prop.get("format") == "date-time":
        return "date-time"
    if t == "array":
        return "string-list"
    if t in ("integer", "number", "boolean", "object"):
        return str(t)
    return "string"


class SchemaForm(QWidget):
    """The form for `schema`; `collect()` validates every field and returns the arguments."""

    def __init__(self, schema: dict[str, Any] | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fields: dict[str, SchemaField] = {}
        grid = QGridLayout(self)
        grid.setColumnStretch(1, 1)
        grid.setVerticalSpacing(8)
        schema = schema or {}
        required = set(schema.get("required") or [])
        props: dict[str, Any] = schema.get("properties") or {}
        order = list(schema.get("order") or []) + [k for k in props if k not in (schema.get("order") or [])]
        for row, name in enumerate(k for k in order if k in props):
            field = SchemaField(name, props[name], name in required)
            self.fields[name] = field
            grid.addWidget(field.label, row, 0, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(field.widget, row, 1, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(field.error, row, 2, Qt.AlignmentFlag.AlignTop)
        if not self.fields:
            empty = QLabel("This script takes no arguments: press Run.")
            empty.setObjectName("muted")
            grid.addWidget(empty, 0, 0, 1, 3)
        grid.setRowStretch(len(self.fields) + 1, 1)

    def collect(self) -> dict[str, Any] | None:
        """The arguments, or None after showing a message beside each wrong field."""
        args: dict[str, Any] = {}
        ok = True
        for name, field in self.fields.items():
            try:
                value = field.value()
            except FieldError as exc:
                field.show_error(str(exc))
                ok = False
                continue
            field.show_error("")
            if value is not None:
                args[name] = value
        return args if ok else None

    def show_server_error(self, field: str | None, message: str) -> bool:
        """Put a message the daemon returned beside its field; False if no such field."""
        if field and field in self.fields:
            self.fields[field].show_error(message)
            return True
        return False
