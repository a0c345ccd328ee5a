"""Home: the scripts and flows of the workspace in a tree by folder, with search as you type."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
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

PATH_ROLE = Qt.ItemDataRole.UserRole
KIND_ROLE = Qt.ItemDataRole.UserRole + 1


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
        self.search.setPlaceholderText("Search by path or summary…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._fill)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Name", "Language", "Summary"])
        self.tree.setAlternatingRowColors(True)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.tree.header().resizeSection(0, 320)
        self.tree.header().resizeSection(1, 120)
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
        self.on_new_script: Callable[[str, str], None] | None = None
        self.new_button = QPushButton("New script…")
        self.new_button.setToolTip("Write a new script: choose its path and language")
        self.new_button.clicked.connect(self.open_new_script_dialog)
        top = QHBoxLayout()
        top.addWidget(heading, 1)
        top.addWidget(self.new_button)
        lay.addLayout(top)
        lay.addWidget(self.search)
        lay.addWidget(self.stack, 1)

    async def refresh(self) -> None:
        scripts = await self.client.list_scripts()
        flows = await self.client.list_flows()
        self.items = ([{**s, "kind": "script"} for s in scripts]
                      + [{**f, "kind": "flow", "language": "flow"} for f in flows])
        self._fill()

    def _fill(self) -> None:
        needle = self.search.text().strip().lower()
        self.tree.clear()
        folders: dict[str, QTreeWidgetItem] = {}
        shown = 0
        for item in sorted(self.items, key=lambda i: i["path"]):
            path, summary = item["path"], item.get("summary") or ""
            if needle and needle not in path.lower() and needle not in summary.lower():
                continue
            parts = path.split("/")
            parent: QTreeWidget | QTreeWidgetItem = self.tree
            for depth in range(1, len(parts)):
                key = "/".join(parts[:depth])
                if key not in folders:
                    node = QTreeWidgetItem([parts[depth - 1] + "/", "", ""])
                    node.setExpanded(True)
                    (parent.addTopLevelItem(node) if isinstance(parent, QTreeWidget)
                     else parent.addChild(node))
                    node.setExpanded(True)
                    folders[key] = node
                parent = folders[key]
            leaf = QTreeWidgetItem([parts[-1], item.get("language") or "", summary])
            leaf.setData(0, PATH_ROLE, path)
            leaf.setData(0, KIND_ROLE, item["kind"])
            leaf.setToolTip(0, path)
            (parent.addTopLevelItem(leaf) if isinstance(parent, QTreeWidget)
             else parent.addChild(leaf))
            shown += 1
        if shown:
            self.stack.setCurrentWidget(self.tree)
        elif needle:
            self.empty.setText(f"Nothing matches “{needle}”. Clear the search to see everything.")
            self.stack.setCurrentWidget(self.empty)
        else:
            self.empty.setText("No scripts or flows yet.\n\nDeploy one with "
                               "`tidemill deploy script.py --path f/folder/name`, or import a "
                               "Windmill folder with `tidemill import DIR`.")
            self.stack.setCurrentWidget(self.empty)

    def visible_paths(self) -> list[str]:
        out: list[str] = []

        def walk(node: QTreeWidgetItem | None) -> None:
            if node is None:
                return
            if node.data(0, PATH_ROLE):
                out.append(node.data(0, PATH_ROLE))
            for i in range(node.childCount()):
                walk(node.child(i))
        for i in range(self.tree.topLevelItemCount()):
            walk(self.tree.topLevelItem(i))
        return out

    def open_new_script_dialog(self) -> QDialog:
        from desktop_app.gui.script_view import NewScriptDialog

        self.new_dialog = NewScriptDialog(self)
        self.new_dialog.accepted.connect(lambda: self.on_new_script and self.on_new_script(
            self.new_dialog.path.text().strip(), self.new_dialog.language.currentText()))
        self.new_dialog.open()
        return self.new_dialog

    def _activated(self, item: QTreeWidgetItem, _col: int = 0) -> None:
        path = item.data(0, PATH_ROLE)
        if path:
            self.open_item(item.data(0, KIND_ROLE), path)
