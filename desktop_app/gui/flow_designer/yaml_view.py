"""The flow as YAML, editable: applying it replaces the graph in one undoable command, and a
mistake is shown with its line highlighted, leaving the graph as it was."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QColor, QTextCursor, QTextFormat
from PySide6.QtWidgets import QLabel, QTextEdit, QVBoxLayout, QWidget

from desktop_app.core.errors import UsageError
from desktop_app.flowgraph.model import FlowDocument, YamlError, load_yaml
from desktop_app.gui.code_editor import CodeEditor
from desktop_app.gui.flow_designer.items import theme
from desktop_app.gui.theme import colours


class YamlView(QWidget):
    def __init__(self) -> None:
        super().__init__()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.error = QLabel("")
        self.error.setObjectName("fieldError")
        self.error.setWordWrap(True)
        self.error.setVisible(False)
        lay.addWidget(self.error)
        self.editor = CodeEditor()
        self.editor.setObjectName("flowYaml")
        lay.addWidget(self.editor, 1)
        self.shown = ""

    def show_text(self, text: str) -> None:
        self.shown = text
        self.editor.setPlainText(text)
        self.show_error(None)

    def changed(self) -> bool:
        return self.editor.toPlainText() != self.shown

    def parsed(self) -> dict[str, Any] | None:
        """The edited flow, or None after showing what is wrong (and where)."""
        try:
            flow = load_yaml(self.editor.toPlainText())
            FlowDocument(flow)
        except YamlError as exc:
            self.show_error(exc.message, exc.line)
            return None
        except UsageError as exc:
            self.show_error(exc.message, None)
            return None
        self.show_error(None)
        return flow

    def show_error(self, message: str | None, line: int | None = None) -> None:
        self.error.setVisible(message is not None)
        self.error.setText(f"⚠ {message}" if message else "")
        selections = []
        if line is not None:
            sel = QTextEdit.ExtraSelection()
            colour = QColor(colours(theme())["error"])
            colour.setAlpha(60)
            sel.format.setBackground(colour)
            sel.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
            block = self.editor.document().findBlockByNumber(max(0, line - 1))
            cursor = QTextCursor(block)
            sel.cursor = cursor
            selections.append(sel)
            self.editor.setTextCursor(cursor)
            self.editor.centerCursor()
        self.editor.setExtraSelections(selections)

    def error_line(self) -> int | None:
        sels = self.editor.extraSelections()
        return sels[0].cursor.blockNumber() + 1 if sels else None
