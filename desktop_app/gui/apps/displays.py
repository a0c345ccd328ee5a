"""Components that show data: text, markdown, table, JSON viewer, image."""

from __future__ import annotations

import base64
import json
from typing import Any

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QFont, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTableWidget,
    QTableWidgetItem,
)

from desktop_app.apps.model import Component
from desktop_app.gui.apps.base import ComponentView, Host

_ROW = Qt.ItemDataRole.UserRole


def shown_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


class TextView(ComponentView):
    def __init__(self, component: Component, host: Host) -> None:
        super().__init__(component, host)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        if component.type == "markdown":
            self.text.setTextFormat(Qt.TextFormat.MarkdownText)
        else:
            self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.text.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.outer.addWidget(self.text, 1)
        self.finish()

    def update_body(self) -> None:
        self.text.setText(shown_text(self.prop("text")))


class _Item(QTableWidgetItem):
    """Sorts numbers as numbers."""

    def __lt__(self, other: QTableWidgetItem) -> bool:
        a, b = self.data(Qt.ItemDataRole.EditRole + 100), other.data(
            Qt.ItemDataRole.EditRole + 100)
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            return a < b
        return super().__lt__(other)


class TableView(ComponentView):
    """A list of objects: searchable, sortable by a header click, one row selectable."""

    def __init__(self, component: Component, host: Host) -> None:
        super().__init__(component, host)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search…")
        self.search.textChanged.connect(self._filter)
        self.outer.addWidget(self.search)
        self.table = QTableWidget()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._selected)
        self.outer.addWidget(self.table, 1)
        self.rows: list[Any] = []
        self.finish()

    def update_body(self) -> None:
        data = self.prop("data")
        rows = data if isinstance(data, list) else []
        if data is not None and not isinstance(data, list):
            self.prop_errors["data"] = f"expected a list of objects, got {type(data).__name__}"
        self.search.setVisible(bool(self.prop("searchable")))
        self.table.setSortingEnabled(False)
        selectable = bool(self.prop("selectable"))
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection if
                                    selectable else QAbstractItemView.SelectionMode.NoSelection)
        if rows == self.rows and self.table.rowCount() == len(rows):
            self.table.setSortingEnabled(bool(self.prop("sortable")))
            return
        self.rows = rows
        columns = self.prop("columns")
        if not isinstance(columns, list) or not columns:
            columns = []
            for row in rows:
                for key in row if isinstance(row, dict) else ["value"]:
                    if key not in columns:
                        columns.append(key)
        self.table.blockSignals(True)
        self.table.clear()
        self.table.setColumnCount(len(columns))
        self.table.setHorizontalHeaderLabels([str(c) for c in columns])
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, key in enumerate(columns):
                value = row.get(key) if isinstance(row, dict) else row
                item = _Item(shown_text(value))
                item.setData(Qt.ItemDataRole.EditRole + 100, value)
                item.setData(_ROW, r)
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight |
                                          Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        # Columns share the width; the user can still drag them.
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.blockSignals(False)
        self.table.setSortingEnabled(bool(self.prop("sortable")))
        self._filter(self.search.text())
        state = self.host.session.state.values[self.component.id]
        if state.get("selectedRow") is not None:
            self.host.set_value(self.component.id, "selectedRow", None)
            self.host.set_value(self.component.id, "selectedRowIndex", None)

    def _filter(self, text: str) -> None:
        needle = text.strip().lower()
        for r in range(self.table.rowCount()):
            cells = [self.table.item(r, c) for c in range(self.table.columnCount())]
            hit = not needle or any(i is not None and needle in i.text().lower() for i in cells)
            self.table.setRowHidden(r, not hit)
        self.host.set_value(self.component.id, "search", text)

    def _selected(self) -> None:
        items = self.table.selectedItems()
        index = items[0].data(_ROW) if items else None
        row = self.rows[index] if index is not None and index < len(self.rows) else None
        self.host.set_value(self.component.id, "selectedRowIndex", index)
        self.host.set_value(self.component.id, "selectedRow", row)

    def visible_rows(self) -> list[list[str]]:
        """The cells shown, top to bottom, in the current sort and search (for tests)."""
        return [[(item.text() if (item := self.table.item(r, c)) is not None else "")
                 for c in range(self.table.columnCount())]
                for r in range(self.table.rowCount()) if not self.table.isRowHidden(r)]

    def select_row(self, visible_index: int) -> None:
        shown = [r for r in range(self.table.rowCount()) if not self.table.isRowHidden(r)]
        self.table.selectRow(shown[visible_index])


class JsonView(ComponentView):
    def __init__(self, component: Component, host: Host) -> None:
        super().__init__(component, host)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setFont(QFont("monospace"))
        self.outer.addWidget(self.text, 1)
        self.finish()

    def update_body(self) -> None:
        data = self.prop("data")
        self.text.setPlaceholderText("nothing to show yet")
        self.text.setPlainText("" if data is None else
                               json.dumps(data, indent=2, ensure_ascii=False))


class ImageView(ComponentView):
    """A data: URL or base64 image; an http(s) URL is fetched by Qt's network stack."""

    def __init__(self, component: Component, host: Host) -> None:
        super().__init__(component, host)
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setMinimumSize(1, 1)
        self.outer.addWidget(self.image, 1)
        self.pixmap = QPixmap()
        self._source: Any = None
        self.finish()

    def update_body(self) -> None:
        source = self.prop("source")
        if source == self._source:
            return
        self._source = source
        self.pixmap = QPixmap()
        text = str(source or "")
        if text.startswith(("http://", "https://")):
            self._fetch(text)
            return
        if text.startswith("data:"):
            text = text.split(",", 1)[-1]
        try:
            self.pixmap.loadFromData(QByteArray(base64.b64decode(text, validate=True)))
        except ValueError:
            pass
        self._show()

    def _fetch(self, url: str) -> None:
        from PySide6.QtCore import QUrl
        from PySide6.QtNetwork import QNetworkAccessManager, QNetworkRequest

        self._manager = getattr(self, "_manager", None) or QNetworkAccessManager(self)
        reply = self._manager.get(QNetworkRequest(QUrl(url)))

        def done() -> None:
            self.pixmap.loadFromData(reply.readAll())
            reply.deleteLater()
            self._show()

        reply.finished.connect(done)
        self.image.setText("loading image…")

    def _show(self) -> None:
        if self.pixmap.isNull():
            self.image.setText("no image" if not self._source else "cannot show this image")
            return
        mode = Qt.AspectRatioMode.KeepAspectRatioByExpanding if self.prop("fit") == "cover" \
            else Qt.AspectRatioMode.KeepAspectRatio
        self.image.setPixmap(self.pixmap.scaled(self.image.size(), mode,
                                                Qt.TransformationMode.SmoothTransformation))

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        if not self.pixmap.isNull():
            self._show()
