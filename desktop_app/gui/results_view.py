"""A job's result shown the way it reads best: a tree, a table, an image, or the error.

Follows Windmill's rich display conventions: a one-key object `{"png"|"jpeg"|"gif": base64
or {"content": base64}}`, `{"svg": "<svg…>"}`, `{"html": …}`, `{"markdown"|"md": …}`,
`{"file": {"content", "filename"}}`, `{"table-col"|"table-row"|"table-row-object": …}`,
`{"json": …}`, `{"error": {name, message, stack}}` and `{"render_all": [each of those]}`;
a list of objects, a list of lists, or an object whose every value is a list is a table.
`describe(result)` (no Qt) decides which; `ResultView` draws it.

Results come back from jsonb with their keys sorted; the job's `result_columns` (the
script's own order, core/result_columns.py) puts a table's columns and an object's keys
back in the order the script wrote them.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap, QTextCursor, QTextFormat
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QTextEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop_app.gui.code_editor import current_theme

IMAGE_KEYS = ("png", "jpeg", "gif", "svg")
# The script's own frames: Python names it main.py, Deno main.ts, Go main.go (the runtimes
# rewrite their paths so); a path before it (…/script/main.go) is a wrapper's frame.
_STACK_LINE = re.compile(r"main\.py\", line (\d+)|(?<![\w/.])main\.(?:ts|js|go):(\d+)")


def _single(result: Any) -> tuple[str, Any] | None:
    if isinstance(result, dict) and len(result) == 1:
        return next(iter(result.items()))
    return None


def _content(value: Any) -> Any:
    return value.get("content") if isinstance(value, dict) else value


def in_order(keys: list[str], order: list[str] | None) -> list[str]:
    """`keys` in the script's `order`; keys it does not name keep their place after."""
    if not order:
        return keys
    rank = {k: i for i, k in enumerate(order)}
    return sorted(keys, key=lambda k: rank.get(k, len(rank)))  # stable: the rest keep order


def table_of(result: Any,
             order: list[str] | None = None) -> tuple[list[str], list[list[Any]]] | None:
    """(columns, rows) when `result` reads as a table, else None; object keys become
    columns in `order` (the job's result_columns) when given."""
    found = _table_of(result)
    if found is None or not order:
        return found
    cols, rows = found
    if _has_header_row(result):
        return found  # the script's header row gives the order already
    ordered = in_order(cols, order)
    at = [cols.index(c) for c in ordered]
    return ordered, [[row[i] if i < len(row) else None for i in at] for row in rows]


def _has_header_row(result: Any) -> bool:
    one = _single(result)
    rows = one[1] if one and one[0] in ("table-row", "table-row-object") else result
    return isinstance(rows, list) and bool(rows) and isinstance(rows[0], list)


def _table_of(result: Any) -> tuple[list[str], list[list[Any]]] | None:
    one = _single(result)
    if one and one[0] == "table-col" and isinstance(one[1], dict):
        return _table_of(one[1])
    if one and one[0] == "table-row" and isinstance(one[1], list):
        rows = [r for r in one[1] if isinstance(r, list)]
        return ([str(c) for c in rows[0]], rows[1:]) if rows else None
    if one and one[0] == "table-row-object" and isinstance(one[1], list):
        items = one[1]
        header = [str(c) for c in items[0]] if items and isinstance(items[0], list) else None
        objs = [o for o in items if isinstance(o, dict)]
        cols = header or _keys(objs)
        return cols, [[o.get(c) for c in cols] for o in objs]
    if isinstance(result, list) and result:
        if all(isinstance(o, dict) for o in result):
            cols = _keys(result)
            return cols, [[o.get(c) for c in cols] for o in result]
        if isinstance(result[0], list) and all(isinstance(r, list) for r in result):
            return [str(c) for c in result[0]], result[1:]
    if isinstance(result, dict) and result and all(isinstance(v, list) for v in result.values()) \
            and len(result) > 1:
        cols = list(result)
        height = max(len(v) for v in result.values())
        return cols, [[result[c][i] if i < len(result[c]) else None for c in cols]
                      for i in range(height)]
    return None


def _keys(objs: list[dict[str, Any]]) -> list[str]:
    cols: list[str] = []
    for o in objs:
        cols.extend(k for k in o if k not in cols)
    return cols


def describe(result: Any, success: bool = True) -> str:
    """Which display suits `result`: error, image, html, markdown, file, table, render_all,
    tree or text."""
    one = _single(result)
    if isinstance(result, dict) and isinstance(result.get("error"), dict) and (
            not success or one is not None):
        return "error"
    if not success:
        return "error"
    if one:
        key, value = one
        if key in IMAGE_KEYS and isinstance(_content(value), str):
            return "image"
        if key == "html" and isinstance(value, str):
            return "html"
        if key in ("markdown", "md") and isinstance(value, str):
            return "markdown"
        if key == "file" and isinstance(value, dict) and isinstance(value.get("content"), str):
            return "file"
        if key == "render_all" and isinstance(value, list):
            return "render_all"
        if key == "json":
            return "tree" if isinstance(value, dict | list) else "text"
    if table_of(result) is not None:
        return "table"
    if isinstance(result, dict | list):
        return "tree"
    return "text"


def failing_line(stack: str) -> int | None:
    """The line of the script where the error happened (the innermost frame in it)."""
    found = [a or b for a, b in _STACK_LINE.findall(stack or "")]
    if not found:
        return None
    # Python lists the innermost frame last; V8 and Go list it first.
    return int(found[-1] if "most recent call last" in stack else found[0])


def image_of(result: dict[str, Any]) -> QImage:
    key, value = next(iter(result.items()))
    if key == "svg":
        from PySide6.QtSvg import QSvgRenderer

        renderer = QSvgRenderer(QByteArray(str(_content(value)).encode()))
        size = renderer.defaultSize()
        if not renderer.isValid() or size.isEmpty():
            return QImage()
        image = QImage(size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        renderer.render(painter)
        painter.end()
        return image
    try:
        data = base64.b64decode(str(_content(value)), validate=False)
    except (binascii.Error, ValueError):
        return QImage()
    return QImage.fromData(data)


class _Cell(QTableWidgetItem):
    number: float | None = None

    def __lt__(self, other: QTableWidgetItem) -> bool:
        theirs = getattr(other, "number", None)
        if self.number is not None and theirs is not None:
            return self.number < theirs
        if (self.number is None) != (theirs is None):
            return self.number is not None  # numbers before text
        return self.text() < other.text()


def _cell_text(value: Any) -> str:
    """A cell as the JSON showed it: true/false, not Python's True/False."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


class ResultView(QWidget):
    """Shows one result; `show_result(result, success, code)` picks the display."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.result: Any = None
        self.code: str | None = None
        self.columns: list[str] | None = None
        self.mode = "empty"
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        bar = QHBoxLayout()
        self.caption = QLabel("")
        self.caption.setObjectName("muted")
        self.raw_button = QPushButton("JSON")
        self.raw_button.setCheckable(True)
        self.raw_button.setToolTip("Show the result as raw JSON")
        self.raw_button.toggled.connect(self._toggle_raw)
        self.raw_button.setVisible(False)
        bar.addWidget(self.caption, 1)
        bar.addWidget(self.raw_button)
        lay.addLayout(bar)
        self.stack = QStackedWidget()
        lay.addWidget(self.stack, 1)
        self.empty = QLabel("The result appears here after a run.")
        self.empty.setObjectName("empty")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.text = QPlainTextEdit(readOnly=True)
        _monospace(self.text)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Key", "Value"])
        self.tree.setColumnWidth(0, 200)
        self.tree.setAlternatingRowColors(True)
        self.table = QTableWidget()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setSortingEnabled(True)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image_area = QScrollArea()
        self.image_area.setWidgetResizable(True)
        self.image_area.setWidget(self.image)
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(True)
        self.file_box = QWidget()
        fl = QHBoxLayout(self.file_box)
        self.file_label = QLabel("")
        self.file_save = QPushButton("Save as…")
        self.file_save.clicked.connect(self._save_file)
        fl.addWidget(self.file_label, 1)
        fl.addWidget(self.file_save)
        self.error_box = QWidget()
        el = QVBoxLayout(self.error_box)
        el.setContentsMargins(0, 0, 0, 0)
        self.error_title = QLabel("")
        self.error_title.setObjectName("statusErr")
        self.error_title.setWordWrap(True)
        self.error_title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_line = QLabel("")
        self.error_line.setWordWrap(True)
        self.error_line.setTextFormat(Qt.TextFormat.RichText)
        self.error_stack = QPlainTextEdit(readOnly=True)
        # no wrapping: the failing frame's line is highlighted whole
        self.error_stack.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        _monospace(self.error_stack)
        el.addWidget(self.error_title)
        el.addWidget(self.error_line)
        el.addWidget(self.error_stack, 1)
        self.all_box = QWidget()
        self.all_lay = QVBoxLayout(self.all_box)
        self.all_area = QScrollArea()
        self.all_area.setWidgetResizable(True)
        self.all_area.setWidget(self.all_box)
        for w in (self.empty, self.text, self.tree, self.table, self.image_area, self.browser,
                  self.file_box, self.error_box, self.all_area):
            self.stack.addWidget(w)
        self.error_line_number: int | None = None

    def clear(self) -> None:
        self.result, self.mode = None, "empty"
        self.caption.setText("")
        self.raw_button.setVisible(False)
        self.stack.setCurrentWidget(self.empty)

    def show_message(self, text: str) -> None:
        """A line in place of a result (“Running…”, “not finished yet”)."""
        self.clear()
        self.empty.setText(text)

    def show_result(self, result: Any, success: bool = True, code: str | None = None,
                    columns: list[str] | None = None) -> str:
        """`columns`: the job's result_columns, the script's key order (jsonb sorts keys)."""
        self.result, self.code, self.columns = result, code, columns
        self.mode = describe(result, success)
        self.raw_button.blockSignals(True)
        self.raw_button.setChecked(False)
        self.raw_button.blockSignals(False)
        self.raw_button.setVisible(self.mode not in ("text", "empty"))
        getattr(self, f"_show_{self.mode.replace('-', '_')}")(result, code)
        return self.mode

    def _toggle_raw(self, raw: bool) -> None:
        if raw:
            shown = self.result
            if isinstance(shown, dict) and self.columns:
                shown = {k: shown[k] for k in in_order(list(shown), self.columns)}
            self.text.setPlainText(json.dumps(shown, indent=2, default=str))
            self.stack.setCurrentWidget(self.text)
        else:
            self.show_result(self.result, self.mode != "error", self.code, self.columns)

    # -- each display ----------------------------------------------------------------------
    def _show_text(self, result: Any, _code: str | None) -> None:
        self.caption.setText("Result")
        self.text.setPlainText(result if isinstance(result, str)
                               else json.dumps(result, indent=2, default=str))
        self.stack.setCurrentWidget(self.text)

    def _show_tree(self, result: Any, _code: str | None) -> None:
        one = _single(result)
        value = one[1] if one and one[0] == "json" else result
        self.tree.clear()
        if isinstance(value, dict) and self.columns:
            value = {k: value[k] for k in in_order(list(value), self.columns)}
        self._add_children(self.tree.invisibleRootItem(), value, depth=0)
        self.caption.setText(_summary(value))
        self.stack.setCurrentWidget(self.tree)

    def _add_children(self, parent: QTreeWidgetItem, value: Any, depth: int) -> None:
        pairs = value.items() if isinstance(value, dict) else enumerate(value)
        for key, child in pairs:
            item = QTreeWidgetItem([str(key), _summary(child) if isinstance(child, dict | list)
                                    else json.dumps(child, default=str)])
            item.setToolTip(1, item.text(1))
            parent.addChild(item)
            if isinstance(child, dict | list):
                self._add_children(item, child, depth + 1)
                item.setExpanded(depth < 1 and len(child) <= 50)

    def _show_table(self, result: Any, _code: str | None) -> None:
        cols, rows = table_of(result, self.columns) or ([], [])
        self.table.setSortingEnabled(False)
        self.table.clear()
        self.table.setColumnCount(len(cols))
        self.table.setRowCount(len(rows))
        self.table.setHorizontalHeaderLabels(cols)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                item = _Cell(_cell_text(value))
                if isinstance(value, int | float) and not isinstance(value, bool):
                    item.number = float(value)  # sorts as a number, shows as the JSON did
                self.table.setItem(r, c, item)
        self.table.setSortingEnabled(True)
        self.table.resizeColumnsToContents()
        self.caption.setText(f"{len(rows)} row{'s' if len(rows) != 1 else ''} · "
                             "click a column to sort")
        self.stack.setCurrentWidget(self.table)

    def _show_image(self, result: Any, _code: str | None) -> None:
        image = image_of(result)
        key = next(iter(result))
        if image.isNull():
            self.caption.setText(f"{key} image")
            self.empty.setText(f"The {key} result could not be decoded as an image.")
            self.stack.setCurrentWidget(self.empty)
            return
        self.image.setPixmap(QPixmap.fromImage(image))
        self.caption.setText(f"{key.upper()} image · {image.width()} x {image.height()} px")
        self.stack.setCurrentWidget(self.image_area)

    def _show_html(self, result: Any, _code: str | None) -> None:
        self.browser.setHtml(result["html"])
        self.caption.setText("HTML")
        self.stack.setCurrentWidget(self.browser)

    def _show_markdown(self, result: Any, _code: str | None) -> None:
        self.browser.setMarkdown(next(iter(result.values())))
        self.caption.setText("Markdown")
        self.stack.setCurrentWidget(self.browser)

    def _show_file(self, result: Any, _code: str | None) -> None:
        f = result["file"]
        name = f.get("filename") or "result.bin"
        try:
            self._file_bytes = base64.b64decode(f["content"])
        except (binascii.Error, ValueError):
            self._file_bytes = f["content"].encode()
        self._file_name = name
        self.file_label.setText(f"📄 {name} · {len(self._file_bytes)} bytes")
        self.caption.setText("File")
        self.stack.setCurrentWidget(self.file_box)

    def _save_file(self) -> None:
        out, _ = QFileDialog.getSaveFileName(self, "Save the file", self._file_name)
        if out:
            Path(out).write_bytes(self._file_bytes)

    def _show_error(self, result: Any, code: str | None) -> None:
        err = result.get("error") if isinstance(result, dict) else None
        if not isinstance(err, dict):
            err = {"name": "Error", "message": json.dumps(result, default=str)}
        name, message = str(err.get("name") or "Error"), str(err.get("message") or "")
        # the job's folder (…/jobs/<id>/main.py) tells the user nothing: show the file name
        stack = re.sub(r'"[^"\n]*/main\.py"', '"main.py"', str(err.get("stack") or ""))
        self.error_title.setText(f"{name}: {message}")
        self.error_stack.setPlainText(stack or "(no stack trace)")
        line = self.error_line_number = failing_line(stack)
        self.error_stack.setExtraSelections([])
        if line is not None:
            source = ""
            if code:
                lines = code.splitlines()
                source = lines[line - 1].strip() if 0 < line <= len(lines) else ""
            shown = f": <code>{_html(source)}</code>" if source else ""
            self.error_line.setText(f"Failed at line <b>{line}</b> of the script{shown}")
            self._mark_stack_line(line)
        else:
            self.error_line.setText("")
        self.error_line.setVisible(line is not None)
        self.caption.setText("Error")
        self.stack.setCurrentWidget(self.error_box)

    def _mark_stack_line(self, line: int) -> None:
        """Highlight the stack's frames that point at `line` of the script."""
        selections = []
        colour = QColor("#5a2327" if current_theme() == "dark" else "#fde2e1")
        doc = self.error_stack.document()
        block = doc.begin()
        while block.isValid():
            hits = [int(a or b) for a, b in _STACK_LINE.findall(block.text())]
            if line in hits:
                sel = QTextEdit.ExtraSelection()
                sel.format.setBackground(colour)
                sel.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
                sel.cursor = QTextCursor(block)
                selections.append(sel)
            block = block.next()
        self.error_stack.setExtraSelections(selections)

    def _show_render_all(self, result: Any, code: str | None) -> None:
        while self.all_lay.count():
            item = self.all_lay.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        parts = result["render_all"]
        for part in parts:
            view = ResultView()
            view.setMinimumHeight(160)
            view.show_result(part, True, code)
            self.all_lay.addWidget(view)
        self.all_lay.addStretch(1)
        self.caption.setText(f"{len(parts)} results")
        self.stack.setCurrentWidget(self.all_area)


def _summary(value: Any) -> str:
    if isinstance(value, dict):
        return f"{{{len(value)} key{'s' if len(value) != 1 else ''}}}"
    if isinstance(value, list):
        return f"[{len(value)} item{'s' if len(value) != 1 else ''}]"
    return "Result"


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _monospace(widget: QWidget) -> None:
    from PySide6.QtGui import QFontDatabase

    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setPointSize(10)
    widget.setFont(font)
