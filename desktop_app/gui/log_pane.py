"""A read-only log that takes text as fast as it streams in without freezing the window.

Incoming text is queued and written in slices on a short timer: one huge chunk (a job
that printed 10,000 lines between two flushes) becomes many small inserts, each of which
leaves the event loop free for input and painting in between.
"""

from __future__ import annotations

from collections import deque

from PySide6.QtCore import QTimer
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QPlainTextEdit

SLICE_CHARS = 16_000  # per timer tick: a few ms of layout work
TICK_MS = 10


class LogPane(QPlainTextEdit):
    def __init__(self) -> None:
        super().__init__()
        self.setReadOnly(True)
        self.setUndoRedoEnabled(False)  # an undo stack of every log chunk is pure cost
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)  # wrapping re-lays out lines
        self._pending: deque[str] = deque()
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._drain)
        self.placeholder = "(no output)"

    def clear_log(self) -> None:
        self._pending.clear()
        self._timer.stop()
        self.clear()

    def set_log(self, text: str) -> None:
        self.clear_log()
        self.append_log(text)
        if not text:
            self.setPlaceholderText(self.placeholder)

    def append_log(self, text: str) -> None:
        if not text:
            return
        for start in range(0, len(text), SLICE_CHARS):
            self._pending.append(text[start:start + SLICE_CHARS])
        if not self._timer.isActive():
            self._timer.start()

    @property
    def busy(self) -> bool:
        """True while queued text is still being written."""
        return bool(self._pending)

    def text(self) -> str:
        return self.toPlainText() + "".join(self._pending)

    def _drain(self) -> None:
        if not self._pending:
            self._timer.stop()
            return
        bar = self.verticalScrollBar()
        follow = bar.value() >= bar.maximum() - 4  # keep following the tail, unless scrolled up
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(self._pending.popleft())
        if follow:
            bar.setValue(bar.maximum())
