"""The code editor: line numbers, highlighting, current line, indentation, find/replace.

`CodeEditor` is the text widget; `CodePane` puts it above a find/replace bar and owns the
Ctrl+F / Ctrl+H shortcuts, so a view embeds one `CodePane`.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QRect, QSize, Qt, QTimer
from PySide6.QtGui import (
    QColor,
    QFontDatabase,
    QKeyEvent,
    QKeySequence,
    QPainter,
    QPaintEvent,
    QResizeEvent,
    QShortcut,
    QTextCursor,
    QTextDocument,
    QTextFormat,
)
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from desktop_app.gui.highlighter import PygmentsHighlighter

#: Characters that open an indented block when they end a line, per language family.
_OPENERS = {"python3": (":",), "default": ("{", "(", "[")}
_CURRENT_LINE = {"light": "#eef3fc", "dark": "#232a36"}
_MATCH = {"light": "#ffe58f", "dark": "#6b5a1e"}
_ERROR_LINE = {"light": "#fde2e1", "dark": "#5a2327"}


def current_theme() -> str:
    app = QApplication.instance()
    return str(app.property("tidemill_theme") or "light") if app else "light"


class _Gutter(QWidget):
    def __init__(self, editor: CodeEditor) -> None:
        super().__init__(editor)
        self.editor = editor

    def sizeHint(self) -> QSize:
        return QSize(self.editor.gutter_width(), 0)

    def paintEvent(self, event: QPaintEvent) -> None:
        self.editor.paint_gutter(event)


class CodeEditor(QPlainTextEdit):
    def __init__(self, parent: QWidget | None = None, language: str | None = None) -> None:
        super().__init__(parent)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setPointSize(10)
        self.setFont(font)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setTabStopDistance(4 * self.fontMetrics().horizontalAdvance(" "))
        self.theme = current_theme()
        self.language = language
        self.highlighter = PygmentsHighlighter(self.document(), language, self.theme)
        self._matches: list[QTextEdit.ExtraSelection] = []
        self.error_line: int | None = None
        self._gutter = _Gutter(self)
        self.blockCountChanged.connect(self._update_width)
        self.updateRequest.connect(self._update_gutter)
        self.cursorPositionChanged.connect(self._refresh_selections)
        self._update_width()
        self._refresh_selections()

    # -- language and theme ---------------------------------------------------------------
    def set_language(self, language: str | None) -> None:
        self.language = language
        self.highlighter.set_language(language)

    def set_theme(self, theme: str) -> None:
        self.theme = theme
        self.highlighter.set_theme(theme)
        self._refresh_selections()

    def changeEvent(self, event: QEvent) -> None:
        # The settings can switch the theme while the app runs (a new application palette):
        # the syntax colours and line marks follow it.
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            # apply_theme names the theme after setting the palette: look once it is done
            QTimer.singleShot(0, self, self._follow_theme)

    def _follow_theme(self) -> None:
        if current_theme() != self.theme:
            self.set_theme(current_theme())

    def indent_unit(self) -> str:
        return "\t" if self.language == "go" else ("  " if self.language in
                                                   ("deno", "bun", "nativets") else "    ")

    # -- current line and search matches -----------------------------------------------------
    def mark_error_line(self, line: int | None) -> None:
        """Colour 1-based `line` as the one that failed (None clears it)."""
        self.error_line = line
        self._refresh_selections()

    def set_matches(self, selections: list[QTextEdit.ExtraSelection]) -> None:
        self._matches = selections
        self._refresh_selections()

    def _refresh_selections(self) -> None:
        line = QTextEdit.ExtraSelection()
        line.format.setBackground(QColor(_CURRENT_LINE.get(self.theme, "#eef3fc")))
        line.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
        line.cursor = self.textCursor()
        line.cursor.clearSelection()
        marks = [line]
        block = self.document().findBlockByNumber((self.error_line or 0) - 1)
        if self.error_line and block.isValid():
            failed = QTextEdit.ExtraSelection()
            failed.format.setBackground(QColor(_ERROR_LINE.get(self.theme, "#fde2e1")))
            failed.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
            failed.cursor = QTextCursor(block)
            marks.append(failed)
        self.setExtraSelections([*marks, *self._matches])

    # -- indentation ------------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not event.modifiers() & (
                Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier):
            self._newline_keeping_indent()
            return
        if key == Qt.Key.Key_Tab and not event.modifiers():
            if self.textCursor().hasSelection():
                self.indent_selection(+1)
            else:
                self.insertPlainText(self.indent_unit())
            return
        if key == Qt.Key.Key_Backtab:
            self.indent_selection(-1)
            return
        super().keyPressEvent(event)

    def _newline_keeping_indent(self) -> None:
        cursor = self.textCursor()
        before = cursor.block().text()[:cursor.positionInBlock()]
        indent = before[:len(before) - len(before.lstrip())]
        openers = _OPENERS.get(self.language or "", _OPENERS["default"])
        if before.rstrip().endswith(openers):
            indent += self.indent_unit()
        cursor.insertText("\n" + indent)
        self.setTextCursor(cursor)

    def indent_selection(self, direction: int) -> None:
        """Indent (+1) or dedent (-1) every line the selection touches, as one undo step."""
        cursor = self.textCursor()
        doc = self.document()
        first = doc.findBlock(cursor.selectionStart()).blockNumber()
        last_pos = cursor.selectionEnd()
        last_block = doc.findBlock(last_pos)
        if cursor.hasSelection() and last_pos == last_block.position() and last_block.blockNumber() > first:
            last_block = last_block.previous()  # a selection ending at a line start excludes it
        last = last_block.blockNumber()
        unit = self.indent_unit()
        edit = QTextCursor(doc)
        edit.beginEditBlock()
        for number in range(first, last + 1):
            block = doc.findBlockByNumber(number)
            edit.setPosition(block.position())
            if direction > 0:
                edit.insertText(unit)
                continue
            text = block.text()
            if text.startswith("\t"):
                remove = 1
            else:
                remove = min(len(unit.expandtabs(4)), len(text) - len(text.lstrip(" ")))
            if remove:
                edit.setPosition(block.position() + remove, QTextCursor.MoveMode.KeepAnchor)
                edit.removeSelectedText()
        edit.endEditBlock()
        if first != last or cursor.hasSelection():
            sel = QTextCursor(doc)
            sel.setPosition(doc.findBlockByNumber(first).position())
            end = doc.findBlockByNumber(last)
            sel.setPosition(end.position() + len(end.text()), QTextCursor.MoveMode.KeepAnchor)
            self.setTextCursor(sel)

    # -- the line-number gutter ----------------------------------------------------------------
    def gutter_width(self) -> int:
        digits = max(3, len(str(max(1, self.blockCount()))))
        return 12 + self.fontMetrics().horizontalAdvance("9") * digits

    def _update_width(self, *_: object) -> None:
        self.setViewportMargins(self.gutter_width(), 0, 0, 0)

    def _update_gutter(self, rect: QRect, dy: int) -> None:
        if dy:
            self._gutter.scroll(0, dy)
        else:
            self._gutter.update(0, rect.y(), self._gutter.width(), rect.height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        cr = self.contentsRect()
        self._gutter.setGeometry(QRect(cr.left(), cr.top(), self.gutter_width(), cr.height()))

    def paint_gutter(self, event: QPaintEvent) -> None:
        painter = QPainter(self._gutter)
        pal = self.palette()
        painter.fillRect(event.rect(), pal.alternateBase())
        current = self.textCursor().blockNumber()
        block = self.firstVisibleBlock()
        top = round(self.blockBoundingGeometry(block).translated(self.contentOffset()).top())
        height = self.fontMetrics().height()
        while block.isValid() and top <= event.rect().bottom():
            if block.isVisible():
                painter.setPen(pal.text().color() if block.blockNumber() == current
                               else pal.placeholderText().color())
                painter.drawText(0, top, self._gutter.width() - 6, height,
                                 Qt.AlignmentFlag.AlignRight, str(block.blockNumber() + 1))
            top += round(self.blockBoundingRect(block).height())
            block = block.next()
        painter.end()

    def go_to_line(self, line: int) -> None:
        """Put the cursor at the start of 1-based `line` and show it."""
        block = self.document().findBlockByNumber(max(0, line - 1))
        cursor = QTextCursor(block)
        self.setTextCursor(cursor)
        self.centerCursor()


class FindBar(QWidget):
    """Find (Ctrl+F) and replace (Ctrl+H) in one editor; matches are highlighted."""

    def __init__(self, editor: CodeEditor) -> None:
        super().__init__()
        self.editor = editor
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(4)
        row1, row2 = QHBoxLayout(), QHBoxLayout()
        self.find_text = QLineEdit()
        self.find_text.setPlaceholderText("Find")
        self.find_text.textChanged.connect(self._highlight_all)
        self.find_text.returnPressed.connect(self.find_next)
        self.case = QCheckBox("Aa")
        self.case.setToolTip("Match case")
        self.case.toggled.connect(self._highlight_all)
        self.count = QLabel("")
        self.count.setObjectName("muted")
        self.count.setMinimumWidth(80)
        prev_b, next_b, close_b = QPushButton("↑"), QPushButton("↓"), QPushButton("✕")
        for b, tip in ((prev_b, "Previous match (Shift+Enter)"), (next_b, "Next match (Enter)"),
                       (close_b, "Close (Esc)")):
            b.setToolTip(tip)
            b.setFixedWidth(32)
        prev_b.clicked.connect(self.find_previous)
        next_b.clicked.connect(self.find_next)
        close_b.clicked.connect(self.close_bar)
        row1.addWidget(self.find_text, 1)
        row1.addWidget(self.case)
        row1.addWidget(self.count)
        row1.addWidget(prev_b)
        row1.addWidget(next_b)
        row1.addWidget(close_b)
        self.replace_text = QLineEdit()
        self.replace_text.setPlaceholderText("Replace with")
        self.replace_text.returnPressed.connect(self.replace_one)
        one, every = QPushButton("Replace"), QPushButton("Replace all")
        one.clicked.connect(self.replace_one)
        every.clicked.connect(self.replace_all)
        row2.addWidget(self.replace_text, 1)
        row2.addWidget(one)
        row2.addWidget(every)
        self.replace_row = QWidget()
        self.replace_row.setLayout(row2)
        row2.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(row1)
        lay.addWidget(self.replace_row)
        QShortcut(QKeySequence("Esc"), self, self.close_bar,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        QShortcut(QKeySequence("Shift+Return"), self.find_text, self.find_previous,
                  context=Qt.ShortcutContext.WidgetShortcut)
        self.hide()

    def open(self, replace: bool) -> None:
        selected = self.editor.textCursor().selectedText()
        if selected and "\u2029" not in selected:
            self.find_text.setText(selected)
        self.replace_row.setVisible(replace)
        self.show()
        self.find_text.setFocus()
        self.find_text.selectAll()
        self._highlight_all()

    def close_bar(self) -> None:
        self.hide()
        self.editor.set_matches([])
        self.editor.setFocus()

    def _flags(self, backward: bool = False) -> QTextDocument.FindFlag:
        flags = QTextDocument.FindFlag(0)
        if self.case.isChecked():
            flags |= QTextDocument.FindFlag.FindCaseSensitively
        if backward:
            flags |= QTextDocument.FindFlag.FindBackward
        return flags

    def matches(self) -> list[QTextCursor]:
        needle = self.find_text.text()
        found: list[QTextCursor] = []
        if not needle:
            return found
        doc = self.editor.document()
        cursor = doc.find(needle, 0, self._flags())
        while not cursor.isNull():
            found.append(cursor)
            cursor = doc.find(needle, cursor, self._flags())
        return found

    def _highlight_all(self) -> None:
        colour = QColor(_MATCH.get(self.editor.theme, "#ffe58f"))
        selections = []
        found = self.matches()
        for cursor in found:
            sel = QTextEdit.ExtraSelection()
            sel.format.setBackground(colour)
            sel.cursor = cursor
            selections.append(sel)
        self.editor.set_matches(selections)
        needle = self.find_text.text()
        self.count.setText("" if not needle else
                           ("no match" if not found else f"{len(found)} match"
                            + ("es" if len(found) > 1 else "")))

    def find_next(self) -> bool:
        return self._find(backward=False)

    def find_previous(self) -> bool:
        return self._find(backward=True)

    def _find(self, backward: bool) -> bool:
        needle = self.find_text.text()
        if not needle:
            return False
        doc = self.editor.document()
        found = doc.find(needle, self.editor.textCursor(), self._flags(backward))
        if found.isNull():  # wrap around
            start = QTextCursor(doc)
            if backward:
                start.movePosition(QTextCursor.MoveOperation.End)
            found = doc.find(needle, start, self._flags(backward))
        if found.isNull():
            return False
        self.editor.setTextCursor(found)
        return True

    def _selection_matches(self) -> bool:
        selected = self.editor.textCursor().selectedText()
        needle = self.find_text.text()
        return bool(needle) and (selected == needle if self.case.isChecked()
                                 else selected.lower() == needle.lower())

    def replace_one(self) -> None:
        """Replace the selected match (or the next one) and move on to the following."""
        if not self._selection_matches() and not self.find_next():
            return
        self.editor.textCursor().insertText(self.replace_text.text())
        self.find_next()
        self._highlight_all()

    def replace_all(self) -> int:
        found = self.matches()
        if not found:
            return 0
        edit = QTextCursor(self.editor.document())
        edit.beginEditBlock()
        for cursor in reversed(found):  # from the end so earlier positions stay valid
            cursor.insertText(self.replace_text.text())
        edit.endEditBlock()
        self._highlight_all()
        self.count.setText(f"replaced {len(found)}")
        return len(found)


class CodePane(QWidget):
    """A `CodeEditor` with its find/replace bar underneath."""

    def __init__(self, language: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor = CodeEditor(language=language)
        self.find_bar = FindBar(self.editor)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.editor, 1)
        lay.addWidget(self.find_bar)
        ctx = Qt.ShortcutContext.WidgetWithChildrenShortcut
        QShortcut(QKeySequence.StandardKey.Find, self, lambda: self.find_bar.open(False),
                  context=ctx)
        QShortcut(QKeySequence("Ctrl+H"), self, lambda: self.find_bar.open(True), context=ctx)
