"""Settings: which daemon this window talks to, the workers (pause/resume, and which are
alive), the users and their roles, your API tokens, the workspace's Git remote, the theme,
and whether Tidemill starts at login (this machine's login entries, `desktop_app.autostart`).
Everything is read through the HTTP client; a part the token may not read says so."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


async def _or_why(reading: Any) -> str:
    """What `reading` gives, or why it could not be read (e.g. only admins list users)."""
    try:
        return str(await reading)
    except ClientError as exc:
        return f"— {exc.message}"


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
        self.worker_list, self.users, self.tokens, self.git = (_value(), _value(), _value(),
                                                               _value())
        form.addRow("", self.worker_list)
        form.addRow("Users", self.users)
        form.addRow("Your tokens", self.tokens)
        form.addRow("Git remote", self.git)
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
        self.worker_list.setText(await _or_why(self._workers()))
        self.users.setText(await _or_why(self._users()))
        self.tokens.setText(await _or_why(self._tokens()))
        self.git.setText(await _or_why(self._git()))

    async def _workers(self) -> str:
        workers = await self.client.list_workers()
        if not workers:
            return "no worker alive (they start with the daemon)"
        return "\n".join(
            f"{w['worker']} on {w['worker_instance']}: "
            f"{'running a job' if w.get('current_job_id') else 'idle'}, "
            f"{w['jobs_executed']} jobs done, seen {w['last_ping']:.0f} s ago"
            for w in workers)

    async def _users(self) -> str:
        users = await self.client.list_users()
        return "\n".join(f"{u['username']} ({u['role']})" for u in users) or "none"

    async def _tokens(self) -> str:
        tokens = await self.client.list_tokens()
        if not tokens:
            return "none (`tidemill token create` makes one)"
        return "\n".join(f"{t.get('label') or '(no label)'} · {', '.join(t['scopes'])} · "
                         f"created {str(t.get('created_at') or '')[:10]}"
                         + (f" · used {str(t['last_used_at'])[:10]}" if t.get("last_used_at")
                            else " · never used")
                         for t in tokens)

    async def _git(self) -> str:
        st = await self.client.sync_status()
        remote = st.get("remote") or "none (`tidemill sync push --remote URL` sets one)"
        head = str(st.get("head") or "")[:10] or "no commit yet"
        return f"{remote}\nhead {head}" + (f", {st['pending']} change(s) being committed"
                                           if st.get("pending") else "")

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
