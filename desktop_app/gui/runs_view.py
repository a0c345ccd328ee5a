"""Runs: the recent jobs, and one job's arguments, result and logs."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop_app.client.http import TidemillClient
from desktop_app.gui.results_view import ResultView

STATUS_COLOURS = {"success": "#2e9e4f", "failure": "#d9453b", "canceled": "#c98a1a",
                  "running": "#3b82f6"}


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


def monospace(widget: QWidget) -> None:
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setPointSize(10)
    widget.setFont(font)


class RunsView(QWidget):
    COLUMNS = ["Status", "Path", "Started", "Duration", "Trigger", "Job id"]

    def __init__(self, client: TidemillClient, open_job: Callable[[str], None]) -> None:
        super().__init__()
        self.client = client
        self.open_job = open_job
        lay = QVBoxLayout(self)
        heading = QLabel("Runs")
        heading.setObjectName("heading")
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        hdr = self.table.horizontalHeader()
        hdr.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for col, width in ((0, 90), (2, 160), (3, 90), (4, 90), (5, 290)):
            hdr.resizeSection(col, width)
        self.table.cellClicked.connect(self._clicked)
        self.empty = QLabel("No runs yet.\n\nOpen a script in “Scripts & flows”, fill its form "
                            "and press Run; its job will appear here.")
        self.empty.setObjectName("empty")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.empty)
        lay.addWidget(heading)
        lay.addWidget(self.stack, 1)
        self.jobs: list[dict[str, Any]] = []

    async def refresh(self) -> None:
        self.jobs = await self.client.list_jobs(per_page=100)
        self.table.setRowCount(len(self.jobs))
        for row, job in enumerate(self.jobs):
            cells = [job_status(job), job.get("script_path") or f"({job.get('job_kind')})",
                     _when(job.get("started_at") or job.get("created_at")),
                     _duration(job.get("duration_ms")), job.get("trigger_kind") or "",
                     job["id"]]
            for col, text in enumerate(cells):
                cell = QTableWidgetItem(str(text))
                if col == 0 and text in STATUS_COLOURS:
                    cell.setForeground(QColor(STATUS_COLOURS[text]))
                self.table.setItem(row, col, cell)
        self.stack.setCurrentWidget(self.table if self.jobs else self.empty)

    def _clicked(self, row: int, _col: int) -> None:
        if 0 <= row < len(self.jobs):
            self.open_job(self.jobs[row]["id"])


class JobView(QWidget):
    def __init__(self, client: TidemillClient, back: Callable[[], None]) -> None:
        super().__init__()
        self.client = client
        self.job_id: str | None = None
        lay = QVBoxLayout(self)
        self.back = QPushButton("← All runs")
        self.back.clicked.connect(back)
        self.back.setMaximumWidth(120)
        self.title = QLabel("Job")
        self.title.setObjectName("heading")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.meta = QLabel("")
        self.meta.setObjectName("muted")
        self.args = QPlainTextEdit(readOnly=True)
        self.result = ResultView()
        self.logs = QPlainTextEdit(readOnly=True)
        for w in (self.args, self.logs):
            monospace(w)
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(_titled("Arguments", self.args))
        top.addWidget(_titled("Result", self.result))
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(_titled("Logs", self.logs))
        lay.addWidget(self.back)
        lay.addWidget(self.title)
        lay.addWidget(self.meta)
        lay.addWidget(split, 1)

    async def load(self, job_id: str) -> None:
        self.job_id = job_id
        job = await self.client.get_job(job_id)
        status = job_status(job)
        self.title.setText(f"{job.get('script_path') or job.get('job_kind')} — {status}")
        self.meta.setText(f"job {job['id']} · started {_when(job.get('started_at'))} · "
                          f"{_duration(job.get('duration_ms')) or 'not finished'} · "
                          f"{job.get('language') or ''} · by {job.get('created_by')}")
        self.args.setPlainText(json.dumps(job.get("args") or {}, indent=2))
        if "result" in job:
            self.result.show_result(job.get("result"), status != "failure")
        else:
            self.result.show_message("Not finished yet.")
        self.logs.setPlainText(job.get("logs") or "(no output)")


def _titled(title: str, widget: QWidget) -> QWidget:
    box = QWidget()
    lay = QVBoxLayout(box)
    lay.setContentsMargins(0, 4, 0, 0)
    lbl = QLabel(title)
    lbl.setStyleSheet("font-weight: bold")
    lay.addWidget(lbl)
    lay.addWidget(widget, 1)
    return box
