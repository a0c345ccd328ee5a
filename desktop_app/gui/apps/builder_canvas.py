"""The builder's grid: components drawn as they will look, selected by a click, moved by
dragging their body, resized by dragging their lower-right corner, added by dropping a
kind from the palette. Every change goes to the builder as an undoable command."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QMimeData, QPoint, QRect, Qt, Signal
from PySide6.QtGui import QColor, QDrag, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QApplication, QListWidget, QWidget

from desktop_app.apps import commands
from desktop_app.apps.kinds import GRID_COLUMNS, KINDS
from desktop_app.apps.model import ROW_HEIGHT, AppDefinition
from desktop_app.gui.apps.canvas import GAP, GridCanvas

KIND_MIME = "application/x-tidemill-component-kind"
HANDLE = 12  # px: the resize corner
EXTRA_ROWS = 6  # empty rows below the last component, to drop new ones into


class Palette(QListWidget):
    """The component kinds; drag one onto the canvas (or double-click to add it below)."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("palette")
        self.setDragEnabled(True)
        for name, kind in KINDS.items():
            self.addItem(kind.label)
            self.item(self.count() - 1).setData(Qt.ItemDataRole.UserRole, name)
            self.item(self.count() - 1).setToolTip(f"{kind.label} ({name})")

    def kind_at(self, row: int) -> str:
        return str(self.item(row).data(Qt.ItemDataRole.UserRole))

    def startDrag(self, actions: Any) -> None:
        item = self.currentItem()
        if item is None:
            return
        mime = QMimeData()
        mime.setData(KIND_MIME, str(item.data(Qt.ItemDataRole.UserRole)).encode())
        drag = QDrag(self)
        drag.setMimeData(mime)
        drag.exec(Qt.DropAction.CopyAction)


class BuilderCanvas(GridCanvas):
    """Top-level components of the app, editable. `selected` names the selected id."""

    selection_changed = Signal(str)

    def __init__(self, app: AppDefinition, push: Callable[[commands.Command], None],
                 make_views: Callable[[GridCanvas], None]) -> None:
        super().__init__()
        self.setObjectName("builderCanvas")
        self.setAcceptDrops(True)
        self.setMouseTracking(True)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.app = app
        self.push = push
        self.make_views = make_views
        self.selected = ""
        self._drag: tuple[str, str, QPoint, tuple[int, int, int, int]] | None = None
        self._preview: tuple[int, int, int, int] | None = None
        self.overlay = SelectionOverlay(self)
        self.rebuild()

    def _repaint(self) -> None:
        self.update()
        self.overlay.update()

    def relayout(self) -> None:
        super().relayout()
        overlay = getattr(self, "overlay", None)
        if overlay is not None:
            overlay.setGeometry(self.rect())
            overlay.raise_()

    # -- content ---------------------------------------------------------------------------
    def rebuild(self) -> None:
        for widget, _geometry in self.placed:
            widget.setParent(None)
            widget.deleteLater()
        self.placed = []
        self.make_views(self)
        for widget, _geometry in self.placed:
            # The canvas handles the mouse; the component views only show.
            widget.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        if self.selected and self.selected not in self.app.ids():
            self.selected = ""
        self.relayout()
        self._repaint()

    def rows(self) -> int:
        return super().rows() + EXTRA_ROWS

    def cell_at(self, pos: QPoint) -> tuple[int, int]:
        col = (self.width() - GAP) / GRID_COLUMNS
        x = int(max(0, min(GRID_COLUMNS - 1, (pos.x() - GAP) // col)))
        y = int(max(0, (pos.y() - GAP) // ROW_HEIGHT))
        return x, y

    def component_at(self, pos: QPoint) -> str:
        for c in reversed(self.app.components):
            if self.cell_rect(*c.geometry).contains(pos):
                return c.id
        return ""

    def select(self, component_id: str) -> None:
        self.selected = component_id
        self._repaint()
        self.selection_changed.emit(component_id)

    # -- mouse: select, move, resize ------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        hit = self.component_at(pos)
        if self.selected in {c.id for c in self.app.components} and \
                self.cell_rect(*self.app.component(self.selected).geometry).contains(pos):
            hit = self.selected  # where components overlap, the selected one stays in hand
        self.select(hit)
        if hit and event.button() == Qt.MouseButton.LeftButton:
            geometry = self.app.component(hit).geometry
            rect = self.cell_rect(*geometry)
            corner = QRect(rect.right() - HANDLE, rect.bottom() - HANDLE, HANDLE + 1, HANDLE + 1)
            mode = "resize" if corner.contains(pos) else "move"
            self._drag = (hit, mode, pos, geometry)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag is None:
            return
        _cid, mode, start, (x, y, w, h) = self._drag
        delta = event.position().toPoint() - start
        col = (self.width() - GAP) / GRID_COLUMNS
        dx, dy = round(delta.x() / col), round(delta.y() / ROW_HEIGHT)
        if mode == "move":
            nx = max(0, min(GRID_COLUMNS - w, x + dx))
            self._preview = (nx, max(0, y + dy), w, h)
        else:
            self._preview = (x, y, max(1, min(GRID_COLUMNS - x, w + dx)), max(1, h + dy))
        self._repaint()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        drag, preview = self._drag, self._preview
        self._drag = self._preview = None
        self._repaint()
        if drag is not None and preview is not None and preview != drag[3]:
            self.push(commands.SetGeometry(drag[0], preview))

    # -- drop from the palette --------------------------------------------------------------
    def dragEnterEvent(self, event: Any) -> None:
        if event.mimeData().hasFormat(KIND_MIME):
            event.acceptProposedAction()

    def dragMoveEvent(self, event: Any) -> None:
        if event.mimeData().hasFormat(KIND_MIME):
            kind = bytes(event.mimeData().data(KIND_MIME).data()).decode()
            x, y = self.cell_at(event.position().toPoint())
            w, h = KINDS[kind].size if kind in KINDS else (1, 1)
            self._preview = (min(x, GRID_COLUMNS - w), y, w, h)
            self._repaint()
            event.acceptProposedAction()

    def dragLeaveEvent(self, event: Any) -> None:
        self._preview = None
        self._repaint()

    def dropEvent(self, event: Any) -> None:
        self._preview = None
        kind = bytes(event.mimeData().data(KIND_MIME).data()).decode()
        if kind not in KINDS:
            return
        pos = event.position().toPoint()
        target = self.component_at(pos)
        holder = self.app.component(target) if target else None
        if holder is not None and holder.kind is not None and holder.kind.container:
            # Into the container, below what it holds (its own grid; move it from there).
            below = max([c.geometry[1] + c.geometry[3] for c in holder.children] + [0])
            command = commands.AddComponent(kind, 0, below, parent=holder.id,
                                            tab=0 if holder.type == "tabs" else None)
        else:
            x, y = self.cell_at(pos)
            command = commands.AddComponent(kind, min(x, GRID_COLUMNS - KINDS[kind].size[0]), y)
        self.push(command)
        event.acceptProposedAction()
        self.select(command.component_id)

    # -- drawing ----------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        painter = QPainter(self)
        palette = QApplication.palette()
        grid = QColor(palette.mid().color())
        grid.setAlpha(160)
        painter.setPen(QPen(grid, 1, Qt.PenStyle.DotLine))
        col = (self.width() - GAP) / GRID_COLUMNS
        for i in range(GRID_COLUMNS + 1):
            x = round(GAP / 2 + i * col)
            painter.drawLine(x, 0, x, self.height())
        for r in range(self.height() // ROW_HEIGHT + 1):
            painter.drawLine(0, GAP // 2 + r * ROW_HEIGHT, self.width(), GAP // 2 + r * ROW_HEIGHT)

    def paint_overlay(self, painter: QPainter) -> None:
        accent = QApplication.palette().highlight().color()
        top_level = {c.id for c in self.app.components}
        if self.selected:
            rect = None
            if self.selected in top_level:
                rect = self.cell_rect(*self.app.component(self.selected).geometry)
            if rect is not None:
                painter.setPen(QPen(accent, 2))
                painter.drawRect(rect.adjusted(-1, -1, 1, 1))
                painter.fillRect(QRect(rect.right() - HANDLE + 2, rect.bottom() - HANDLE + 2,
                                       HANDLE, HANDLE), accent)
        if self._preview is not None:
            shade = QColor(accent)
            shade.setAlpha(60)
            painter.fillRect(self.cell_rect(*self._preview), shade)
            painter.setPen(QPen(accent, 1, Qt.PenStyle.DashLine))
            painter.drawRect(self.cell_rect(*self._preview))


class SelectionOverlay(QWidget):
    """Drawn above the component views (which paint over the canvas itself)."""

    def __init__(self, canvas: BuilderCanvas) -> None:
        super().__init__(canvas)
        self.canvas = canvas
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground, True)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        self.canvas.paint_overlay(painter)
