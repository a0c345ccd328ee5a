"""Schedules: the list with next and last fire times and an enable switch; create and edit
with a cron field that says in words what it means and lists the next 5 fire times in the
chosen time zone (computed by the daemon, so what you see is what will run), and the
arguments as the form of the script or flow it runs (the same form as Run)."""

from __future__ import annotations

import os
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop_app.client.http import ClientError, TidemillClient
from desktop_app.gui.panels import (
    editor_footer,
    empty_state,
    list_beside_editor,
    message_label,
    say,
    top_items,
)
from desktop_app.gui.schema_form import SchemaForm
from desktop_app.gui.tasks import spawn
from desktop_app.scheduler.describe import CronDescribeError, describe

PATH_ROLE = Qt.ItemDataRole.UserRole


@lru_cache(maxsize=1)
def zone_names() -> list[str]:
    return sorted(available_timezones())  # reads the tz database: done once, when needed


def local_timezone() -> str:
    """The machine's IANA zone name (TZ, else /etc/localtime's target), else UTC."""
    tz = os.environ.get("TZ", "").lstrip(":")
    if tz and tz in zone_names():
        return tz
    try:
        target = str(Path("/etc/localtime").resolve())
        if "zoneinfo/" in target:
            name = target.split("zoneinfo/", 1)[1]
            if name in zone_names():
                return name
    except OSError:
        pass
    return "UTC"


def in_zone(iso: str | None, tz: str, short: bool = False) -> str:
    if not iso:
        return ""
    try:
        when = datetime.fromisoformat(iso.replace("Z", "+00:00"))
        fmt = "%a %d %b %H:%M %Z" if short else "%a %Y-%m-%d %H:%M:%S %Z"
        return when.astimezone(ZoneInfo(tz)).strftime(fmt)
    except (ValueError, KeyError):
        return iso


class ScheduleEditor(QWidget):
    def __init__(self, client: TidemillClient, saved: Any) -> None:
        super().__init__()
        self.client = client
        self.saved = saved
        self.editing: str | None = None
        self.targets: dict[str, bool] = {}  # path → is_flow
        self._preview_gen = 0
        lay = QVBoxLayout(self)
        self.title = QLabel("New schedule")
        self.title.setStyleSheet("font-size: 15px; font-weight: bold")
        form = QFormLayout()
        self.path = QLineEdit()
        self.path.setPlaceholderText("f/folder/nightly_report")
        self.target = QComboBox()
        self.target.setEditable(True)
        self.target.setPlaceholderText("the script or flow to run")
        self.cron = QLineEdit("0 0 9 * * *")
        self.cron.setPlaceholderText("second minute hour day month weekday, e.g. 0 */5 * * * *")
        self.explain = QLabel("")
        self.explain.setWordWrap(True)
        self.timezone = QComboBox()
        self.timezone.setEditable(True)
        self.timezone.setCurrentText("UTC")  # the zone list is filled on first show
        self.next_times = QListWidget()
        self.next_times.setFixedHeight(5 * 18 + 8)
        self.next_times.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        # The arguments: the target's own form, rebuilt when the target changes.
        self.args_box = QWidget()
        self.args_lay = QVBoxLayout(self.args_box)
        self.args_lay.setContentsMargins(0, 0, 0, 0)
        self.args_form: SchemaForm | None = None
        self.form_target: str | None = None
        self._form_gen = 0
        self.args_note = QLabel("Choose what it runs: its arguments appear here.")
        self.args_note.setObjectName("muted")
        self.args_note.setWordWrap(True)
        self.args_lay.addWidget(self.args_note)
        self.enabled = QCheckBox("Enabled")
        self.enabled.setChecked(True)
        form.addRow("Path", self.path)
        form.addRow("Runs", self.target)
        form.addRow("Cron", self.cron)
        form.addRow("", self.explain)
        form.addRow("Time zone", self.timezone)
        form.addRow("Next 5 runs", self.next_times)
        form.addRow("Arguments", self.args_box)
        form.addRow("", self.enabled)
        self.save_button = QPushButton("Save")
        self.save_button.clicked.connect(lambda: spawn(self.save()))
        self.message = message_label()
        buttons = editor_footer(self.message, self.save_button)
        lay.addWidget(self.title)
        lay.addLayout(form)
        lay.addStretch(1)
        lay.addLayout(buttons)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(300)  # ask the daemon once typing pauses
        self._debounce.timeout.connect(lambda: spawn(self.update_preview()))
        self.cron.textChanged.connect(self._cron_changed)
        self.timezone.currentTextChanged.connect(lambda _t: self._debounce.start())
        self._target_debounce = QTimer(self)
        self._target_debounce.setSingleShot(True)
        self._target_debounce.setInterval(300)
        self._target_debounce.timeout.connect(lambda: spawn(self.load_form()))
        self.target.currentTextChanged.connect(lambda _t: self._target_debounce.start())
        self._cron_changed(self.cron.text())

    def fill_zones(self) -> None:
        if self.timezone.count() == 0:
            current = self.timezone.currentText() if self.editing else local_timezone()
            self.timezone.blockSignals(True)
            self.timezone.addItems(zone_names())
            self.timezone.blockSignals(False)
            self.timezone.setCurrentText(current)

    def set_targets(self, scripts: list[dict[str, Any]], flows: list[dict[str, Any]]) -> None:
        self.targets = {s["path"]: False for s in scripts} | {f["path"]: True for f in flows}
        current = self.target.currentText()
        self.target.clear()
        for path, is_flow in sorted(self.targets.items()):
            self.target.addItem(f"{path}", path)
            if is_flow:
                self.target.setItemData(self.target.count() - 1, "flow", Qt.ItemDataRole.ToolTipRole)
        self.target.setCurrentText(current)

    def _cron_changed(self, text: str) -> None:
        try:
            self.explain.setText(describe(text))
            self.explain.setObjectName("muted")
        except CronDescribeError as exc:
            self.explain.setText(str(exc))
            self.explain.setObjectName("fieldError")
        self.explain.style().unpolish(self.explain)
        self.explain.style().polish(self.explain)
        self._debounce.start()

    async def update_preview(self) -> list[str]:
        """The next 5 fire times in the chosen zone, or the daemon's reason why none."""
        self._debounce.stop()
        self._preview_gen += 1
        gen = self._preview_gen
        tz = self.timezone.currentText().strip() or "UTC"
        try:
            times = await self.client.schedule_preview(self.cron.text().strip(), tz, 5)
        except ClientError as exc:
            if gen == self._preview_gen:
                self.next_times.clear()
                self.next_times.addItem(exc.message)
            return []
        shown = [in_zone(t, tz) for t in times]
        if gen == self._preview_gen:  # a newer expression was typed meanwhile: it wins
            self.next_times.clear()
            self.next_times.addItems(shown)
        return shown

    async def load_form(self, values: dict[str, Any] | None = None) -> SchemaForm | None:
        """Show the form of the chosen target, filled with `values` (else with what was
        typed in fields of the same name). None when no known script or flow is chosen."""
        self._target_debounce.stop()
        self._form_gen += 1
        gen = self._form_gen
        target = self.target.currentText().strip()
        typed = self.args_form.snapshot() if self.args_form is not None else {}
        if target not in self.targets:
            self._set_form(None, "Choose what it runs: its arguments appear here." if not target
                           else f"No script or flow at {target}.", None)
            return None
        try:
            info = await (self.client.get_flow_form(target) if self.targets[target]
                          else self.client.get_script_form(target))
        except ClientError as exc:
            if gen == self._form_gen:
                self._set_form(None, f"Could not read the form of {target}: {exc.message}", None)
            return None
        if gen != self._form_gen:
            return self.args_form  # another target was chosen meanwhile: it wins
        form = SchemaForm(info.get("schema") or {}, self.client, nested=True)
        if values is not None:
            for name, value in values.items():
                if name in form.fields and value is not None:
                    form.fields[name].set_value(value)
        else:
            form.restore(typed)
        self._set_form(form, "", target)
        spawn(form.load_resources())
        return form

    def _set_form(self, form: SchemaForm | None, note: str, target: str | None) -> None:
        if self.args_form is not None:
            self.args_form.setParent(None)
            self.args_form.deleteLater()
        self.args_form, self.form_target = form, target
        self.args_note.setText(note)
        self.args_note.setVisible(bool(note) or (form is not None and not form.fields))
        if form is not None:
            if not form.fields:
                self.args_note.setText("It takes no arguments.")
            self.args_lay.addWidget(form)

    def new(self) -> None:
        self.editing = None
        self.title.setText("New schedule")
        self.path.setReadOnly(False)
        self.path.clear()
        self.target.setCurrentText("")
        self.cron.setText("0 0 9 * * *")
        self.timezone.setCurrentText(local_timezone())
        self._set_form(None, "Choose what it runs: its arguments appear here.", None)
        self.enabled.setChecked(True)
        self.message.setText("")

    def edit(self, s: dict[str, Any]) -> None:
        self.editing = s["path"]
        self.title.setText(f"Edit {s['path']}")
        self.path.setText(s["path"])
        self.path.setReadOnly(True)
        self.target.setCurrentText(s["script_path"])
        self.cron.setText(s["schedule"])
        self.timezone.setCurrentText(s.get("timezone") or "UTC")
        self.enabled.setChecked(bool(s.get("enabled")))
        self.message.setText("")
        spawn(self.load_form(s.get("args") or {}))

    async def save(self) -> bool:
        path, target = self.path.text().strip(), self.target.currentText().strip()
        if not path:
            say(self.message, "Give the schedule a path, e.g. f/reports/nightly.", False)
            return False
        if not target:
            say(self.message, "Choose the script or flow it runs.", False)
            return False
        if self.form_target != target:
            await self.load_form()
        if self.args_form is None:
            say(self.message, f"Choose a deployed script or flow to run ({target} is not one).",
                False)
            return False
        args = self.args_form.collect()
        if args is None:
            say(self.message, "Fix the arguments marked in red.", False)
            return False
        body = {"path": path, "schedule": self.cron.text().strip(),
                "timezone": self.timezone.currentText().strip() or "UTC",
                "script_path": target, "is_flow": self.targets.get(target, False),
                "args": args, "enabled": self.enabled.isChecked()}
        try:
            if self.editing:
                await self.client.update_schedule(self.editing, body)
            else:
                await self.client.create_schedule(body)
        except ClientError as exc:
            if self.args_form is not None and self.args_form.show_server_error(exc.field,
                                                                                exc.message):
                say(self.message, "Fix the arguments marked in red.", False)
                return False
            where = f"{exc.field}: " if exc.field else ""
            say(self.message, where + exc.message + (f" — {exc.hint}" if exc.hint else ""),
                 False)
            return False
        say(self.message, f"Saved {path}.", True)
        self.editing = path
        self.path.setReadOnly(True)
        await self.saved(path)
        return True


class SchedulesView(QWidget):
    COLUMNS = ["On", "Path", "Runs", "When", "Next run", "Last run"]

    def __init__(self, client: TidemillClient) -> None:
        super().__init__()
        self.client = client
        self.schedules: list[dict[str, Any]] = []
        lay = QVBoxLayout(self)
        heading = QLabel("Schedules")
        heading.setObjectName("heading")
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(self.COLUMNS)
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        hdr = self.tree.header()
        hdr.setStretchLastSection(False)
        hdr.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        # Paths keep their start and their name; the words of "When" get the room left.
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        for col, width in ((0, 30), (1, 170), (2, 135), (4, 150), (5, 75)):
            hdr.resizeSection(col, width)
        self.tree.itemClicked.connect(self._clicked)
        self.tree.itemChanged.connect(self._item_changed)
        self.editor = ScheduleEditor(client, self._saved)
        new_button = QPushButton("New schedule")
        new_button.clicked.connect(self.editor.new)
        self.empty = empty_state("No schedules yet.\n\nPress “New schedule”, choose a script, "
                            "write a cron expression (its meaning and next runs show as you "
                            "type) and Save.")
        self.stack, split = list_beside_editor(self.tree, self.empty, [new_button], self.editor,
                                               [800, 330])
        lay.addWidget(heading)
        lay.addWidget(split, 1)

    async def refresh(self) -> None:
        self.schedules = await self.client.list_schedules()
        self.editor.set_targets(await self.client.list_scripts(), await self.client.list_flows())
        self.editor.fill_zones()
        self.tree.blockSignals(True)
        self.tree.clear()
        for s in sorted(self.schedules, key=lambda s: s["path"]):
            tz = s.get("timezone") or "UTC"
            try:
                words = describe(s["schedule"])
            except CronDescribeError:
                words = s["schedule"]
            stats = s.get("stats") or {}
            nxt = in_zone(stats.get("next_fire"), tz, short=True) if s["enabled"] \
                else "— disabled"
            ran = in_zone(stats.get("last_fire"), tz, short=True) or "never"
            if stats.get("last_fire") and stats.get("failure_streak"):
                ran += " ✗"  # the last run failed (the tooltip says how many in a row)
            # The box alone (the dark theme draws its edge): the words need the room.
            item = QTreeWidgetItem(["", s["path"],
                                    s["script_path"], words, nxt, ran])
            last = in_zone(stats.get("last_fire"), tz)
            item.setToolTip(4, f"next: {in_zone(stats.get('next_fire'), tz) or '—'}\n"
                               f"last: {last or 'never ran'}")
            streak = stats.get("failure_streak") or 0
            item.setToolTip(5, f"last fire: {last or 'never ran'}" +
                            (f"\n{streak} failed run(s) in a row" if streak else ""))
            item.setToolTip(1, s["path"])
            item.setToolTip(2, s["script_path"])
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(0, Qt.CheckState.Checked if s["enabled"]
                               else Qt.CheckState.Unchecked)
            item.setToolTip(0, "enabled: click to disable" if s["enabled"]
                            else "disabled: click to enable")
            item.setToolTip(3, f"{s['schedule']} ({tz})")
            item.setData(0, PATH_ROLE, s["path"])
            self.tree.addTopLevelItem(item)
        self.tree.blockSignals(False)
        self.stack.setCurrentWidget(self.tree if self.schedules else self.empty)
        await self.editor.update_preview()

    def rows(self) -> list[list[str]]:
        out = []
        for item in top_items(self.tree):
            on = "on" if item.checkState(0) == Qt.CheckState.Checked else "off"
            out.append([on] + [item.text(c) for c in range(1, len(self.COLUMNS))])
        return out

    def _clicked(self, item: QTreeWidgetItem, col: int) -> None:
        if col == 0:
            return
        found = next((s for s in self.schedules if s["path"] == item.data(0, PATH_ROLE)), None)
        if found is not None:
            self.editor.edit(found)
            spawn(self.editor.update_preview())

    def _item_changed(self, item: QTreeWidgetItem, col: int) -> None:
        if col == 0:
            spawn(self.set_enabled(item.data(0, PATH_ROLE),
                                   item.checkState(0) == Qt.CheckState.Checked))

    async def set_enabled(self, path: str, enabled: bool) -> None:
        try:
            await self.client.set_schedule_enabled(path, enabled)
        except ClientError as exc:
            say(self.editor.message, f"Could not change {path}: {exc.message}", False)
        await self.refresh()

    async def _saved(self, _path: str) -> None:
        await self.refresh()
