"""Python's cycle collector, run on the GUI thread only.

CPython runs its cyclic garbage collector in whichever thread happens to allocate when a
generation fills up. In a Qt process that can be a helper thread (asyncio's executor,
a `to_thread` poll): the cycle it frees may hold a widget or timer, whose C++ destructor
then runs off the GUI thread while the event loop uses the object, and the process
crashes (seen: segfaults in the GUI tests when a helper thread woke ten times a second).
The guard turns automatic collection off and a GUI-thread timer collects whatever
generation is due, with the interpreter's own thresholds, so nothing else changes.
Reference counting, which frees almost everything, is unaffected.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

CHECK_MS = 200  # a generation that fills up waits at most this long


class GuiThreadCollector(QObject):
    """While alive and started, collection happens here, on the thread that created it."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = CHECK_MS) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.collect_due)
        self._was_enabled = gc.isenabled()

    def start(self) -> GuiThreadCollector:
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer.start()
        return self

    def stop(self) -> None:
        """Collect everything now, on this thread, and give collection back to Python."""
        self._timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()

    def collect_due(self) -> int:
        """Collect the oldest generation whose count passed its threshold, as CPython's
        automatic collection would; returns the generation collected, or -1."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        due = -1
        for generation in range(3):
            if counts[generation] > thresholds[generation]:
                due = generation
        if due >= 0:
            gc.collect(due)
        return due
