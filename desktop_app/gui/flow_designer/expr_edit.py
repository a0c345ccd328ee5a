"""A one-line JavaScript expression editor completing `flow_input.<name>` and
`results.<id>` (and `iter.value` inside loops) at the word under the cursor."""

from __future__ import annotations

import re

from PySide6.QtCore import QStringListModel, Qt
from PySide6.QtGui import QFontDatabase, QKeyEvent
from PySide6.QtWidgets import QCompleter, QLineEdit, QWidget

_WORD = re.compile(r"[A-Za-z_$][\w$.]*$")


class ExprEdit(QLineEdit):
    def __init__(self, names: list[str], text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.setFont(font)
        self.setPlaceholderText("JavaScript, e.g. flow_input.name or results.a")
        self.names = names
        self.completer_ = QCompleter(QStringListModel(names), self)
        self.completer_.setWidget(self)
        self.completer_.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer_.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.completer_.activated.connect(self.insert_completion)
        self.textEdited.connect(self._update_popup)

    def word(self) -> str:
        match = _WORD.search(self.text()[:self.cursorPosition()])
        return match.group(0) if match else ""

    def _update_popup(self, _text: str) -> None:
        word = self.word()
        popup = self.completer_.popup()
        if not word:
            if popup is not None:
                popup.hide()
            return
        self.completer_.setCompletionPrefix(word)
        if self.completer_.completionCount() == 0 or (
                self.completer_.completionCount() == 1
                and self.completer_.currentCompletion() == word):
            if popup is not None:
                popup.hide()
            return
        rect = self.cursorRect()
        rect.setWidth(260)
        self.completer_.complete(rect)

    def insert_completion(self, completion: str) -> None:
        pos = self.cursorPosition()
        word = self.word()
        text = self.text()
        self.setText(text[:pos - len(word)] + completion + text[pos:])
        self.setCursorPosition(pos - len(word) + len(completion))
        self.editingFinished.emit()

    def completions_for(self, prefix: str) -> list[str]:
        """What the popup would offer for `prefix` (for tests and the status line)."""
        return [n for n in self.names if n.lower().startswith(prefix.lower())]

    def keyPressEvent(self, event: QKeyEvent) -> None:
        popup = self.completer_.popup()
        if popup is not None and popup.isVisible() and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter,
                                                  Qt.Key.Key_Tab):
            event.ignore()
            return
        super().keyPressEvent(event)
