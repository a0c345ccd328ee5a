"""A form generated from a script's JSON Schema, with validation beside each field.

One editor widget per property kind (see `kind_of`), built recursively so arrays hold
rows of any kind and objects hold nested forms. Every editor has `kind`, `value()`
(raises FieldError with a message for the user; None means "left empty") and
`set_value()`. Numbers are typed as text so that a wrong value is shown and explained
rather than silently refused.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, QDateTime, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.client.http import ClientError, TidemillClient
from desktop_app.core.args import argument_problems
from desktop_app.gui.tasks import spawn

_MULTILINE_FORMATS = {"multiline", "textarea", "sql", "yaml", "json"}


class FieldError(ValueError):
    """The value typed in a field is not what its schema asks for."""


def _type_of(prop: dict[str, Any]) -> str:
    t = prop.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), "")
    return str(t or "")


def kind_of(prop: dict[str, Any]) -> str:
    """Which editor a property gets."""
    t, fmt = _type_of(prop), str(prop.get("format") or "")
    if fmt.startswith("resource-") or t == "resource":
        return "resource"
    if prop.get("enum") and t in ("string", ""):
        return "enum"
    if t == "string":
        if prop.get("contentEncoding") == "base64":
            return "bytes"
        if fmt in ("date-time", "date"):
            return fmt
        if prop.get("password") or fmt == "password":
            return "password"
        default = prop.get("default")
        if fmt in _MULTILINE_FORMATS or (isinstance(default, str) and "\n" in default):
            return "multiline"
        return "string"
    if t in ("integer", "number", "boolean", "array"):
        return t
    if t == "object" and isinstance(prop.get("oneOf"), list) and prop["oneOf"]:
        return "one-of"
    if t == "object":
        return "object" if prop.get("properties") else "json"
    return "json"  # "", unknown types: any JSON value


# -- simple editors ----------------------------------------------------------------------------
class StringEditor(QLineEdit):
    def __init__(self, prop: dict[str, Any], kind: str = "string") -> None:
        super().__init__()
        self.prop, self.kind = prop, kind
        if kind == "password":
            self.setEchoMode(QLineEdit.EchoMode.Password)
        self.setPlaceholderText(str(prop.get("placeholder") or prop.get("description") or
                                    {"integer": "a whole number", "number": "a number"}
                                    .get(kind, "")))

    def value(self) -> Any:
        text = self.text()
        if text.strip() == "":
            return None
        if self.kind == "integer":
            try:
                whole = int(text.strip())
            except ValueError:
                raise FieldError(f"“{text.strip()}” is not a whole number") from None
            return whole
        if self.kind == "number":
            try:
                n = float(text.strip())
            except ValueError:
                raise FieldError(f"“{text.strip()}” is not a number") from None
            return n
        return text

    def set_value(self, value: Any) -> None:
        self.setText("" if value is None else str(value))
        self.setCursorPosition(0)  # a long value (a URL) shows its start, not its tail

    def raw(self) -> Any:
        return self.text()


class MultilineEditor(QPlainTextEdit):
    kind = "multiline"

    def __init__(self, prop: dict[str, Any]) -> None:
        super().__init__()
        self.prop = prop
        self.setFixedHeight(84)
        self.setTabChangesFocus(True)
        self.setPlaceholderText(str(prop.get("placeholder") or prop.get("description") or ""))

    def value(self) -> Any:
        text = self.toPlainText()
        return None if text.strip() == "" else text

    def set_value(self, value: Any) -> None:
        self.setPlainText("" if value is None else str(value))

    def raw(self) -> Any:
        return self.toPlainText()


class JsonEditor(QPlainTextEdit):
    """Any JSON value (objects without declared fields, unknown types)."""

    def __init__(self, prop: dict[str, Any]) -> None:
        super().__init__()
        self.prop = prop
        self.kind = "json"
        self.wants_object = _type_of(prop) == "object"
        self.setFixedHeight(72)
        self.setTabChangesFocus(True)
        self.setPlaceholderText('{"key": "value"}' if self.wants_object else "any JSON value")

    def value(self) -> Any:
        text = self.toPlainText().strip()
        if text == "":
            return None
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FieldError(f"not valid JSON: {exc.msg} (line {exc.lineno})") from None
        if self.wants_object and not isinstance(obj, dict):
            raise FieldError("must be a JSON object {…}")
        return obj

    def set_value(self, value: Any) -> None:
        self.setPlainText("" if value is None else json.dumps(value, indent=2))

    def raw(self) -> Any:
        return self.toPlainText()

    def restore(self, raw: Any) -> None:
        self.setPlainText(str(raw))


class BoolEditor(QCheckBox):
    kind = "boolean"

    def __init__(self, prop: dict[str, Any]) -> None:
        super().__init__()
        self.prop = prop

    def value(self) -> Any:
        return self.isChecked()

    def set_value(self, value: Any) -> None:
        self.setChecked(bool(value))

    def raw(self) -> Any:
        return self.isChecked()


class EnumEditor(QComboBox):
    kind = "enum"

    def __init__(self, prop: dict[str, Any], required: bool) -> None:
        super().__init__()
        self.prop = prop
        self.options = list(prop.get("enum") or [])
        if not required:
            self.addItem("")
        self.addItems([str(v) for v in self.options])

    def value(self) -> Any:
        text = self.currentText()
        for option in self.options:
            if str(option) == text:
                return option
        return None

    def set_value(self, value: Any) -> None:
        self.setCurrentText("" if value is None else str(value))

    def raw(self) -> Any:
        return self.currentText()


_UNSET_DATETIME = QDateTime(QDate(1900, 1, 1), QDateTime().time())


class DateTimeEditor(QDateTimeEdit):
    """A date-time picker; an optional field without a default starts as “not set”."""

    kind = "date-time"

    def __init__(self, prop: dict[str, Any], required: bool) -> None:
        super().__init__(QDateTime.currentDateTime())
        self.prop = prop
        self.setCalendarPopup(True)
        self.setDisplayFormat("yyyy-MM-dd HH:mm:ss")
        if not required:
            self.setMinimumDateTime(_UNSET_DATETIME)
            self.setSpecialValueText("not set")
            self.setDateTime(_UNSET_DATETIME)

    def value(self) -> Any:
        if self.dateTime() == self.minimumDateTime() and self.specialValueText():
            return None
        return self.dateTime().toUTC().toString(Qt.DateFormat.ISODate)

    def set_value(self, value: Any) -> None:
        if isinstance(value, str):
            parsed = QDateTime.fromString(value.replace("Z", "+00:00"), Qt.DateFormat.ISODate)
            if not parsed.isValid():
                parsed = QDateTime.fromString(value, Qt.DateFormat.ISODateWithMs)
            if parsed.isValid():
                self.setDateTime(parsed.toLocalTime())

    def raw(self) -> Any:
        return self.value()


class DateEditor(QDateEdit):
    kind = "date"

    def __init__(self, prop: dict[str, Any], required: bool) -> None:
        super().__init__(QDate.currentDate())
        self.prop = prop
        self.setCalendarPopup(True)
        self.setDisplayFormat("yyyy-MM-dd")
        if not required:
            self.setMinimumDate(QDate(1900, 1, 1))
            self.setSpecialValueText("not set")
            self.setDate(QDate(1900, 1, 1))

    def value(self) -> Any:
        if self.date() == self.minimumDate() and self.specialValueText():
            return None
        return self.date().toString("yyyy-MM-dd")

    def set_value(self, value: Any) -> None:
        if isinstance(value, str):
            parsed = QDate.fromString(value[:10], "yyyy-MM-dd")
            if parsed.isValid():
                self.setDate(parsed)

    def raw(self) -> Any:
        return self.value()


class FileEditor(QWidget):
    """Bytes: a file picked from disk, sent as base64."""

    kind = "bytes"

    def __init__(self, prop: dict[str, Any]) -> None:
        super().__init__()
        self.prop = prop
        self.data: bytes | None = None
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.name = QLabel("no file chosen")
        self.name.setObjectName("muted")
        self.choose = QPushButton("Choose file…")
        self.choose.clicked.connect(self._pick)
        self.clear = QPushButton("Clear")
        self.clear.clicked.connect(lambda: self.set_value(None))
        lay.addWidget(self.choose)
        lay.addWidget(self.name, 1)
        lay.addWidget(self.clear)

    def _pick(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a file to send")
        if path:
            self.load_file(Path(path))

    def load_file(self, path: Path) -> None:
        self.data = path.read_bytes()
        self.name.setText(f"{path.name} · {_size(len(self.data))}")

    def value(self) -> Any:
        return None if self.data is None else base64.b64encode(self.data).decode()

    def set_value(self, value: Any) -> None:
        if isinstance(value, str) and value:
            try:
                self.data = base64.b64decode(value, validate=True)
                self.name.setText(f"(given) · {_size(len(self.data))}")
                return
            except ValueError:
                pass
        self.data = None
        self.name.setText("no file chosen")

    def raw(self) -> Any:
        return self.value()


def _size(n: int) -> str:
    return f"{n} bytes" if n < 1024 else f"{n / 1024:.1f} KiB"


# -- resources ---------------------------------------------------------------------------------
class ResourceEditor(QWidget):
    """A picker of the workspace's resources of one type, with “New…” to create one."""

    kind = "resource"

    def __init__(self, prop: dict[str, Any], client: TidemillClient | None) -> None:
        super().__init__()
        self.prop = prop
        self.client = client
        fmt = str(prop.get("format") or "")
        self.resource_type = fmt[len("resource-"):] if fmt.startswith("resource-") else \
            str(prop.get("resourceType") or "")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.combo = QComboBox()
        self.combo.setEditable(True)
        self._placeholder(f"a {self.resource_type} resource")
        self.new = QPushButton("New…")
        self.new.setToolTip(f"Create a {self.resource_type} resource")
        self.new.clicked.connect(self.open_new_dialog)
        self.new.setEnabled(client is not None)
        lay.addWidget(self.combo, 1)
        lay.addWidget(self.new)
        self.paths: list[str] = []
        self._wanted: str | None = None

    def _placeholder(self, text: str) -> None:
        line = self.combo.lineEdit()
        if line is not None:
            line.setPlaceholderText(text)

    async def load(self) -> None:
        if self.client is None:
            return
        try:
            rows = await self.client.list_resources(self.resource_type)
        except ClientError as exc:
            self._placeholder(f"could not list {self.resource_type} resources: {exc.message}")
            return
        self.paths = [r["path"] for r in rows]
        keep = self._wanted if self._wanted is not None else self.combo.currentText()
        self.combo.clear()
        self.combo.addItem("")
        self.combo.addItems(self.paths)
        self.combo.setCurrentText(keep)
        if not self.paths:
            self._placeholder(f"no {self.resource_type} resource yet: press New…")

    def value(self) -> Any:
        text = self.combo.currentText().strip()
        if not text:
            return None
        return text if text.startswith("$res:") else f"$res:{text}"

    def set_value(self, value: Any) -> None:
        text = value[len("$res:"):] if isinstance(value, str) and value.startswith("$res:") \
            else ("" if value is None else str(value) if isinstance(value, str) else "")
        self._wanted = text
        self.combo.setCurrentText(text)

    def raw(self) -> Any:
        return self.value()

    def open_new_dialog(self) -> None:
        self.dialog = NewResourceDialog(self.resource_type, self.client, self)
        self.dialog.accepted.connect(lambda: spawn(self._create(self.dialog)))
        self.dialog.open()
        spawn(self.dialog.load_type())

    async def _create(self, dialog: NewResourceDialog) -> None:
        assert self.client is not None
        path, value = dialog.checked
        try:
            await self.client.create_resource(path, self.resource_type, value)
        except ClientError as exc:
            dialog.error.setText(exc.message + (f" — {exc.hint}" if exc.hint else ""))
            dialog.open()
            return
        self._wanted = path
        await self.load()


class NewResourceDialog(QDialog):
    """Path and value of a new resource: the type's own form when the workspace has the
    type's schema, else the value as JSON."""

    def __init__(self, resource_type: str, client: TidemillClient | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.resource_type, self.client = resource_type, client
        self.checked: tuple[str, Any] = ("", None)
        self.type_form: SchemaForm | None = None
        self.type_loaded = False  # True once the type's schema was looked up
        self.setWindowTitle(f"New {resource_type} resource")
        self.setMinimumWidth(480)
        self.lay = QFormLayout(self)
        self.path = QLineEdit()
        self.path.setPlaceholderText(f"f/folder/my_{resource_type}")
        self.value_text = QPlainTextEdit()
        self.value_text.setPlaceholderText('{"host": "localhost", "port": 5432}')
        self.value_text.setFixedHeight(120)
        self.error = QLabel("")
        self.error.setObjectName("fieldError")
        self.error.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._check_then_accept)
        buttons.rejected.connect(self.reject)
        self.lay.addRow("Path", self.path)
        self.lay.addRow("Value (JSON)", self.value_text)
        self.lay.addRow(self.error)
        self.lay.addRow(buttons)

    async def load_type(self) -> None:
        """Swap the JSON box for the resource type's form, when its schema is known."""
        if self.client is None:
            self.type_loaded = True
            return
        try:
            rtype = await self.client.get_resource_type(self.resource_type)
        except ClientError:
            rtype = None
        self.type_loaded = True
        schema = rtype.get("schema") if rtype else None
        if not isinstance(schema, dict) or not schema.get("properties"):
            return
        self.type_form = SchemaForm(schema, None, nested=True)
        self.lay.removeRow(1)
        self.lay.insertRow(1, "Value", self.type_form)

    def result_value(self) -> tuple[str, Any]:
        path = self.path.text().strip()
        if not re.match(r"^(u|f)/[\w.-]+/[\w./-]+$", path):
            raise FieldError("the path must look like f/folder/name or u/user/name")
        if self.type_form is not None:
            value = self.type_form.collect()
            if value is None:
                raise FieldError("fix the fields marked in red")
            return path, value
        try:
            value = json.loads(self.value_text.toPlainText() or "{}")
        except json.JSONDecodeError as exc:
            raise FieldError(f"the value is not valid JSON: {exc.msg} (line {exc.lineno})") \
                from None
        return path, value

    def _check_then_accept(self) -> None:
        try:
            self.checked = self.result_value()
        except FieldError as exc:
            self.error.setText(str(exc))
            return
        self.error.setText("")
        self.accept()


# -- composite editors -------------------------------------------------------------------------
class ArrayEditor(QWidget):
    """Rows of item editors with ✕ to remove one and “+ Add” for another."""

    kind = "array"

    def __init__(self, prop: dict[str, Any], client: TidemillClient | None) -> None:
        super().__init__()
        self.prop = prop
        self.client = client
        items = prop.get("items") if isinstance(prop.get("items"), dict) else {}
        self.item_prop: dict[str, Any] = dict(items or {"type": "string"})
        if self.item_prop.get("type") == "resource":
            self.item_prop["format"] = self.item_prop.get("format") or \
                f"resource-{self.item_prop.get('resourceType', '')}"
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        self.rows_box = QVBoxLayout()
        self.rows_box.setSpacing(4)
        self.rows: list[tuple[QWidget, Any]] = []
        self.add_button = QPushButton("+ Add")
        self.add_button.setToolTip("Add an item")
        self.add_button.clicked.connect(lambda: self.add_row())
        self.empty = QLabel("empty list")
        self.empty.setObjectName("muted")
        bottom = QHBoxLayout()
        bottom.addWidget(self.add_button)
        bottom.addWidget(self.empty)
        bottom.addStretch(1)
        lay.addLayout(self.rows_box)
        lay.addLayout(bottom)

    def add_row(self, value: Any = None) -> Any:
        row = QWidget()
        row_lay = QHBoxLayout(row)
        row_lay.setContentsMargins(0, 0, 0, 0)
        editor = make_editor(self.item_prop, True, self.client)
        if value is not None:
            editor.set_value(value)
        remove = QPushButton("✕")
        remove.setFixedWidth(28)
        remove.setToolTip("Remove this item")
        remove.clicked.connect(lambda: self.remove_row(editor))
        row_lay.addWidget(editor, 1)
        row_lay.addWidget(remove, 0, Qt.AlignmentFlag.AlignTop)
        self.rows_box.addWidget(row)
        self.rows.append((row, editor))
        self.empty.setVisible(False)
        if isinstance(editor, ResourceEditor):
            spawn(editor.load())
        return editor

    def remove_row(self, editor: Any) -> None:
        for i, (row, ed) in enumerate(self.rows):
            if ed is editor:
                self.rows.pop(i)
                row.setParent(None)
                row.deleteLater()
                break
        self.empty.setVisible(not self.rows)

    def editors(self) -> list[Any]:
        return [ed for _row, ed in self.rows]

    def value(self) -> Any:
        out = []
        for i, editor in enumerate(self.editors(), 1):
            try:
                item = editor.value()
            except FieldError as exc:
                raise FieldError(f"item {i}: {exc}") from None
            if item is None:
                if isinstance(editor, ObjectEditor):
                    item = {}
                else:
                    raise FieldError(f"item {i} is empty: fill it or remove it")
            out.append(item)
        return out or None

    def set_value(self, value: Any) -> None:
        for editor in self.editors():
            self.remove_row(editor)
        if isinstance(value, list):
            for item in value:
                self.add_row(item)

    def raw(self) -> Any:
        return [_raw_of(ed) for ed in self.editors()]

    def restore(self, raw: Any) -> None:
        for editor in self.editors():
            self.remove_row(editor)
        for item in raw or []:
            _restore(self.add_row(), item)


class ObjectEditor(QFrame):
    """An object with declared properties: a nested form in a frame."""

    kind = "object"

    def __init__(self, prop: dict[str, Any], client: TidemillClient | None) -> None:
        super().__init__()
        self.prop = prop
        self.setObjectName("nestedForm")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        self.form = SchemaForm({"properties": prop.get("properties") or {},
                                "required": prop.get("required") or []}, client, nested=True)
        lay.addWidget(self.form)

    def value(self) -> Any:
        args = self.form.collect()
        if args is None:
            raise FieldError("fix the fields inside")
        return args or None

    def set_value(self, value: Any) -> None:
        if isinstance(value, dict):
            for name, field in self.form.fields.items():
                if name in value:
                    field.editor.set_value(value[name])

    def raw(self) -> Any:
        return self.form.snapshot()

    def restore(self, raw: Any) -> None:
        self.form.restore(raw)


class VariantEditor(QWidget):
    """One of several object shapes (a TypeScript union): pick the variant, fill its form.

    A property whose enum has a single value (the discriminating `kind: "a"`) is filled in
    and locked, as it can only take that value in that variant.
    """

    kind = "one-of"

    def __init__(self, prop: dict[str, Any], client: TidemillClient | None) -> None:
        super().__init__()
        self.prop = prop
        self.variants = [v for v in prop.get("oneOf") or [] if isinstance(v, dict)]
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.choice = QComboBox()
        self.choice.addItems([str(v.get("title") or f"Variant {i + 1}")
                              for i, v in enumerate(self.variants)])
        self.forms: list[SchemaForm] = []
        self.frame = QFrame()
        self.frame.setObjectName("nestedForm")
        self.frame.setFrameShape(QFrame.Shape.StyledPanel)
        frame_lay = QVBoxLayout(self.frame)
        frame_lay.setContentsMargins(6, 6, 6, 6)
        for variant in self.variants:
            form = SchemaForm({"properties": variant.get("properties") or {},
                               "required": variant.get("required") or []}, client, nested=True)
            for field in form.fields.values():
                only = field.prop.get("enum")
                if isinstance(only, list) and len(only) == 1:
                    field.editor.set_value(only[0])
                    field.editor.setEnabled(False)
            frame_lay.addWidget(form)
            self.forms.append(form)
        self.choice.currentIndexChanged.connect(self._show)
        lay.addWidget(self.choice)
        lay.addWidget(self.frame)
        self._show(0)

    def _show(self, index: int) -> None:
        for i, form in enumerate(self.forms):
            form.setVisible(i == index)

    def current_form(self) -> SchemaForm | None:
        i = self.choice.currentIndex()
        return self.forms[i] if 0 <= i < len(self.forms) else None

    def value(self) -> Any:
        form = self.current_form()
        if form is None:
            return None
        args = form.collect()
        if args is None:
            raise FieldError("fix the fields inside")
        return args

    def set_value(self, value: Any) -> None:
        if not isinstance(value, dict):
            return
        for i, form in enumerate(self.forms):
            fixed = {n: f.prop["enum"][0] for n, f in form.fields.items()
                     if isinstance(f.prop.get("enum"), list) and len(f.prop["enum"]) == 1}
            if all(value.get(n) == v for n, v in fixed.items()) and set(value) <= set(form.fields):
                self.choice.setCurrentIndex(i)
                for name, field in form.fields.items():
                    if name in value and name not in fixed:
                        field.editor.set_value(value[name])
                return

    def raw(self) -> Any:
        form = self.current_form()
        return (self.choice.currentIndex(), form.snapshot() if form else {})

    def restore(self, raw: Any) -> None:
        index, snap = raw
        if 0 <= index < len(self.forms):
            self.choice.setCurrentIndex(index)
            self.forms[index].restore(snap)


def make_editor(prop: dict[str, Any], required: bool, client: TidemillClient | None) -> Any:
    kind = kind_of(prop)
    if kind in ("string", "password", "integer", "number"):
        return StringEditor(prop, kind)
    editors: dict[str, Callable[[], Any]] = {
        "multiline": lambda: MultilineEditor(prop),
        "boolean": lambda: BoolEditor(prop),
        "enum": lambda: EnumEditor(prop, required),
        "date-time": lambda: DateTimeEditor(prop, required),
        "date": lambda: DateEditor(prop, required),
        "bytes": lambda: FileEditor(prop),
        "resource": lambda: ResourceEditor(prop, client),
        "array": lambda: ArrayEditor(prop, client),
        "object": lambda: ObjectEditor(prop, client),
        "one-of": lambda: VariantEditor(prop, client),
    }
    return editors.get(kind, lambda: JsonEditor(prop))()


def _raw_of(editor: Any) -> Any:
    return editor.raw()


def _restore(editor: Any, raw: Any) -> None:
    if hasattr(editor, "restore"):
        editor.restore(raw)
    else:
        editor.set_value(raw)


# -- the form ----------------------------------------------------------------------------------
class SchemaField:
    """One property: its editor, its label and the message label beside it."""

    def __init__(self, name: str, prop: dict[str, Any], required: bool,
                 client: TidemillClient | None = None) -> None:
        self.name = name
        self.prop = prop
        self.required = required
        self.kind = kind_of(prop)
        self.editor = make_editor(prop, required, client)
        self.widget = self.editor  # the editor is the field's widget
        self.editor.setObjectName(f"field_{name}")
        if prop.get("default") is not None:
            self.editor.set_value(prop["default"])
        title = prop.get("title") or name
        self.label = QLabel(f"{title} <span style='color:#d33'>*</span>" if required else title)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setToolTip(prop.get("description") or "")
        # level with the text inside the editor (a checkbox has no frame around its box)
        self.label.setContentsMargins(0, 0 if self.kind == "boolean" else 4, 0, 0)
        self.error = QLabel("")
        self.error.setObjectName("fieldError")
        self.error.setWordWrap(True)
        self.error.setContentsMargins(0, 4, 0, 0)
        self.error.setMaximumWidth(200)

    def value(self) -> Any:
        """The typed value, None when empty; raises FieldError with a message for the user."""
        value = self.editor.value()
        if value is None and self.required:
            raise FieldError("required")
        return value

    def set_value(self, value: Any) -> None:
        self.editor.set_value(value)

    def show_error(self, message: str) -> None:
        self.error.setText(message)
        # wide enough for a short message on one line; longer ones wrap at 200 px
        wanted = self.error.fontMetrics().horizontalAdvance(message) + 6 if message else 0
        self.error.setMinimumWidth(min(200, wanted))


class SchemaForm(QWidget):
    """The form for `schema`; `collect()` validates every field and returns the arguments."""

    def __init__(self, schema: dict[str, Any] | None, client: TidemillClient | None = None,
                 parent: QWidget | None = None, *, nested: bool = False) -> None:
        super().__init__(parent)
        self.schema = schema or {}
        self.client = client
        self.fields: dict[str, SchemaField] = {}
        grid = QGridLayout(self)
        if nested:
            grid.setContentsMargins(0, 0, 0, 0)
        grid.setColumnStretch(1, 1)
        grid.setVerticalSpacing(8)
        required = set(self.schema.get("required") or [])
        props = self.schema.get("properties") or {}
        props = props if isinstance(props, dict) else {}
        given = [k for k in (self.schema.get("order") or []) if k in props]
        order = given + [k for k in props if k not in given]
        for row, name in enumerate(order):
            prop = props[name] if isinstance(props[name], dict) else {}
            field = SchemaField(name, prop, name in required, client)
            self.fields[name] = field
            grid.addWidget(field.label, row, 0, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(field.editor, row, 1, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(field.error, row, 2, Qt.AlignmentFlag.AlignTop)
        if not self.fields and not nested:
            empty = QLabel("No arguments to fill in.")  # shared by scripts, flows, apps, resume forms
            empty.setObjectName("muted")
            grid.addWidget(empty, 0, 0, 1, 3)
        if not nested:
            grid.setRowStretch(len(self.fields) + 1, 1)

    async def load_resources(self) -> None:
        """Fill every resource picker (nested ones too) with the resources of its type."""
        for editor in self.all_editors():
            if isinstance(editor, ResourceEditor):
                await editor.load()

    def all_editors(self) -> list[Any]:
        out: list[Any] = []
        for field in self.fields.values():
            out.append(field.editor)
            if isinstance(field.editor, ObjectEditor):
                out.extend(field.editor.form.all_editors())
            elif isinstance(field.editor, VariantEditor):
                for form in field.editor.forms:
                    out.extend(form.all_editors())
        return out

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
        # The rules (bounds, lengths, patterns, formats…) are the server's own checker, so the
        # form and the API say the same thing. Parse errors and "required" were shown above.
        for problem in argument_problems(self.schema, args):
            if problem.field in args and problem.field in self.fields:
                self.fields[problem.field].show_error(problem.message)
                ok = False
        return args if ok else None

    def snapshot(self) -> dict[str, tuple[str, Any]]:
        """What the user typed, per field (kept when the form is rebuilt from a new schema)."""
        return {name: (f.kind, _raw_of(f.editor)) for name, f in self.fields.items()}

    def restore(self, snapshot: dict[str, tuple[str, Any]]) -> None:
        for name, (kind, raw) in (snapshot or {}).items():
            field = self.fields.get(name)
            if field is not None and field.kind == kind:
                _restore(field.editor, raw)

    def show_server_error(self, field: str | None, message: str) -> bool:
        """Put a message the daemon returned beside its field; False if no such field."""
        if field and field in self.fields:
            self.fields[field].show_error(message)
            return True
        return False
