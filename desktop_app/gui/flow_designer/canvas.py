"""The graph: a scene rebuilt from the layout, a view that zooms, pans and drags steps to
reorder them, and a minimap of long flows."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPen, QPixmap, QResizeEvent, QWheelEvent
from PySide6.QtWidgets import QGraphicsScene, QGraphicsView, QWidget

from desktop_app.flowgraph.layout import InsertPoint, Layout
from desktop_app.gui.flow_designer.items import (
    EdgeItem,
    LabelItem,
    NodeItem,
    PlusItem,
    theme,
)
from desktop_app.gui.theme import colours

MIN_ZOOM, MAX_ZOOM = 0.15, 2.5
DRAG_START = 12  # pixels a press must travel before it becomes a drag


class FlowScene(QGraphicsScene):
    insertRequested = Signal(object, object)  # InsertPoint, global QPoint
    nodeClicked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.nodes: dict[str, NodeItem] = {}
        self.plus: list[PlusItem] = []
        self.layout_: Layout | None = None
        self.selectionChanged.connect(self._selection)

    def build(self, layout: Layout, problems: dict[str | None, list[str]],
              states: dict[str, str] | None = None, selected: str | None = None) -> None:
        self.blockSignals(True)
        self.clear()
        self.nodes, self.plus, self.layout_ = {}, [], layout
        self.setBackgroundBrush(QColor(colours(theme())["window"]))
        for node in layout.nodes:
            item = NodeItem(node)
            self.addItem(item)
            self.nodes[node.key] = item
            if node.step_id:
                item.set_problems(problems.get(node.step_id, []))
            if states and node.step_id:
                item.set_state(states.get(node.step_id))
        owners = {n.key: n.depth for n in layout.nodes}
        for label in layout.labels:
            self.addItem(LabelItem(label, owners.get(label.owner, 0)))
        tops = {(round(n.rect.cx, 1), round(n.rect.y, 1)) for n in layout.nodes}
        for edge in layout.edges:
            end = (round(edge[-1][0], 1), round(edge[-1][1], 1))
            self.addItem(EdgeItem(edge, arrow=end in tops))
        for point in layout.inserts:
            depth = owners.get(point.ref.owner, -1) + 1 if point.ref.owner else 0
            plus = PlusItem(point, depth, self._plus_clicked)
            self.addItem(plus)
            self.plus.append(plus)
        if len(layout.nodes) == 2:  # only input and result: say how to begin
            hint = self.addSimpleText("Press + to add the first step")
            hint.setBrush(QColor(colours(theme())["muted"]))
            result = layout.nodes[-1].rect
            hint.setPos(result.cx - hint.boundingRect().width() / 2, result.bottom + 24)
        margin = 40
        self.setSceneRect(QRectF(-margin, -margin, layout.width + 2 * margin,
                                 layout.height + 2 * margin))
        if selected and selected in self.nodes:
            self.nodes[selected].setSelected(True)
        self.blockSignals(False)

    def _plus_clicked(self, point: InsertPoint, screen_pos: Any) -> None:
        self.insertRequested.emit(point, screen_pos)

    def _selection(self) -> None:
        for item in self.selectedItems():
            if isinstance(item, NodeItem):
                self.nodeClicked.emit(item.node.key)
                return

    def set_states(self, states: dict[str, str]) -> None:
        for key, item in self.nodes.items():
            if item.node.step_id:
                item.set_state(states.get(key))

    def nearest_plus(self, pos: QPointF, within: float = 44.0) -> PlusItem | None:
        best, best_d = None, within
        for plus in self.plus:
            d = (plus.pos() - pos).manhattanLength()
            if d < best_d:
                best, best_d = plus, d
        return best


class FlowCanvas(QGraphicsView):
    """Ctrl+wheel zooms around the cursor, the wheel scrolls, dragging the background pans,
    dragging a step onto a "+" moves it there."""

    moveRequested = Signal(str, object)  # step id, InsertPoint
    contextRequested = Signal(str, object)  # step id, global QPoint
    zoomChanged = Signal(float)

    def __init__(self, scene: FlowScene, parent: QWidget | None = None) -> None:
        super().__init__(scene, parent)
        self.flow_scene = scene
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState, True)
        self.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self._press: tuple[QPoint, str] | None = None
        self._dragging = False
        self._target: PlusItem | None = None
        self.minimap = Minimap(self)

    # -- zoom ----------------------------------------------------------------------------

    def zoom(self) -> float:
        return float(self.transform().m11())

    def set_zoom(self, factor: float) -> None:
        factor = max(MIN_ZOOM, min(MAX_ZOOM, factor))
        self.scale(factor / self.zoom(), factor / self.zoom())
        self.zoomChanged.emit(self.zoom())
        self.minimap.update()

    def zoom_by(self, step: float) -> None:
        self.set_zoom(self.zoom() * step)

    def fit(self) -> None:
        """The whole flow in view, but never magnified past 100 %."""
        rect = self.flow_scene.sceneRect()
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom() > 1.0:
            self.set_zoom(1.0)
        self.zoomChanged.emit(self.zoom())
        self.minimap.refresh()

    def show_top(self) -> None:
        """100 % (or less for a wide flow) with the top of the flow in view."""
        rect = self.flow_scene.sceneRect()
        width = max(1.0, self.viewport().width() - 20)
        self.resetTransform()
        # Readable first: never below 80 % (a wide flow scrolls sideways instead).
        self.set_zoom(max(0.8, min(1.0, width / rect.width())))
        self.centerOn(rect.center().x(), rect.top())
        self.minimap.refresh()

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom_by(1.15 if event.angleDelta().y() > 0 else 1 / 1.15)
            event.accept()
            return
        super().wheelEvent(event)
        self.minimap.update()

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        super().scrollContentsBy(dx, dy)
        self.minimap.update()

    # -- drag a step onto an edge ----------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        item = self.itemAt(event.position().toPoint())
        if isinstance(item, NodeItem) and item.node.step_id and item.node.kind not in (
                "failure", "preprocessor"):
            if event.button() == Qt.MouseButton.RightButton:
                item.setSelected(True)
                self.contextRequested.emit(item.node.step_id,
                                           event.globalPosition().toPoint())
                return
            self._press = (event.position().toPoint(), item.node.step_id)
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._press is not None:
            start, _sid = self._press
            if (event.position().toPoint() - start).manhattanLength() > DRAG_START:
                self._dragging = True
                self.viewport().setCursor(Qt.CursorShape.DragMoveCursor)
            if self._dragging:
                target = self.flow_scene.nearest_plus(self.mapToScene(event.position().toPoint()))
                if target is not self._target:
                    if self._target is not None:
                        self._target.set_hot(False)
                    if target is not None:
                        target.set_hot(True)
                    self._target = target
                return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        press, dragging, target = self._press, self._dragging, self._target
        self._press, self._dragging, self._target = None, False, None
        if dragging:
            self.viewport().unsetCursor()
            if target is not None:
                target.set_hot(False)
                if press is not None:
                    self.moveRequested.emit(press[1], target.point)
            return
        super().mouseReleaseEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.minimap.place()


class Minimap(QWidget):
    """The whole flow small, in the canvas's corner; the visible part framed; a click or a
    drag moves the canvas there. Shown only when the flow does not fit the canvas.

    The flow is rendered into a picture once per change of the graph, so scrolling only
    repaints the frame (a 200-step flow would otherwise be drawn twice per frame)."""

    WIDTH, HEIGHT = 150, 190

    def __init__(self, canvas: FlowCanvas) -> None:
        super().__init__(canvas)
        self.canvas = canvas
        self.setObjectName("minimap")
        self.setFixedSize(self.WIDTH, self.HEIGHT)
        self.setToolTip("Overview: click to move there")
        self.picture: QPixmap | None = None
        self.target = QRectF()
        canvas.flow_scene.sceneRectChanged.connect(lambda _r: self.refresh(rebuild=True))

    def place(self) -> None:
        vp = self.canvas.viewport().geometry()
        self.move(vp.right() - self.WIDTH - 10, vp.bottom() - self.HEIGHT - 10)
        self.refresh()

    def refresh(self, rebuild: bool = False) -> None:
        """Re-frame the visible part; `rebuild` after the graph changed."""
        if rebuild:
            self.picture = None
        rect = self.canvas.flow_scene.sceneRect()
        visible = self.canvas.mapToScene(self.canvas.viewport().rect()).boundingRect()
        show = not visible.contains(rect.adjusted(30, 30, -30, -30))
        self.setVisible(show)
        if show and (rebuild or self.picture is None):
            self.render_picture()
        self.update()

    def render_picture(self) -> None:
        rect = self.canvas.flow_scene.sceneRect()
        if rect.isEmpty():
            return
        scale = min((self.WIDTH - 8) / rect.width(), (self.HEIGHT - 8) / rect.height())
        w, h = max(1, int(rect.width() * scale)), max(1, int(rect.height() * scale))
        self.target = QRectF((self.WIDTH - w) / 2, (self.HEIGHT - h) / 2, w, h)
        picture = QPixmap(w, h)
        picture.fill(QColor(colours(theme())["window"]))
        painter = QPainter(picture)
        self.canvas.flow_scene.render(painter, QRectF(0, 0, w, h), rect)
        painter.end()
        self.picture = picture

    def _to_scene(self, x: float, y: float) -> QPointF:
        rect = self.canvas.flow_scene.sceneRect()
        if self.target.isEmpty():
            return rect.center()
        return QPointF(rect.x() + (x - self.target.x()) / self.target.width() * rect.width(),
                       rect.y() + (y - self.target.y()) / self.target.height() * rect.height())

    def _from_scene(self, r: QRectF) -> QRectF:
        rect = self.canvas.flow_scene.sceneRect()
        sx, sy = self.target.width() / rect.width(), self.target.height() / rect.height()
        return QRectF(self.target.x() + (r.x() - rect.x()) * sx,
                      self.target.y() + (r.y() - rect.y()) * sy, r.width() * sx,
                      r.height() * sy).intersected(self.target)

    def paintEvent(self, event: Any) -> None:
        c = colours(theme())
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(c["base"]))
        painter.setPen(QPen(QColor(c["border"]), 1))
        painter.drawRect(self.rect().adjusted(0, 0, -1, -1))
        if self.picture is not None:
            painter.drawPixmap(self.target.topLeft(), self.picture)
            visible = self.canvas.mapToScene(self.canvas.viewport().rect()).boundingRect()
            fill = QColor(c["highlight"])
            fill.setAlpha(40)
            painter.setBrush(fill)
            painter.setPen(QPen(QColor(c["highlight"]), 1.5))
            painter.drawRect(self._from_scene(visible))
        painter.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        self.canvas.centerOn(self._to_scene(pos.x(), pos.y()))
        self.update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self.mousePressEvent(event)
