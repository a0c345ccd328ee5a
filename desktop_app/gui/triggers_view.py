"""Triggers: every trigger of the workspace (HTTP routes, WebSocket, Postgres, MQTT, email)
with an enable switch, what its listener is doing and its last error; create and edit one
with its kind's settings as a form (gui/trigger_settings.py; a new trigger starts from an
example per kind), the daemon's 400 shown beside the field it names or under the form."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop_app.client.http import ClientError, TidemillClient
from desktop_app.gui.panels import (
    empty_state,
    list_beside_editor,
    message_label,
    say,
)
from desktop_app.gui.tasks import spawn
from desktop_app.gui.trigger_settings import TriggerSettings

KEY_ROLE = Qt.ItemDataRole.UserRole
DETAIL_ROLE = Qt.ItemDataRole.UserRole + 1
ERROR_RED = "#d9534f"  # readable on the light and the dark theme
EVENT_KINDS = ("websocket", "postgres", "mqtt", "nats", "email")
# What a new trigger of each kind starts with (Windmill's field names).
TEMPLATES: dict[str, dict[str, Any]] = {
    "websocket": {"url": "wss://stream.example.com/feed",
                  "filters": [{"key": "type", "value": "order"}],
                  "initial_messages": [{"raw_message": "subscribe"}]},
    "postgres": {"postgres_resource_path": "f/db/main", "channel": "orders_changed"},
    "mqtt": {"broker_url": "mqtt://localhost:1883",
             "subscribe_topics": [{"topic": "sensors/+/temp", "qos": "qos1"}]},
    "nats": {"nats_resource_path": "f/events/nats", "subjects": ["orders.created"]},
    "email": {"local_part": "orders"},
}
# Fields of `get` that are the trigger's state or shared fields, not its kind's settings.
_NOT_SETTINGS = {"path", "kind", "workspace_id", "enabled", "edited_by", "edited_at", "email",
                 "permissioned_as", "extra_perms", "server_id", "last_server_ping", "error",
                 "last_error", "last_error_at", "status", "last_event_at", "events_total",
                 "script_path", "is_flow", "mode"}


class TriggerEditor(QWidget):
    def __init__(self, client: TidemillClient, saved: Any) -> None:
        super().__init__()
        self.client = client
        self.saved = saved
        self.editing: tuple[str, str] | None = None
        self.targets: dict[str, bool] = {}
        lay = QVBoxLayout(self)
        self.title = QLabel("New trigger")
        self.title.setStyleSheet("font-size: 15px; font-weight: bold")
        form = QFormLayout()
        self.kind = QComboBox()
        self.kind.addItems(EVENT_KINDS)
        self.kind.currentTextChanged.connect(self._kind_changed)
        self.path = QLineEdit()
        self.path.setPlaceholderText("f/folder/orders_feed")
        self.target = QComboBox()
        self.target.setEditable(True)
        self.target.setPlaceholderText("the script or flow each event runs")
        self.settings = TriggerSettings(client)
        self.handler = QLineEdit()
        self.handler.setPlaceholderText("optional: script/f/alerts/on_failure")
        self.state = QLabel("")
        self.state.setWordWrap(True)
        self.state.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.state.setObjectName("muted")
        form.addRow("Kind", self.kind)
        form.addRow("Path", self.path)
        form.addRow("Runs", self.target)
        # the kind's own settings, under a caption: the form's labels line up among themselves
        settings_caption = QLabel("Settings")
        settings_caption.setStyleSheet("font-weight: bold; margin-top: 6px")
        form.addRow(settings_caption)
        form.addRow(self.settings)
        form.addRow("On failure", self.handler)
        form.addRow("State", self.state)
        self.save_button = QPushButton("Save")
        self.save_button.clicked.connect(lambda: spawn(self.save()))
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(lambda: spawn(self.delete()))
        self.message = message_label()
        buttons = QHBoxLayout()
        buttons.addWidget(self.message, 1)
        buttons.addWidget(self.delete_button)
        buttons.addWidget(self.save_button)
        lay.addWidget(self.title)
        lay.addLayout(form)
        lay.addStretch(1)
        lay.addLayout(buttons)
        self.new()

    def set_targets(self, scripts: list[dict[str, Any]], flows: list[dict[str, Any]]) -> None:
        self.targets = {s["path"]: False for s in scripts} | {f["path"]: True for f in flows}
        current = self.target.currentText()
        self.target.clear()
        self.target.addItems(sorted(self.targets))
        self.target.setCurrentText(current)

    def _kind_changed(self, kind: str) -> None:
        if self.editing is None:
            self.settings.show_settings(kind, TEMPLATES.get(kind, {}))
            spawn(self.settings.load_resources())

    def new(self) -> None:
        self.editing = None
        self.title.setText("New trigger")
        self.kind.setEnabled(True)
        self.path.setReadOnly(False)
        self.path.clear()
        self.target.setCurrentText("")
        self.handler.clear()
        self.state.setText("")
        self.delete_button.setVisible(False)
        self.message.setText("")
        self._kind_changed(self.kind.currentText())

    def edit(self, t: dict[str, Any]) -> None:
        self.editing = (t["kind"], t["path"])
        self.title.setText(f"Edit {t['kind']} trigger {t['path']}")
        self.kind.setCurrentText(t["kind"])
        self.kind.setEnabled(False)
        self.path.setText(t["path"])
        self.path.setReadOnly(True)
        self.target.setCurrentText(t["script_path"])
        self.handler.setText(t.get("error_handler_path") or "")
        settings = {k: v for k, v in t.items()
                    if k not in _NOT_SETTINGS and k not in ("error_handler_path",)}
        self.settings.show_settings(t["kind"], settings)
        spawn(self.settings.load_resources())
        self.state.setText(state_text(t))
        self.delete_button.setVisible(True)
        self.message.setText("")

    async def save(self) -> bool:
        path, target = self.path.text().strip(), self.target.currentText().strip()
        if not path:
            say(self.message, "Give the trigger a path, e.g. f/feeds/orders.", False)
            return False
        if not target:
            say(self.message, "Choose the script or flow each event runs.", False)
            return False
        settings = self.settings.collect(self.message)
        if settings is None:
            return False
        kind = self.kind.currentText()
        body = {**settings, "path": path, "script_path": target,
                "is_flow": self.targets.get(target, False),
                "error_handler_path": self.handler.text().strip() or None}
        try:
            if self.editing:
                await self.client.update_trigger(kind, self.editing[1], body)
            else:
                await self.client.create_trigger(kind, body)
        except ClientError as exc:
            self.settings.show_server_error(exc.field, exc.message)
            say(self.message, exc.message + (f" — {exc.hint}" if exc.hint else ""), False)
            return False
        say(self.message, f"Saved {path}.", True)
        self.editing = (kind, path)
        self.path.setReadOnly(True)
        self.kind.setEnabled(False)
        self.delete_button.setVisible(True)
        await self.saved(kind, path)
        return True

    async def delete(self) -> bool:
        if self.editing is None:
            return False
        kind, path = self.editing
        try:
            await self.client.delete_trigger(kind, path)
        except ClientError as exc:
            say(self.message, f"Could not delete {path}: {exc.message}", False)
            return False
        self.new()
        say(self.message, f"Deleted {path}.", True)
        await self.saved(kind, None)
        return True


def _when(iso: str | None) -> str:
    """An API time as local wall time, e.g. 2026-11-26 06:25:31."""
    if not iso:
        return "—"
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return iso


def state_text(t: dict[str, Any]) -> str:
    lines = [f"Status: {t.get('status')}"]
    if t.get("server_id"):
        lines.append(f"Listener: {t['server_id']}, last seen {_when(t.get('last_server_ping'))}")
    if t.get("events_total") is not None:
        last = f", the last at {_when(t['last_event_at'])}" if t.get("last_event_at") else ""
        lines.append(f"Events: {t['events_total']}{last}")
    if t.get("last_error"):
        when = "before it was disabled" if t.get("enabled") is False else "at"
        lines.append(f"Last error, {when} {_when(t.get('last_error_at'))}:\n{t['last_error']}")
    return "\n".join(lines)


class TriggersView(QWidget):
    # what a glance needs first (is it working, and if not why), then what it does
    # (what it listens to is in the Path's tooltip and the editor: the table fits its width)
    COLUMNS = ["On", "Kind", "Path", "Status", "Last error", "Runs"]

    def __init__(self, client: TidemillClient) -> None:
        super().__init__()
        self.client = client
        self.triggers: list[dict[str, Any]] = []
        lay = QVBoxLayout(self)
        heading = QLabel("Triggers")
        heading.setObjectName("heading")
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(self.COLUMNS)
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        hdr = self.tree.header()
        hdr.setStretchLastSection(False)
        hdr.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)  # the error gets the rest
        for col, width in ((0, 40), (1, 76), (2, 160), (3, 85), (5, 140)):
            hdr.resizeSection(col, width)
        self.tree.itemClicked.connect(self._clicked)
        self.tree.itemChanged.connect(self._item_changed)
        self.editor = TriggerEditor(client, self._saved)
        new_button = QPushButton("New trigger")
        new_button.clicked.connect(self.editor.new)
        refresh_button = QPushButton("Refresh")
        refresh_button.clicked.connect(lambda: spawn(self.refresh()))
        self.empty = empty_state("No triggers yet.\n\nPress “New trigger”, pick a kind (WebSocket, "
                            "Postgres NOTIFY, MQTT, email), the script to run, fill in the "
                            "settings and Save. HTTP routes show here too.")
        self.stack, split = list_beside_editor(self.tree, self.empty,
                                               [refresh_button, new_button], self.editor,
                                               [720, 520])
        lay.addWidget(heading)
        lay.addWidget(split, 1)

    async def refresh(self) -> None:
        self.triggers = await self.client.list_all_triggers()
        self.editor.set_targets(await self.client.list_scripts(), await self.client.list_flows())
        self.tree.blockSignals(True)
        self.tree.clear()
        for t in self.triggers:
            error = (t.get("last_error") or "").splitlines()[0] if t.get("last_error") else ""
            if not t["enabled"]:
                error = ""  # switched off: an old error is history, not a current problem
            item = QTreeWidgetItem(["", t["kind"], t["path"], str(t["status"]), error,
                                    t["script_path"]])
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(0, Qt.CheckState.Checked if t["enabled"]
                               else Qt.CheckState.Unchecked)
            item.setToolTip(0, "enabled: click to disable" if t["enabled"]
                            else "disabled: click to enable")
            if error:
                item.setToolTip(4, f"{t.get('last_error_at') or ''}\n{t['last_error']}")
                item.setForeground(4, QBrush(QColor(ERROR_RED)))
            if t["enabled"] and (t["status"] == "error" or str(t["status"]).startswith("no ")):
                item.setForeground(3, QBrush(QColor(ERROR_RED)))
            item.setToolTip(2, f"{t['path']}\nlistens to: {t.get('detail') or '—'}")
            item.setData(0, DETAIL_ROLE, str(t.get("detail") or ""))
            item.setData(0, KEY_ROLE, (t["kind"], t["path"]))
            self.tree.addTopLevelItem(item)
        self.tree.blockSignals(False)
        self.stack.setCurrentWidget(self.tree if self.triggers else self.empty)

    def rows(self) -> list[list[str]]:
        out = []
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            assert item is not None
            on = "on" if item.checkState(0) == Qt.CheckState.Checked else "off"
            out.append([on] + [item.text(c) for c in range(1, len(self.COLUMNS))]
                       + [item.data(0, DETAIL_ROLE)])  # what it listens to (the tooltip)
        return out

    def _clicked(self, item: QTreeWidgetItem, col: int) -> None:
        if col != 0:
            spawn(self.open(*item.data(0, KEY_ROLE)))

    async def open(self, kind: str, path: str) -> None:
        if kind == "http":
            say(self.editor.message, f"{path} is an HTTP route: edit it through the"
                 " http_triggers API or its .http_trigger.yaml file.", False)
            return
        try:
            self.editor.edit(await self.client.get_trigger(kind, path))
        except ClientError as exc:
            say(self.editor.message, exc.message, False)

    def _item_changed(self, item: QTreeWidgetItem, col: int) -> None:
        if col == 0:
            kind, path = item.data(0, KEY_ROLE)
            spawn(self.set_enabled(kind, path, item.checkState(0) == Qt.CheckState.Checked))

    async def set_enabled(self, kind: str, path: str, enabled: bool) -> None:
        try:
            await self.client.set_trigger_enabled(kind, path, enabled)
        except ClientError as exc:
            say(self.editor.message, f"Could not change {path}: {exc.message}", False)
        await self.refresh()

    async def _saved(self, _kind: str, _path: str | None) -> None:
        await self.refresh()
