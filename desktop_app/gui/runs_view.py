"""Runs: the job history (filters, paging through any number of jobs), and one job with its
arguments, result, live logs, cancel, re-run and a chart of the script's recent runs."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, QTimer
from PySide6.QtGui import QColor, QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop_app.client.http import ClientError, TidemillClient
from desktop_app.core.jobs import job_title
from desktop_app.gui.log_pane import LogPane
from desktop_app.gui.results_view import ResultView
from desktop_app.gui.run_chart import OUTCOME_COLOURS, RunBar, RunChart
from desktop_app.gui.tasks import spawn

STATUS_COLOURS = OUTCOME_COLOURS
FIRST_PAGE = 100  # fills the window at once; later pages are bigger, fewer round trips
PAGE = 500
# Filter choices: (label, list_jobs parameters)
STATUS_FILTERS: list[tuple[str, dict[str, Any]]] = [("Any status", {}), ("Succeeded", {"status": "success"}),
                  ("Failed", {"status": "failure"}), ("Canceled", {"status": "canceled"}),
                  ("Running", {"running": True})]
TRIGGER_FILTERS = [("Any trigger", None), ("API / app", "webhook"), ("Schedule", "schedule"),
                   ("HTTP route", "http")]
TIME_FILTERS = [("Any time", None), ("Last hour", timedelta(hours=1)),
                ("Last 24 hours", timedelta(days=1)), ("Last 7 days", timedelta(days=7)),
                ("Last 30 days", timedelta(days=30))]


def job_status(job: dict[str, Any]) -> str:
    if job.get("type") == "CompletedJob":
        return str(job.get("status") or ("success" if job.get("success") else "failure"))
    return "running" if job.get("running") else "queued"


def _when(ts: str | None) -> str:
    if not ts:
        return ""
    try:
        return datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone().strftime(
            "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return ts


def _duration(ms: int | None) -> str:
    if ms is None:
        return ""
    return f"{ms} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def trigger_text(job: dict[str, Any]) -> str:
    """Who or what started the job, in a few words."""
    kind = job.get("trigger_kind")
    if job.get("schedule_path"):
        return f"schedule {job['schedule_path']}"
    if job.get("parent_job"):
        return f"step of {str(job['parent_job'])[:8]}…"
    if kind == "http":
        return f"HTTP route {job.get('trigger_path') or ''}".strip()
    if kind == "webhook":
        return "API / app"
    return kind or "—"


def monospace(widget: QWidget) -> None:
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setPointSize(10)
    widget.setFont(font)


class RunsModel(QAbstractTableModel):
    """Jobs newest first, fetched a page at a time as the view scrolls (Qt's fetchMore),
    each page asked with a keyset cursor so the 200th page costs what the first does.
    Rows keep only their display strings: 100,000 of them stay small."""

    COLUMNS = ["Status", "Path", "Started", "Duration", "Trigger", "By", "Job id"]

    def __init__(self, client: TidemillClient) -> None:
        super().__init__()
        self.client = client
        self.rows: list[tuple[str, ...]] = []
        self._cursors: list[str] = []
        self.filters: dict[str, Any] = {}
        self.exhausted = False
        self.error: str | None = None
        self._loading: asyncio.Task[None] | None = None
        self._generation = 0
        self._colours = {k: QColor(v) for k, v in STATUS_COLOURS.items()}
        self.on_loaded: Callable[[], None] = lambda: None

    # -- Qt model ------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.COLUMNS)

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return self.rows[index.row()][index.column()]
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == 0:
            return self._colours.get(self.rows[index.row()][0])
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.COLUMNS[section]
        return None

    def canFetchMore(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> bool:
        return not parent.isValid() and not self.exhausted and not self.loading \
            and self.error is None

    def fetchMore(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> None:
        if self.canFetchMore(parent):
            self._next_page()

    # -- loading -------------------------------------------------------------------
    @property
    def loading(self) -> bool:
        return self._loading is not None and not self._loading.done()

    def job_id(self, row: int) -> str:
        return self.rows[row][-1]

    def _next_page(self) -> asyncio.Task[None]:
        """The page being loaded, or a new load of the next one: one at a time, so two
        callers never fetch the same page twice."""
        if self._loading is None or self._loading.done():
            self._loading = asyncio.ensure_future(self._load_next(self._generation))
        return self._loading

    async def reset(self, filters: dict[str, Any]) -> None:
        """Start over with `filters` and load the first page (ClientError if unreachable).
        When another reset starts meanwhile, returns once that newer one has loaded."""
        self._generation += 1
        if self._loading is not None:
            self._loading.cancel()
            self._loading = None
        self.beginResetModel()
        self.rows, self._cursors, self.filters = [], [], filters
        self.exhausted, self.error = False, None
        self.endResetModel()
        gen = self._generation
        await asyncio.wait([self._next_page()])
        while gen != self._generation and self._loading is not None:
            gen = self._generation
            await asyncio.wait([self._loading])
        if self.error:
            raise ClientError(self.error)

    async def load_all_pages(self, limit: int | None = None) -> None:
        """Fetch until the end (or `limit` rows): for tests and benchmarks."""
        while not self.exhausted and (limit is None or len(self.rows) < limit):
            await self._next_page()
            if self.error:
                raise ClientError(self.error)

    async def _load_next(self, gen: int) -> None:
        params = dict(self.filters)
        per_page = PAGE if self._cursors else FIRST_PAGE
        params["per_page"] = per_page
        if self._cursors:
            params["cursor"] = self._cursors[-1]
        try:
            jobs = await self.client.list_jobs(**params)
        except ClientError as exc:
            if gen == self._generation:
                self.error = exc.message
                self.on_loaded()
            return
        if gen != self._generation:
            return  # the filters changed while this page was on its way
        if jobs:
            first = len(self.rows)
            self.beginInsertRows(QModelIndex(), first, first + len(jobs) - 1)
            self.rows.extend(_row(j) for j in jobs)
            self.endInsertRows()
            last = jobs[-1]
            self._cursors.append(f"{last['created_at']},{last['id']}")
        if len(jobs) < per_page:
            self.exhausted = True
        self.on_loaded()


def _row(job: dict[str, Any]) -> tuple[str, ...]:
    return (job_status(job), job_title(job),
            _when(job.get("started_at") or job.get("created_at")),
            _duration(job.get("duration_ms")), trigger_text(job), job.get("created_by") or "",
            job["id"])


class RunsView(QWidget):
    COLUMNS = RunsModel.COLUMNS

    def __init__(self, client: TidemillClient, open_job: Callable[[str], None]) -> None:
        super().__init__()
        self.client = client
        self.open_job = open_job
        lay = QVBoxLayout(self)
        heading = QLabel("Runs")
        heading.setObjectName("heading")
        bar = QHBoxLayout()
        self.path = QLineEdit()
        self.path.setPlaceholderText("Filter by path prefix, e.g. f/reports/")
        self.path.setClearButtonEnabled(True)
        self.status = QComboBox()
        self.status.addItems([label for label, _ in STATUS_FILTERS])
        self.trigger = QComboBox()
        self.trigger.addItems([label for label, _ in TRIGGER_FILTERS])
        self.since = QComboBox()
        self.since.addItems([label for label, _ in TIME_FILTERS])
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search the logs (3+ characters)")
        self.search.setClearButtonEnabled(True)
        bar.addWidget(self.path, 1)
        bar.addWidget(self.search, 1)
        for combo in (self.status, self.trigger, self.since):
            bar.addWidget(combo)
            combo.currentIndexChanged.connect(self._filters_changed)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(250)  # typing a path reloads once, not per key
        self._debounce.timeout.connect(self._filters_changed)
        self.path.textChanged.connect(lambda _t: self._debounce.start())
        self.search.textChanged.connect(lambda _t: self._debounce.start())
        self.model = RunsModel(client)
        self.model.on_loaded = self._loaded
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        vh = self.table.verticalHeader()
        vh.setVisible(False)
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # no per-row size queries
        vh.setDefaultSectionSize(26)
        hdr = self.table.horizontalHeader()
        hdr.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        # The trigger's words need the room; a job id is recognised by its ends (the middle
        # is elided; the job view shows it whole and selectable).
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        for col, width in ((0, 90), (2, 150), (3, 70), (4, 230), (5, 80), (6, 150)):
            hdr.resizeSection(col, width)
        # A click opens the job; so does Enter (activated). Where the style activates on a
        # single click both signals come for one click: the second is ignored.
        self._last_open: tuple[str, float] = ("", 0.0)
        self.table.clicked.connect(self._open_row)
        self.table.activated.connect(self._open_row)
        self.count = QLabel("")
        self.count.setObjectName("muted")
        self.empty = QLabel("No runs yet.\n\nOpen a script in “Scripts & flows”, fill its form "
                            "and press Run; its job will appear here.")
        self.empty.setObjectName("empty")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.empty)
        lay.addWidget(heading)
        lay.addLayout(bar)
        lay.addWidget(self.stack, 1)
        lay.addWidget(self.count)

    def _open_row(self, index: QModelIndex) -> None:
        job_id = self.model.job_id(index.row())
        now = time.monotonic()
        if self._last_open[0] == job_id and now - self._last_open[1] < 0.5:
            return
        self._last_open = (job_id, now)
        self.open_job(job_id)

    @property
    def jobs(self) -> list[tuple[str, ...]]:
        return self.model.rows

    def current_filters(self) -> dict[str, Any]:
        f: dict[str, Any] = dict(STATUS_FILTERS[self.status.currentIndex()][1])
        trigger = TRIGGER_FILTERS[self.trigger.currentIndex()][1]
        if trigger:
            f["trigger_kind"] = trigger
        since = TIME_FILTERS[self.since.currentIndex()][1]
        if since:
            f["created_after"] = (datetime.now(UTC) - since).isoformat()
        if self.path.text().strip():
            f["script_path_start"] = self.path.text().strip()
        if len(self.search.text().strip()) >= 3:  # shorter text cannot use the log index
            f["log_search"] = self.search.text().strip()
        return f

    def filtered(self) -> bool:
        return bool(self.current_filters())

    async def refresh(self) -> None:
        await self.model.reset(self.current_filters())

    def _filters_changed(self, *_a: object) -> None:
        self._debounce.stop()
        spawn(self._reload())

    async def _reload(self) -> None:
        try:
            await self.refresh()
        except ClientError:
            pass  # shown by _loaded (model.error); the main window's ping shows the banner

    def _loaded(self) -> None:
        m = self.model
        if m.error:
            self.count.setText(f"Could not load more runs: {m.error}")
        else:
            more = "" if m.exhausted else " — scroll for more"
            self.count.setText(f"{len(m.rows):,} runs shown{more}")
        if m.rows:
            self.stack.setCurrentWidget(self.table)
            return
        if self.filtered():
            self.empty.setText("No runs match these filters.\n\nWiden the time range, pick "
                               "“Any status” / “Any trigger”, or clear the path.")
        else:
            self.empty.setText("No runs yet.\n\nOpen a script in “Scripts & flows”, fill its "
                               "form and press Run; its job will appear here.")
        self.stack.setCurrentWidget(self.empty)


class JobView(QWidget):
    """One job: what ran, with which arguments, who started it, its result and live logs."""

    def __init__(self, client: TidemillClient, back: Callable[[], None],
                 open_job: Callable[[str], None] | None = None) -> None:
        super().__init__()
        self.client = client
        self.open_job = open_job
        self.job_id: str | None = None
        self.job: dict[str, Any] = {}
        self._follow: asyncio.Task[None] | None = None
        lay = QVBoxLayout(self)
        top = QHBoxLayout()
        self.back = QPushButton("← All runs")
        self.back.clicked.connect(back)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(lambda: spawn(self.cancel()))
        self.rerun_button = QPushButton("Re-run with the same arguments")
        self.rerun_button.clicked.connect(lambda: spawn(self.rerun()))
        top.addWidget(self.back)
        top.addStretch(1)
        self.download_button = QPushButton("Download log…")
        self.download_button.clicked.connect(self._ask_download)
        top.addWidget(self.cancel_button)
        top.addWidget(self.rerun_button)
        top.addWidget(self.download_button)
        self.title = QLabel("Job")
        self.title.setObjectName("heading")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status_label = QLabel("")
        self.meta = QLabel("")
        self.meta.setObjectName("muted")
        self.meta.setWordWrap(True)
        self.meta.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message = QLabel("")
        self.message.setObjectName("fieldError")
        self.message.setWordWrap(True)
        self.message.setVisible(False)
        self.chart = RunChart()
        self.args = QPlainTextEdit(readOnly=True)
        self.result = ResultView()
        self.logs = LogPane()
        for w in (self.args, self.logs):
            monospace(w)
        upper = QSplitter(Qt.Orientation.Horizontal)
        upper.addWidget(_titled("Arguments", self.args))
        upper.addWidget(_titled("Result", self.result))
        upper.setSizes([350, 700])  # the result (a table, a traceback) needs the width
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(upper)
        split.addWidget(_titled("Logs", self.logs))
        split.setSizes([380, 220])
        self.split = split
        heading = QHBoxLayout()
        heading.addWidget(self.title)
        heading.addWidget(self.status_label)
        heading.addStretch(1)
        lay.addLayout(top)
        lay.addLayout(heading)
        lay.addWidget(self.meta)
        lay.addWidget(self.message)
        lay.addWidget(self.chart)
        lay.addWidget(split, 1)

    async def load(self, job_id: str) -> None:
        self.stop_following()
        self.job_id = job_id
        self.message.setVisible(False)
        job = await self.client.get_job(job_id)
        self._show(job)
        self.args.setPlainText(json.dumps(job.get("args") or {}, indent=2))
        if job.get("type") == "CompletedJob":
            self.logs.set_log(job.get("logs") or "")
            self.fit_log_height(job.get("logs") or "")
        else:
            self.fit_log_height("\n" * 12)  # a running job's log grows: room for it
            self.logs.set_log("")
            self._follow = spawn(self._stream(job_id))
        await self._load_chart(job)

    def fit_log_height(self, log: str) -> None:
        """Give the log the height its lines need (a one-line log gets a small pane) and the
        result and traceback the rest, up to 60 % for a long log (it scrolls)."""
        total = sum(self.split.sizes()) or 600
        lines = max(1, log.rstrip("\n").count("\n") + 1)
        want = lines * self.logs.fontMetrics().lineSpacing() + 44  # title, frame, margins
        logs = max(90, min(want, int(total * 0.6)))
        self.split.setSizes([total - logs, logs])

    def stop_following(self) -> None:
        if self._follow is not None and not self._follow.done():
            self._follow.cancel()
        self._follow = None

    @property
    def following(self) -> bool:
        return self._follow is not None and not self._follow.done()

    async def _stream(self, job_id: str) -> None:
        """Logs and status as the daemon pushes them (server-sent events)."""
        try:
            async for update in self.client.job_updates(job_id):
                if self.job_id != job_id:
                    return
                if update.get("new_logs"):
                    self.logs.append_log(update["new_logs"])
                if update.get("completed") and update.get("job"):
                    self._show(update["job"])
                    await self._load_chart(update["job"])
                elif update.get("running") and self.job.get("running") is not True:
                    self._show({**self.job, "running": True})
        except ClientError as exc:
            self._say(f"Live log stopped: {exc.message}")

    def _show(self, job: dict[str, Any]) -> None:
        self.job = job
        status = job_status(job)
        self.title.setText(job_title(job))
        self.status_label.setText(status)
        self.status_label.setStyleSheet(
            f"color: {STATUS_COLOURS.get(status, '#8a8f98')}; font-weight: bold; font-size: 16px")
        done = job.get("type") == "CompletedJob"
        took = _duration(job.get("duration_ms")) if done else (
            "running" if job.get("running") else "waiting for a worker")
        started = _when(job.get("started_at")) or "not started"
        who = job.get("created_by") or "?"
        self.meta.setText(
            f"Job {job['id']} · started {started} · took {took} · "
            f"triggered by {trigger_text(job)} (user {who}) · {job.get('language') or ''}"
            + (f" · canceled by {job.get('canceled_by')}" if job.get("canceled") else ""))
        if done:
            self.result.show_result(job.get("result"), status != "failure",
                                    columns=job.get("result_columns"))
        else:
            self.result.show_message("Not finished yet.")
        self.cancel_button.setEnabled(not done)
        self.cancel_button.setVisible(not done)  # nothing to cancel once it has finished
        self.rerun_button.setEnabled(bool(job.get("script_path"))
                                     and job.get("job_kind") in ("script", "flow"))
        self.rerun_button.setToolTip("" if self.rerun_button.isEnabled() else
                                     "Only a deployed script or flow can be run again here.")

    async def _load_chart(self, job: dict[str, Any]) -> None:
        path = job.get("script_path")
        self.chart.setVisible(bool(path))
        if not path:
            return
        recent = await self.client.list_jobs(script_path_exact=path, per_page=40)
        self.chart.set_runs([RunBar(j["id"], job_status(j), j.get("duration_ms"))
                             for j in reversed(recent)], current=job.get("id"))

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    async def cancel(self) -> None:
        if not self.job_id:
            return
        try:
            await self.client.cancel(self.job_id, "canceled from the desktop app")
        except ClientError as exc:
            self._say(f"Could not cancel: {exc.message}")
            return
        self.cancel_button.setEnabled(False)
        self._say("")

    async def rerun(self) -> str | None:
        """Run the same script or flow with the same arguments; shows the new job."""
        path = self.job.get("script_path")
        if not path:
            return None
        kind = "flow" if self.job.get("job_kind") == "flow" else "script"
        try:
            new_id = await self.client.run_async(path, self.job.get("args") or {}, kind)
        except ClientError as exc:
            self._say(f"Could not run {path} again: {exc.message}")
            return None
        if self.open_job is not None:
            self.open_job(new_id)
        else:
            await self.load(new_id)
        return new_id


    def _ask_download(self) -> None:
        if not self.job_id:
            return
        name, _ = QFileDialog.getSaveFileName(self, "Save the job's log", f"{self.job_id}.log",
                                              "Logs (*.log *.txt)")
        if name:
            spawn(self.download_log(Path(name)))

    async def download_log(self, dest: Path) -> None:
        """Save the whole log (streamed, however long) to `dest`."""
        if not self.job_id:
            return
        try:
            size = await self.client.save_logs(self.job_id, dest)
        except (ClientError, OSError) as exc:
            self._say(f"Could not save the log: {getattr(exc, 'message', exc)}")
            return
        self._say(f"Saved the log ({size:,} bytes) to {dest}")


def _titled(title: str, widget: QWidget) -> QWidget:
    box = QWidget()
    lay = QVBoxLayout(box)
    lay.setContentsMargins(0, 4, 0, 0)
    lbl = QLabel(title)
    lbl.setStyleSheet("font-weight: bold")
    lay.addWidget(lbl)
    lay.addWidget(widget, 1)
    return box
