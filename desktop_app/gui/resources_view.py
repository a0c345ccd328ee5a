"""Resources and variables: list them, create and edit a resource through its resource
type's form, and variables whose secret values stay dots until you ask to reveal them
(the value is then read through the API from the daemon's keyring)."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop_app.client.http import ClientError, TidemillClient
from desktop_app.gui.panels import editor_footer, empty_state, message_label, say, top_items
from desktop_app.gui.schema_form import SchemaForm
from desktop_app.gui.tasks import spawn

DOTS = "••••••••"
PATH_ROLE = Qt.ItemDataRole.UserRole


def fill_form(form: SchemaForm, value: Any) -> None:
    """Put a stored value back into the form's widgets (editing an existing resource)."""
    if not isinstance(value, dict):
        return
    for name, field in form.fields.items():
        if name not in value or value[name] is None:
            continue
        v = value[name]
        setter = getattr(field, "set_value", None)
        if callable(setter):  # a form that knows how to show its own values
            setter(v)
            continue
        w = field.widget
        if isinstance(w, QCheckBox):
            w.setChecked(bool(v))
        elif isinstance(w, QComboBox):
            w.setCurrentText(str(v))
        elif isinstance(w, QLineEdit):
            w.setText(v if isinstance(v, str) else json.dumps(v))
        elif isinstance(w, QPlainTextEdit):
            if isinstance(v, list) and all(isinstance(x, str) for x in v):
                w.setPlainText("\n".join(v))
            else:
                w.setPlainText(v if isinstance(v, str) else json.dumps(v, indent=2))


class ResourceEditor(QWidget):
    """Path, type, description and the type's form; Save creates or updates."""

    def __init__(self, client: TidemillClient, saved: Any) -> None:
        super().__init__()
        self.client = client
        self.saved = saved
        self.types: dict[str, dict[str, Any]] = {}
        self.editing: str | None = None  # the path being edited; None while creating
        lay = QVBoxLayout(self)
        self.title = QLabel("New resource")
        self.title.setObjectName("subheading")
        self.title.setStyleSheet("font-size: 15px; font-weight: bold")
        meta = QFormLayout()
        self.path = QLineEdit()
        self.path.setPlaceholderText("u/you/name or f/folder/name")
        self.rtype = QComboBox()
        self.rtype.currentTextChanged.connect(lambda _t: self._build_form())
        self.description = QLineEdit()
        self.description.setPlaceholderText("what it is for (optional)")
        meta.addRow("Path", self.path)
        meta.addRow("Resource type", self.rtype)
        meta.addRow("Description", self.description)
        self.form_box = QVBoxLayout()
        self.form = SchemaForm({})
        self.form_box.addWidget(self.form)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        holder = QWidget()
        holder.setLayout(self.form_box)
        scroll.setWidget(holder)
        self.save_button = QPushButton("Save")
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(lambda: spawn(self.save()))
        self.message = message_label()
        buttons = editor_footer(self.message, self.save_button)
        lay.addWidget(self.title)
        lay.addLayout(meta)
        lay.addWidget(QLabel("Value"))
        lay.addWidget(scroll, 1)
        lay.addLayout(buttons)

    def set_types(self, types: list[dict[str, Any]]) -> None:
        self.types = {t["name"]: t for t in types}
        current = self.rtype.currentText()
        self.rtype.blockSignals(True)
        self.rtype.clear()
        self.rtype.addItems(sorted(self.types))
        if current in self.types:
            self.rtype.setCurrentText(current)
        self.rtype.blockSignals(False)
        self._build_form()

    def _build_form(self, value: Any = None) -> None:
        schema = (self.types.get(self.rtype.currentText()) or {}).get("schema") or {}
        self.form_box.removeWidget(self.form)
        self.form.deleteLater()
        self.form = SchemaForm(schema)
        self.form_box.insertWidget(0, self.form)
        if value is not None:
            fill_form(self.form, value)

    def new(self) -> None:
        self.editing = None
        self.title.setText("New resource")
        self.path.setReadOnly(False)
        self.path.clear()
        self.description.clear()
        self.rtype.setEnabled(True)
        self._build_form()
        self.message.setText("")

    async def edit(self, path: str) -> None:
        resource = await self.client.get_resource(path)
        value = await self.client.resource_value(path)  # secret fields from the keyring
        self.editing = path
        self.title.setText(f"Edit {path}")
        self.path.setText(path)
        self.path.setReadOnly(True)
        self.description.setText(resource.get("description") or "")
        self.rtype.blockSignals(True)
        self.rtype.setCurrentText(resource["resource_type"])
        self.rtype.blockSignals(False)
        self.rtype.setEnabled(False)
        self._build_form(value)
        self.message.setText("")

    async def save(self) -> bool:
        path = self.path.text().strip()
        if not path:
            say(self.message, "Give the resource a path, e.g. f/databases/main.", False)
            return False
        if not self.rtype.currentText():
            say(self.message, "Pick a resource type.", False)
            return False
        value = self.form.collect()
        if value is None:
            say(self.message, "Fix the fields marked in red, then Save.", False)
            return False
        try:
            if self.editing:
                await self.client.update_resource(self.editing, value, self.description.text())
            else:
                await self.client.create_resource(path, self.rtype.currentText(), value,
                                                  self.description.text())
        except ClientError as exc:
            if not self.form.show_server_error(exc.field, exc.message):
                say(self.message, exc.message + (f" — {exc.hint}" if exc.hint else ""), False)
            return False
        say(self.message, f"Saved {path}.", True)
        if not self.editing:
            self.editing = path
            self.title.setText(f"Edit {path}")
            self.path.setReadOnly(True)
            self.rtype.setEnabled(False)
        await self.saved(path)
        return True


class VariableEditor(QWidget):
    """A variable's value, secret flag and description; a secret stays dots until Reveal."""

    def __init__(self, client: TidemillClient, saved: Any) -> None:
        super().__init__()
        self.client = client
        self.saved = saved
        self.editing: str | None = None
        self.revealed = False
        lay = QVBoxLayout(self)
        self.title = QLabel("New variable")
        self.title.setStyleSheet("font-size: 15px; font-weight: bold")
        form = QFormLayout()
        self.path = QLineEdit()
        self.path.setPlaceholderText("u/you/name or f/folder/name")
        self.value = QLineEdit()
        self.reveal_button = QPushButton("Reveal")
        self.reveal_button.setToolTip("Read the value from the daemon's keyring and show it")
        self.reveal_button.clicked.connect(lambda: spawn(self.reveal()))
        value_row = QHBoxLayout()
        value_row.addWidget(self.value, 1)
        value_row.addWidget(self.reveal_button)
        self.secret = QCheckBox("Secret (kept in the keyring, shown as dots)")
        self.secret.toggled.connect(self._secret_toggled)
        self.description = QLineEdit()
        self.description.setPlaceholderText("what it is for (optional)")
        form.addRow("Path", self.path)
        form.addRow("Value", value_row)
        form.addRow("", self.secret)
        form.addRow("Description", self.description)
        self.save_button = QPushButton("Save")
        self.save_button.clicked.connect(lambda: spawn(self.save()))
        self.message = message_label()
        buttons = editor_footer(self.message, self.save_button)
        lay.addWidget(self.title)
        lay.addLayout(form)
        lay.addStretch(1)
        lay.addLayout(buttons)
        self.new()

    def _secret_toggled(self, on: bool) -> None:
        self.value.setEchoMode(QLineEdit.EchoMode.Password if on and not self.revealed
                               else QLineEdit.EchoMode.Normal)
        self.reveal_button.setVisible(on and self.editing is not None and not self.revealed)

    def new(self) -> None:
        self.editing, self.revealed = None, False
        self.title.setText("New variable")
        self.path.setReadOnly(False)
        for w in (self.path, self.value, self.description):
            w.clear()
        self.value.setPlaceholderText("")
        self.secret.setChecked(False)
        self._secret_toggled(False)
        self.message.setText("")

    def edit(self, variable: dict[str, Any]) -> None:
        self.editing, self.revealed = variable["path"], False
        self.title.setText(f"Edit {variable['path']}")
        self.path.setText(variable["path"])
        self.path.setReadOnly(True)
        self.description.setText(variable.get("description") or "")
        secret = bool(variable.get("is_secret"))
        self.value.setText("" if secret else str(variable.get("value") or ""))
        self.value.setPlaceholderText(f"{DOTS}  (unchanged unless you type a new value)"
                                      if secret else "")
        self.secret.blockSignals(True)
        self.secret.setChecked(secret)
        self.secret.blockSignals(False)
        self._secret_toggled(secret)
        self.message.setText("")

    async def reveal(self) -> str | None:
        if not self.editing:
            return None
        try:
            value = await self.client.variable_value(self.editing)
        except ClientError as exc:
            say(self.message, f"Could not read the secret: {exc.message}", False)
            return None
        self.revealed = True
        self.value.setText(value)
        self.value.setEchoMode(QLineEdit.EchoMode.Normal)
        self.reveal_button.setVisible(False)
        return value

    async def save(self) -> bool:
        path = self.path.text().strip()
        if not path:
            say(self.message, "Give the variable a path, e.g. f/config/api_url.", False)
            return False
        text = self.value.text()
        try:
            if self.editing:
                fields: dict[str, Any] = {"description": self.description.text(),
                                          "is_secret": self.secret.isChecked()}
                if text or not self.secret.isChecked() or self.revealed:
                    fields["value"] = text  # an untouched secret keeps its stored value
                await self.client.update_variable(self.editing, **fields)
            else:
                await self.client.create_variable(path, text, self.secret.isChecked(),
                                                  self.description.text())
        except ClientError as exc:
            say(self.message, exc.message + (f" — {exc.hint}" if exc.hint else ""), False)
            return False
        say(self.message, f"Saved {path}.", True)
        await self.saved(path)
        return True


class ResourcesView(QWidget):
    def __init__(self, client: TidemillClient) -> None:
        super().__init__()
        self.client = client
        self.resources: list[dict[str, Any]] = []
        self.variables: list[dict[str, Any]] = []
        lay = QVBoxLayout(self)
        heading = QLabel("Resources & variables")
        heading.setObjectName("heading")
        self.tabs = QTabWidget()
        # Resources tab
        self.resource_list = QTreeWidget()
        self.resource_list.setHeaderLabels(["Path", "Type", "Description"])
        self.resource_list.setRootIsDecorated(False)
        self.resource_list.setAlternatingRowColors(True)
        self.resource_list.header().resizeSection(0, 220)
        self.resource_editor = ResourceEditor(client, self._resource_saved)
        self.resource_list.itemClicked.connect(
            lambda item, _c: spawn(self.resource_editor.edit(item.data(0, PATH_ROLE))))
        new_resource = QPushButton("New resource")
        new_resource.clicked.connect(self.resource_editor.new)
        self.resources_empty = empty_state(
            "No resources yet.\n\nA resource is a typed connection (a database, an API "
            "token, S3…). Press “New resource”, pick its type and fill the form; scripts "
            "then take it as an argument.")
        self.resources_stack = QStackedWidget()
        self.resources_stack.addWidget(self.resource_list)
        self.resources_stack.addWidget(self.resources_empty)
        self.tabs.addTab(self._tab(self.resources_stack, new_resource, self.resource_editor),
                         "Resources")
        # Variables tab
        self.variable_list = QTreeWidget()
        self.variable_list.setHeaderLabels(["Path", "Value", "Description"])
        self.variable_list.setRootIsDecorated(False)
        self.variable_list.setAlternatingRowColors(True)
        self.variable_list.header().resizeSection(0, 220)
        self.variable_list.itemClicked.connect(self._variable_clicked)
        self.variable_editor = VariableEditor(client, self._variable_saved)
        new_variable = QPushButton("New variable")
        new_variable.clicked.connect(self.variable_editor.new)
        self.variables_empty = empty_state(
            "No variables yet.\n\nPress “New variable” to store a setting or a secret "
            "(secrets live in the system keyring); scripts read them with "
            "wmill.get_variable(path).")
        self.variables_stack = QStackedWidget()
        self.variables_stack.addWidget(self.variable_list)
        self.variables_stack.addWidget(self.variables_empty)
        self.tabs.addTab(self._tab(self.variables_stack, new_variable, self.variable_editor),
                         "Variables")
        lay.addWidget(heading)
        lay.addWidget(self.tabs, 1)
        self.stack = self.resources_stack  # the main window's "waiting" state uses these
        self.empty = self.resources_empty

    @staticmethod
    def _tab(listing: QWidget, new_button: QPushButton, editor: QWidget) -> QWidget:
        left = QWidget()
        left_lay = QVBoxLayout(left)
        left_lay.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(new_button)
        left_lay.addLayout(row)
        left_lay.addWidget(listing, 1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(editor)
        split.setSizes([560, 440])
        split.setChildrenCollapsible(False)
        return split

    async def refresh(self) -> None:
        types = await self.client.list_resource_types()
        self.resources = await self.client.list_resources()
        self.variables = await self.client.list_variables()
        self.resource_editor.set_types(types)
        self.resource_list.clear()
        for r in sorted(self.resources, key=lambda r: r["path"]):
            item = QTreeWidgetItem([r["path"], r["resource_type"], r.get("description") or ""])
            item.setData(0, PATH_ROLE, r["path"])
            self.resource_list.addTopLevelItem(item)
        self.resources_stack.setCurrentWidget(self.resource_list if self.resources
                                              else self.resources_empty)
        self.variable_list.clear()
        for v in sorted(self.variables, key=lambda v: v["path"]):
            shown = DOTS if v["is_secret"] else str(v.get("value") or "")
            item = QTreeWidgetItem([v["path"], shown, v.get("description") or ""])
            item.setData(0, PATH_ROLE, v["path"])
            if v["is_secret"]:
                item.setToolTip(1, "secret: open it and press Reveal to read it")
            self.variable_list.addTopLevelItem(item)
        self.variables_stack.setCurrentWidget(self.variable_list if self.variables
                                              else self.variables_empty)
        # Open on the first item rather than an empty "New…" form beside a list with
        # nothing selected (unless something is being edited or typed already).
        if self.resources and self.resource_editor.editing is None \
                and not self.resource_editor.path.text().strip():
            first = top_items(self.resource_list)[0]
            self.resource_list.setCurrentItem(first)
            await self.resource_editor.edit(first.data(0, PATH_ROLE))
        if self.variables and self.variable_editor.editing is None \
                and not self.variable_editor.path.text().strip():
            first = top_items(self.variable_list)[0]
            self.variable_list.setCurrentItem(first)
            self._variable_clicked(first, 0)

    def _variable_clicked(self, item: QTreeWidgetItem, _col: int) -> None:
        path = item.data(0, PATH_ROLE)
        found = next((v for v in self.variables if v["path"] == path), None)
        if found is not None:
            self.variable_editor.edit(found)

    def shown_variable_values(self) -> dict[str, str]:
        return {item.text(0): item.text(1) for item in top_items(self.variable_list)}

    def shown_resources(self) -> list[str]:
        return [item.text(0) for item in top_items(self.resource_list)]

    async def _resource_saved(self, _path: str) -> None:
        await self.refresh()

    async def _variable_saved(self, path: str) -> None:
        await self.refresh()
        found = next((v for v in self.variables if v["path"] == path), None)
        if found is not None:
            self.variable_editor.edit(found)
