"""What the canvas draws: step nodes, container frames, branch labels, edges and "+"s.

Items paint themselves from the layout's rectangles; they hold no flow state beyond the
step id they stand for, so the scene can be rebuilt from the model after every edit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QApplication,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsSceneMouseEvent,
    QStyleOptionGraphicsItem,
    QWidget,
)

from desktop_app.flowgraph.layout import InsertPoint, Label, Node, Rect
from desktop_app.gui.theme import colours

STATE_COLOURS = {
    "light": {"waiting": "#9aa3b2", "running": "#2f6fdf", "suspended": "#c27c0e",
              "success": "#1e8e3e", "failure": "#c0392b", "skipped": "#b0b6c0"},
    "dark": {"waiting": "#6b7280", "running": "#6ea0ff", "suspended": "#f0b429",
             "success": "#5ccf7a", "failure": "#ff6b6b", "skipped": "#59606c"},
}
STATE_TEXT = {"waiting": "waiting", "running": "running", "suspended": "waiting for approval",
              "success": "success", "failure": "failed", "skipped": "skipped"}
KIND_ACCENT = {"input": "#7c5cd6", "result": "#7c5cd6", "step": "#2f6fdf",
               "loop": "#0f9d8a", "branch": "#d9822b", "failure": "#c0392b",
               "preprocessor": "#7c5cd6"}


SKETCH_BELOW = 0.45  # zoom under which nodes are drawn without text


def theme() -> str:
    app = QApplication.instance()
    return str(app.property("tidemill_theme") or "light") if app else "light"


def qrect(r: Rect) -> QRectF:
    return QRectF(r.x, r.y, r.w, r.h)


def _font(size: float, bold: bool = False) -> QFont:
    f = QFont()
    f.setPointSizeF(size)
    f.setBold(bold)
    return f


class NodeItem(QGraphicsItem):
    """A step (or the input/result node). Containers draw their frame and title band."""

    def __init__(self, node: Node) -> None:
        super().__init__()
        self.node = node
        self.state: str | None = None
        self.problems: list[str] = []
        self.highlight = False
        self.setPos(node.rect.x, node.rect.y)
        self.setZValue(1 + node.depth * 2)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, True)
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    @property
    def container(self) -> bool:
        return self.node.header is not None

    def boundingRect(self) -> QRectF:
        return QRectF(-2, -10, self.node.rect.w + 14, self.node.rect.h + 12)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        h = self.node.header.h if self.node.header else self.node.rect.h
        path.addRect(QRectF(0, 0, self.node.rect.w, h))
        return path

    def set_state(self, state: str | None) -> None:
        self.state = state
        self._tooltip()
        self.update()

    def set_problems(self, problems: list[str]) -> None:
        self.problems = problems
        self._tooltip()
        self.update()

    def _tooltip(self) -> None:
        lines = [self.node.title, self.node.subtitle]
        if self.state:
            lines.append(f"Status: {STATE_TEXT[self.state]}")
        lines += [f"⚠ {p}" for p in self.problems]
        self.setToolTip("\n".join(x for x in lines if x))

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        c = colours(theme())
        w, h = self.node.rect.w, self.node.rect.h
        if option.levelOfDetailFromTransform(painter.worldTransform()) < SKETCH_BELOW:
            self._sketch(painter, c, w, h)
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        accent = QColor(KIND_ACCENT.get(self.node.kind, c["highlight"]))
        state_colour = QColor(STATE_COLOURS[theme() if theme() == "dark" else "light"][
            self.state]) if self.state else None
        selected = self.isSelected()
        border = QColor(c["highlight"]) if selected else (state_colour or QColor(c["border"]))
        pen = QPen(border, 2.4 if selected or self.state else 1.2)
        if self.state == "skipped":
            pen.setStyle(Qt.PenStyle.DashLine)
        if self.container:
            frame = QColor(accent)
            frame.setAlpha(22 if theme() == "light" else 34)
            painter.setPen(pen)
            painter.setBrush(QBrush(frame))
            painter.drawRoundedRect(QRectF(0, 0, w, h), 10, 10)
            band = QColor(accent)
            band.setAlpha(48 if theme() == "light" else 70)
            header_h = self.node.header.h if self.node.header else 40
            path = QPainterPath()
            path.addRoundedRect(QRectF(0, 0, w, header_h), 10, 10)
            painter.fillPath(path, band)
            self._text(painter, c, QRectF(14, 0, w - 28, header_h))
        else:
            painter.setPen(pen)
            painter.setBrush(QBrush(QColor(c["base"])))
            painter.drawRoundedRect(QRectF(0, 0, w, h), 8, 8)
            painter.fillRect(QRectF(0.6, 8, 4, h - 16), accent)
            self._text(painter, c, QRectF(14, 0, w - 28, h))
        if self.highlight:
            painter.setPen(QPen(QColor(c["highlight"]), 1.5, Qt.PenStyle.DotLine))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(QRectF(-4, -4, w + 8, h + 8), 10, 10)
        if self.problems:
            self._badge(painter, QColor(c["error"]), w - 10, -2, f"⚠ {len(self.problems)}")

    def _sketch(self, painter: QPainter, c: dict[str, str], w: float, h: float) -> None:
        """Far out (the whole flow in view, the minimap): boxes and state colours only."""
        state = STATE_COLOURS["dark" if theme() == "dark" else "light"].get(self.state or "")
        border = QColor(c["highlight"]) if self.isSelected() else QColor(state or c["border"])
        painter.setPen(QPen(border, 3 if state or self.isSelected() else 1))
        if self.container:
            fill = QColor(KIND_ACCENT.get(self.node.kind, c["highlight"]))
            fill.setAlpha(30)
            painter.setBrush(fill)
        else:
            painter.setBrush(QColor(c["base"]))
        painter.drawRect(QRectF(0, 0, w, h))
        if self.problems:
            painter.fillRect(QRectF(w - 24, -6, 24, 12), QColor(c["error"]))

    def _text(self, painter: QPainter, c: dict[str, str], box: QRectF) -> None:
        reserve = 22 if self.state else 0
        title_font, sub_font = _font(10, True), _font(8.5)
        tw = box.width() - reserve
        title = QFontMetrics(title_font).elidedText(self.node.title, Qt.TextElideMode.ElideRight,
                                                     int(tw))
        sub = self.node.subtitle
        if self.state and self.state not in ("waiting",):
            sub = f"{sub} · {STATE_TEXT[self.state]}" if sub else STATE_TEXT[self.state]
        sub = QFontMetrics(sub_font).elidedText(sub, Qt.TextElideMode.ElideRight, int(tw))
        mid = box.y() + box.height() / 2
        painter.setPen(QColor(c["text"]))
        painter.setFont(title_font)
        painter.drawText(QRectF(box.x(), mid - 19, tw, 20),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, title)
        painter.setPen(QColor(c["muted"]))
        painter.setFont(sub_font)
        painter.drawText(QRectF(box.x(), mid + 1, tw, 18),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, sub)
        if self.state:
            colour = QColor(STATE_COLOURS["dark" if theme() == "dark" else "light"][self.state])
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            centre = QPointF(box.right() - 6, mid)
            painter.drawEllipse(centre, 7, 7)
            painter.setPen(QPen(QColor("#ffffff"), 1.8))
            _glyph(painter, self.state, centre)

    def _badge(self, painter: QPainter, colour: QColor, right: float, y: float,
               text: str) -> None:
        font = _font(8, True)
        width = QFontMetrics(font).horizontalAdvance(text) + 12
        rect = QRectF(right - width, y - 8, width, 17)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        painter.drawRoundedRect(rect, 8, 8)
        painter.setPen(QColor("#ffffff"))
        painter.setFont(font)
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)


def _glyph(painter: QPainter, state: str, c: QPointF) -> None:
    x, y = c.x(), c.y()
    if state == "success":
        painter.drawPolyline([QPointF(x - 3.5, y), QPointF(x - 1, y + 2.8), QPointF(x + 3.5, y - 2.8)])
    elif state == "failure":
        painter.drawLine(QPointF(x - 3, y - 3), QPointF(x + 3, y + 3))
        painter.drawLine(QPointF(x - 3, y + 3), QPointF(x + 3, y - 3))
    elif state == "running":
        painter.drawArc(QRectF(x - 3.5, y - 3.5, 7, 7), 0, 270 * 16)
    elif state == "suspended":
        painter.drawLine(QPointF(x - 1.5, y - 3), QPointF(x - 1.5, y + 3))
        painter.drawLine(QPointF(x + 1.5, y - 3), QPointF(x + 1.5, y + 3))
    elif state == "skipped":
        painter.drawLine(QPointF(x - 3, y), QPointF(x + 3, y))
    else:
        painter.drawPoint(QPointF(x, y))


class LabelItem(QGraphicsItem):
    """A branch's label (its name and, for branchone, its condition) as a pill."""

    def __init__(self, label: Label, depth: int) -> None:
        super().__init__()
        self.label = label
        self.setPos(label.rect.x, label.rect.y)
        self.setZValue(3 + depth * 2)
        self.setToolTip(label.text)

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self.label.rect.w, self.label.rect.h)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        c = colours(theme())
        rect = self.boundingRect().adjusted(1, 3, -1, -3)
        if option.levelOfDetailFromTransform(painter.worldTransform()) < SKETCH_BELOW:
            painter.fillRect(rect, QColor(KIND_ACCENT["branch"]))
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor(KIND_ACCENT["branch"]), 1))
        painter.setBrush(QColor(c["base"]))
        painter.drawRoundedRect(rect, rect.height() / 2, rect.height() / 2)
        font = _font(8.5)
        painter.setFont(font)
        painter.setPen(QColor(c["text"]))
        text = QFontMetrics(font).elidedText(self.label.text, Qt.TextElideMode.ElideRight,
                                             int(rect.width() - 14))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)


class EdgeItem(QGraphicsPathItem):
    def __init__(self, points: list[tuple[float, float]], arrow: bool) -> None:
        path = QPainterPath(QPointF(*points[0]))
        for p in points[1:]:
            path.lineTo(QPointF(*p))
        if arrow:
            x, y = points[-1]
            path.moveTo(x - 4.5, y - 7)
            path.lineTo(x, y - 1)
            path.lineTo(x + 4.5, y - 7)
        super().__init__(path)
        c = colours(theme())
        self.setPen(QPen(QColor(c["muted"]), 1.4))
        self.setZValue(0.5)


class PlusItem(QGraphicsItem):
    """The "+" on an edge: a click opens the menu of steps to insert there."""

    RADIUS = 9.0

    def __init__(self, point: InsertPoint, depth: int,
                 clicked: Callable[[InsertPoint, Any], None]) -> None:
        super().__init__()
        self.point = point
        self.clicked = clicked
        self.hot = False
        self.setPos(point.x, point.y)
        self.setZValue(40 + depth)
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Insert a step here")

    def boundingRect(self) -> QRectF:
        r = self.RADIUS + 2
        return QRectF(-r, -r, 2 * r, 2 * r)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        if option.levelOfDetailFromTransform(painter.worldTransform()) < SKETCH_BELOW:
            return
        c = colours(theme())
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        fill = QColor(c["highlight"]) if self.hot else QColor(c["base"])
        painter.setBrush(fill)
        painter.setPen(QPen(QColor(c["highlight"] if self.hot else c["muted"]), 1.2))
        painter.drawEllipse(QPointF(0, 0), self.RADIUS, self.RADIUS)
        painter.setPen(QPen(QColor(c["hltext"] if self.hot else c["muted"]), 1.8))
        painter.drawLine(QPointF(-4, 0), QPointF(4, 0))
        painter.drawLine(QPointF(0, -4), QPointF(0, 4))

    def set_hot(self, hot: bool) -> None:
        self.hot = hot
        self.update()

    def hoverEnterEvent(self, event: Any) -> None:
        self.set_hot(True)

    def hoverLeaveEvent(self, event: Any) -> None:
        self.set_hot(False)

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked(self.point, event.screenPos())
            event.accept()
