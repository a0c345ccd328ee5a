"""A bar chart of a script's recent runs: height is the duration, colour the outcome."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

OUTCOME_COLOURS = {"success": "#2e9e4f", "failure": "#d9453b", "canceled": "#c98a1a",
                   "skipped": "#8a8f98", "running": "#3b82f6", "queued": "#8a8f98"}


@dataclass(frozen=True)
class RunBar:
    job_id: str
    status: str
    duration_ms: int | None


def _fmt(ms: float) -> str:
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


class RunChart(QWidget):
    """Oldest run on the left; the tallest bar sets the scale (labelled at the top)."""

    def __init__(self) -> None:
        super().__init__()
        self.bars: list[RunBar] = []
        self.current: str | None = None  # the job on screen: its bar is outlined
        self.setMinimumHeight(90)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(110)

    def set_runs(self, bars: list[RunBar], current: str | None = None) -> None:
        self.bars = bars
        self.current = current
        self.setToolTip(self.summary())
        self.update()

    def summary(self) -> str:
        if not self.bars:
            return "no runs yet"
        ok = sum(b.status == "success" for b in self.bars)
        done = [b.duration_ms for b in self.bars if b.duration_ms is not None]
        avg = f", average {_fmt(sum(done) / len(done))}" if done else ""
        return f"last {len(self.bars)} runs: {ok} succeeded, {len(self.bars) - ok} did not{avg}"

    def paintEvent(self, _event: object) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        text = self.palette().color(QPalette.ColorRole.WindowText)
        muted = self.palette().color(QPalette.ColorRole.PlaceholderText)
        w, h = self.width(), self.height()
        top, bottom, left = 18, h - 16, 8
        p.setPen(muted)
        if not self.bars:
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter,
                       "No runs of this script yet: its durations will be charted here.")
            return
        longest = max((b.duration_ms or 0) for b in self.bars) or 1
        p.drawText(QRectF(left, 0, w - 2 * left, top), Qt.AlignmentFlag.AlignLeft,
                   f"Recent runs — tallest {_fmt(longest)}")
        p.drawText(QRectF(left, 0, w - 2 * left, top), Qt.AlignmentFlag.AlignRight,
                   self.summary())
        p.setPen(muted)
        p.drawLine(left, bottom, w - left, bottom)
        slot = (w - 2 * left) / max(len(self.bars), 1)
        bar_w = max(2.0, min(28.0, slot * 0.7))
        for i, b in enumerate(self.bars):
            height = max(3.0, (bottom - top) * (b.duration_ms or 0) / longest)
            x = left + i * slot + (slot - bar_w) / 2
            rect = QRectF(x, bottom - height, bar_w, height)
            p.fillRect(rect, QColor(OUTCOME_COLOURS.get(b.status, "#8a8f98")))
            if b.job_id == self.current:
                p.setPen(text)
                p.drawRect(rect.adjusted(-2, -2, 2, 2))
        p.setPen(text)
        p.drawText(QRectF(left, bottom, w - 2 * left, 16), Qt.AlignmentFlag.AlignLeft, "older")
        if self.current and any(b.job_id == self.current for b in self.bars):
            p.drawText(QRectF(left, bottom, w - 2 * left, 16), Qt.AlignmentFlag.AlignCenter,
                       "outlined: this run")
        p.drawText(QRectF(left, bottom, w - 2 * left, 16), Qt.AlignmentFlag.AlignRight, "newest")
