"""Settings: which daemon this window talks to, the workers (pause/resume), the theme,
and whether Tidemill starts at login (this machine's login entries, `desktop_app.autostart`)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.client.http import ClientError, TidemillClient
from desktop_app.gui.tasks import spawn
from desktop_app.gui.theme import apply_theme


def _value() -> QLabel:
    label = QLabel("—")
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setWordWrap(True)
    return label


class SettingsView(QWidget):
    def __init__(self, client: TidemillClient, home: Path | None = None) -> None:
        super().__init__()
        self.client = client
        self.local_home = home
        self.paused: bool | None = None
        lay = QVBoxLayout(self)
        heading = QLabel("Settings")
        heading.setObjectName("heading")
        form = QFormLayout()
        form.setHorizontalSpacing(24)
        form.setVerticalSpacing(10)
        self.url, self.version, self.workspace, self.jobs = _value(), _value(), _value(), _value()
        self.workers = _value()
        self.workers.setWordWrap(False)  # one line beside its button, never squeezed
        self.pause_button = QPushButton("Pause workers")
        self.pause_button.setToolTip("Paused workers start no new job; running jobs finish")
        self.pause_button.clicked.connect(lambda: spawn(self.toggle_pause()))
        workers_row = QHBoxLayout()
        workers_row.addWidget(self.workers)
        workers_row.addWidget(self.pause_button)
        workers_row.addStretch(1)
        self.theme = QComboBox()
        self.theme.addItems(["light", "dark"])
        self.theme.setMaximumWidth(160)
        app = QApplication.instance()
        self.theme.setCurrentText(str(app.property("tidemill_theme") or "light") if app else "light")
        self.theme.currentTextChanged.connect(self._theme_changed)
        form.addRow("Daemon", self.url)
        form.addRow("Version", self.version)
        form.addRow("Workspace", self.workspace)
        form.addRow("Jobs", self.jobs)
        form.addRow("Workers", workers_row)
        self.database = _value()
        self.database.setWordWrap(True)
        form.addRow("Database", self.database)
        form.addRow("Theme", self.theme)
        self.autostart = QCheckBox("Start the daemon and its tray icon when I log in")
        self.autostart_note = QLabel()
        self.autostart_note.setObjectName("muted")
        self.autostart_note.setWordWrap(True)
        self.autostart_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._show_autostart()
        self.autostart.toggled.connect(self._autostart_toggled)
        at_login = QVBoxLayout()
        at_login.addWidget(self.autostart)
        at_login.addWidget(self.autostart_note)
        form.addRow("At login", at_login)
        hint = QLabel("Point the app at another daemon (a teammate's, a server) with "
                      "TIDEMILL_URL and TIDEMILL_TOKEN, then start it again.")
        hint.setObjectName("muted")
        hint.setWordWrap(True)
        lay.addWidget(heading)
        lay.addLayout(form)
        lay.addWidget(hint)
        lay.addStretch(1)
        self.body = hint  # the main window writes connection notes here

    def _show_autostart(self) -> None:
        from desktop_app.autostart.manage import status

        st = status()
        self.autostart.blockSignals(True)
        self.autostart.setChecked(st.enabled)
        self.autostart.blockSignals(False)
        self.autostart_note.setText(st.detail)

    def _autostart_toggled(self, on: bool) -> None:
        from desktop_app.autostart.manage import disable, enable
        from desktop_app.daemon.home import default_home

        try:
            enable(self.local_home or default_home()) if on else disable()
        except OSError as exc:  # a read-only config folder: say so, keep the switch true
            self._show_autostart()
            self.autostart_note.setText(f"Could not change the login entries: {exc}")
            return
        self._show_autostart()

    async def refresh(self) -> None:
        self.url.setText(self.client.conn.url)
        self.workspace.setText(self.client.conn.workspace)
        self.version.setText(await self.client.version())
        status = await self.client.worker_status()
        self.paused = bool(status["paused"])
        self.jobs.setText(f"{status['running_jobs']} running, {status['queued_jobs']} waiting")
        self.workers.setText("paused: queued jobs wait until you resume" if self.paused
                             else "running: queued jobs start as soon as a worker is free")
        self.pause_button.setText("Resume workers" if self.paused else "Pause workers")
        self.database.setText(await self._database_text())

    async def _database_text(self) -> str:
        try:
            usage = await self.client.database_usage()
        except ClientError as exc:  # an operator or developer: admins only
            return f"size not shown: {exc.message}"
        largest = ", ".join(f"{t['table']} {_mb(t['total_bytes'])}" for t in usage["tables"][:3])
        return f"{_mb(usage['database_bytes'])} (largest: {largest}); old jobs are pruned by " \
               "the workspace's retention policy"

    async def toggle_pause(self) -> None:
        try:
            await self.client.pause_workers(not self.paused)
            await self.refresh()
        except ClientError as exc:
            self.workers.setText(f"could not change: {exc.message}")

    def _theme_changed(self, theme: str) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, theme)


def _mb(n: int) -> str:
    return f"{n / 2**20:.0f} MB" if n >= 2**20 else f"{n / 1024:.0f} KB"
