"""Home: everything in the workspace (scripts, flows, schedules, resources, variables) in a
tree by folder (`u/…`, `f/…`), with search as you type, a language badge, the summary
and how the last run went."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import Any

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop_app.client.http import TidemillClient
from desktop_app.gui.run_chart import OUTCOME_COLOURS

PATH_ROLE = Qt.ItemDataRole.UserRole
KIND_ROLE = Qt.ItemDataRole.UserRole + 1

# (badge text, colour) per language or kind: readable at 16 px in both themes.
BADGES = {"python3": ("Py", "#3572A5"), "deno": ("TS", "#2f74c0"), "bun": ("TS", "#2f74c0"),
          "nativets": ("TS", "#2f74c0"), "typescript": ("TS", "#2f74c0"),
          "go": ("Go", "#00ADD8"), "bash": ("$_", "#4a5a3a"), "powershell": ("PS", "#012456"),
          "postgresql": ("SQL", "#336791"), "mysql": ("SQL", "#00758f"),
          "flow": ("Fl", "#7c4dff"), "app": ("Ap", "#d9480f"), "schedule": ("Sc", "#c98a1a"),
          "resource": ("R", "#0f8a6d"), "variable": ("$", "#8a5a00"),
          "secret": ("••", "#8a5a00")}
KIND_LABELS = {"schedule": "schedule", "resource": "resource", "variable": "variable",
               "flow": "flow", "app": "app"}


@lru_cache(maxsize=64)
def badge_icon(key: str) -> QIcon:
    """A small rounded badge with the language's short name (no icon files to ship)."""
    text, colour = BADGES.get(key, (key[:2].title() or "?", "#6b7280"))
    pm = QPixmap(32, 32)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setBrush(QColor(colour))
    p.setPen(Qt.PenStyle.NoPen)
    p.drawRoundedRect(QRectF(1, 1, 30, 30), 7, 7)
    font = QFont()
    font.setBold(True)
    font.setPixelSize(15 if len(text) <= 2 else 11)
    p.setFont(font)
    p.setPen(QColor("#ffffff"))
    p.drawText(QRectF(0, 0, 32, 32), Qt.AlignmentFlag.AlignCenter, text)
    p.end()
    return QIcon(pm)


def _schedule_summary(s: dict[str, Any]) -> str:
    from desktop_app.scheduler.describe import CronDescribeError, describe

    try:
        when = describe(s["schedule"])
    except CronDescribeError:
        when = s["schedule"]
    return f"{when} → {s['script_path']}" + ("" if s["enabled"] else "  (disabled)")


def short_when(ts: str | None) -> str:
    """`14:03` today, `Nov 24 14:03` before: the last-run column stays narrow."""
    if not ts:
        return ""
    try:
        when = datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone()
    except ValueError:
        return ts
    return when.strftime("%H:%M" if when.date() == datetime.now().astimezone().date()
                         else "%b %d %H:%M")


class WorkspaceView(QWidget):
    def __init__(self, client: TidemillClient, open_item: Callable[[str, str], None]) -> None:
        super().__init__()
        self.client = client
        self.open_item = open_item
        self.items: list[dict[str, Any]] = []
        lay = QVBoxLayout(self)
        heading = QLabel("Scripts & flows")
        heading.setObjectName("heading")
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search scripts, flows, schedules, resources, variables "
                                       "by path or summary…  (Ctrl+K)")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._fill)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Name", "Kind", "Summary", "Last run"])
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        hdr = self.tree.header()
        hdr.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        hdr.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        hdr.setStretchLastSection(False)
        hdr.resizeSection(0, 300)
        hdr.resizeSection(1, 110)
        hdr.resizeSection(3, 170)
        self.tree.itemActivated.connect(self._activated)
        self.tree.itemClicked.connect(self._activated)
        self.empty = QLabel()
        self.empty.setObjectName("empty")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.tree)
        self.stack.addWidget(self.empty)
        #: set by the window: called with (path, language) when the user creates a script
        self.on_new_script: Callable[[str, str], Any] | None = None
        self.new_button = QPushButton("New script…")
        self.new_button.setToolTip("Write a new script: choose its path and language")
        self.new_button.clicked.connect(self.open_new_script_dialog)
        #: set by the window: called with the path when the user creates a flow
        self.on_new_flow: Callable[[str], Any] | None = None
        self.new_flow_button = QPushButton("New flow…")
        self.new_flow_button.setToolTip("Build a new flow in the designer: choose its path")
        self.new_flow_button.clicked.connect(self.ask_new_flow)
        top = QHBoxLayout()
        top.addWidget(heading, 1)
        top.addWidget(self.new_button)
        top.addWidget(self.new_flow_button)
        self.new_app_button = QPushButton("New app…")
        self.new_app_button.setToolTip("Build a new app (components bound to scripts and "
                                       "flows): choose its path")
        self.new_app_button.clicked.connect(self.ask_new_app)
        top.addWidget(self.new_app_button)
        lay.addLayout(top)
        lay.addWidget(self.search)
        lay.addWidget(self.stack, 1)

    async def refresh(self) -> None:
        c = self.client
        # One round of parallel requests, not seven in a row: the tree fills sooner at start.
        scripts, flows, schedules, resources, variables, apps, recent = await asyncio.gather(
            c.list_scripts(), c.list_flows(), c.list_schedules(), c.list_resources(),
            c.list_variables(), c.list_apps(),
            c.list_jobs(per_page=500))  # recent: each path's last run
        last: dict[str, dict[str, Any]] = {}
        for job in recent:
            if job.get("script_path") and not job.get("parent_job"):
                last.setdefault(job["script_path"], job)
        self.items = (
            [{**s, "kind": "script", "badge": s.get("language") or "",
              "kind_label": s.get("language") or "script"} for s in scripts]
            + [{**f, "kind": "flow", "badge": "flow", "kind_label": "flow"} for f in flows]
            + [{"path": a["path"], "summary": a.get("summary") or "", "kind": "app",
                "badge": "app", "kind_label": "app"} for a in apps]
            + [{"path": s["path"], "summary": s.get("summary") or _schedule_summary(s),
                "kind": "schedule", "badge": "schedule", "kind_label": "schedule"}
               for s in schedules]
            + [{"path": r["path"], "summary": r.get("description") or "", "kind": "resource",
                "badge": "resource", "kind_label": r["resource_type"]} for r in resources]
            + [{"path": v["path"], "summary": v.get("description") or "", "kind": "variable",
                "badge": "secret" if v["is_secret"] else "variable",
                "kind_label": "secret" if v["is_secret"] else "variable"} for v in variables])
        for item in self.items:
            item["last_job"] = last.get(item["path"]) if item["kind"] in ("script", "flow") \
                else None
        self._fill()

    def _fill(self) -> None:
        from desktop_app.gui.runs_view import _when, job_status

        needle = self.search.text().strip().lower()
        self.tree.setUpdatesEnabled(False)
        self.tree.clear()
        folders: dict[str, QTreeWidgetItem] = {}
        shown = 0
        for item in sorted(self.items, key=lambda i: (i["path"], i["kind"])):
            path, summary = item["path"], item.get("summary") or ""
            if needle and needle not in path.lower() and needle not in summary.lower() \
                    and needle not in item["kind_label"].lower():
                continue
            parts = path.split("/")
            parent: QTreeWidget | QTreeWidgetItem = self.tree
            for depth in range(1, len(parts)):
                key = "/".join(parts[:depth])
                if key not in folders:
                    node = QTreeWidgetItem([parts[depth - 1] + "/", "", "", ""])
                    (parent.addTopLevelItem(node) if isinstance(parent, QTreeWidget)
                     else parent.addChild(node))
                    node.setExpanded(True)
                    folders[key] = node
                parent = folders[key]
            run = item.get("last_job")
            run_text = ""
            leaf = QTreeWidgetItem([parts[-1], item["kind_label"], summary, ""])
            if run:
                status = job_status(run)
                run_text = f"{status} · {short_when(run.get('created_at'))}"
                leaf.setText(3, run_text)
                leaf.setToolTip(3, f"{status} at {_when(run.get('created_at'))}")
                leaf.setForeground(3, QColor(OUTCOME_COLOURS.get(status, "#8a8f98")))
            leaf.setIcon(0, badge_icon(item["badge"]))
            leaf.setData(0, PATH_ROLE, path)
            leaf.setData(0, KIND_ROLE, item["kind"])
            leaf.setToolTip(0, f"{item['kind']} {path}")
            leaf.setToolTip(2, summary)
            (parent.addTopLevelItem(leaf) if isinstance(parent, QTreeWidget)
             else parent.addChild(leaf))
            shown += 1
        self.tree.setUpdatesEnabled(True)
        if shown:
            self.stack.setCurrentWidget(self.tree)
        elif needle:
            self.empty.setText(f"Nothing matches “{needle}”. Clear the search to see everything.")
            self.stack.setCurrentWidget(self.empty)
        else:
            self.empty.setText("Nothing in this workspace yet.\n\nPress “New script…” (or "
                               "“New flow…”) above to write one here; or deploy from a "
                               "terminal with `tidemill deploy script.py --path "
                               "f/folder/name`, or import a Windmill folder with "
                               "`tidemill import DIR`.")
            self.stack.setCurrentWidget(self.empty)

    def visible_paths(self, kind: str | None = "script,flow") -> list[str]:
        """Paths shown in the tree (by default scripts and flows; kind=None: everything)."""
        kinds = set(kind.split(",")) if kind else None
        out: list[str] = []

        def walk(node: QTreeWidgetItem | None) -> None:
            if node is None:
                return
            if node.data(0, PATH_ROLE) and (kinds is None or node.data(0, KIND_ROLE) in kinds):
                out.append(node.data(0, PATH_ROLE))
            for i in range(node.childCount()):
                walk(node.child(i))
        for i in range(self.tree.topLevelItemCount()):
            walk(self.tree.topLevelItem(i))
        return out

    def row_of(self, path: str, kind: str) -> list[str] | None:
        """The texts of the tree row for `path` of `kind` (for tests and screenshots)."""
        found: list[str] | None = None

        def walk(node: QTreeWidgetItem | None) -> None:
            nonlocal found
            if node is None:
                return
            if node.data(0, PATH_ROLE) == path and node.data(0, KIND_ROLE) == kind:
                found = [node.text(c) for c in range(4)]
            for i in range(node.childCount()):
                walk(node.child(i))
        for i in range(self.tree.topLevelItemCount()):
            walk(self.tree.topLevelItem(i))
        return found

    def open_new_script_dialog(self) -> QDialog:
        from desktop_app.gui.script_view import NewScriptDialog

        self.new_dialog = NewScriptDialog(self)
        self.new_dialog.accepted.connect(lambda: self.on_new_script and self.on_new_script(
            self.new_dialog.path.text().strip(), self.new_dialog.language.currentText()))
        self.new_dialog.open()
        return self.new_dialog

    def ask_new_flow(self) -> None:
        from PySide6.QtWidgets import QInputDialog

        path, ok = QInputDialog.getText(self, "New flow", "Path of the new flow "
                                        "(f/folder/name or u/user/name):", text="f/")
        path = path.strip()
        if ok and path and self.on_new_flow:
            self.on_new_flow(path)

    def ask_new_app(self) -> None:
        from PySide6.QtWidgets import QInputDialog

        path, ok = QInputDialog.getText(self, "New app", "Path of the new app "
                                        "(f/folder/name or u/user/name):", text="f/")
        path = path.strip()
        if ok and path:
            self.open_item("app-builder", path)

    def _activated(self, item: QTreeWidgetItem, _col: int = 0) -> None:
        path = item.data(0, PATH_ROLE)
        if path:
            self.open_item(item.data(0, KIND_ROLE), path)
