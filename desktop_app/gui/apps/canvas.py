"""The 12-column grid components sit on, the container components (container, tabs, modal,
drawer) and the registry that makes a view for each component type."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtWidgets import (
    QDialog,
    QLabel,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop_app.apps.kinds import GRID_COLUMNS
from desktop_app.apps.model import ROW_HEIGHT, Component
from desktop_app.gui.apps.base import ComponentView, Host

GAP = 8


class GridCanvas(QWidget):
    """Places its child widgets by grid cell (x, y, w, h); columns stretch with the width."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.placed: list[tuple[QWidget, tuple[int, int, int, int]]] = []

    def place(self, widget: QWidget, geometry: tuple[int, int, int, int]) -> None:
        widget.setParent(self)
        self.placed.append((widget, geometry))
        widget.show()
        self.relayout()

    def rows(self) -> int:
        return max([y + h for _w, (_x, y, _ww, h) in self.placed] + [1])

    def cell_rect(self, x: int, y: int, w: int, h: int) -> QRect:
        col = (self.width() - GAP) / GRID_COLUMNS
        left = round(GAP + x * col)
        right = round(GAP + (x + w) * col) - GAP
        return QRect(left, GAP + y * ROW_HEIGHT, max(right - left, 10),
                     h * ROW_HEIGHT - GAP)

    def relayout(self) -> None:
        for widget, geometry in self.placed:
            widget.setGeometry(self.cell_rect(*geometry))
        self.setMinimumHeight(self.rows() * ROW_HEIGHT + GAP)

    def sizeHint(self) -> QSize:
        return QSize(640, self.rows() * ROW_HEIGHT + GAP)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self.relayout()


class ContainerView(ComponentView):
    def __init__(self, component: Component, host: Host) -> None:
        super().__init__(component, host)
        self.title = QLabel()
        self.title.setObjectName("appLabel")
        self.outer.addWidget(self.title)
        self.canvas = host.child_canvas(component.children)
        self.outer.addWidget(self.canvas, 1)
        self.setProperty("boxed", True)
        self.finish()

    def update_body(self) -> None:
        title = self.prop("title")
        self.title.setText(str(title or ""))
        self.title.setVisible(bool(title))


class TabsView(ComponentView):
    def __init__(self, component: Component, host: Host) -> None:
        super().__init__(component, host)
        self.tabs = QTabWidget()
        self.outer.addWidget(self.tabs, 1)
        self.pages: list[QWidget] = []
        self.tabs.currentChanged.connect(
            lambda i: host.set_value(component.id, "selectedTab", i))
        self.finish()

    def update_body(self) -> None:
        names = self.prop("tabs")
        names = [str(n) for n in names] if isinstance(names, list) else ["Tab 1"]
        if len(self.pages) != len(names):
            self.tabs.blockSignals(True)
            self.tabs.clear()
            self.pages = []
            for i, name in enumerate(names):
                page = self.host.child_canvas([c for c in self.component.children if c.tab == i])
                self.pages.append(page)
                self.tabs.addTab(page, name)
            self.tabs.blockSignals(False)
        for i, name in enumerate(names):
            self.tabs.setTabText(i, name)


class ModalView(ComponentView):
    """A button that opens its children in a dialog (modal) or a side panel (drawer)."""

    def __init__(self, component: Component, host: Host) -> None:
        super().__init__(component, host)
        self.button = QPushButton()
        self.outer.addWidget(self.button)
        self.dialog = QDialog(self)
        self.dialog.setModal(component.type == "modal")
        layout = QVBoxLayout(self.dialog)
        self.canvas = host.child_canvas(component.children)
        layout.addWidget(self.canvas, 1)
        self.button.clicked.connect(self.open)
        self.dialog.finished.connect(lambda _r: host.set_value(component.id, "open", False))
        self.finish()

    def open(self) -> None:
        window = self.window()
        if self.component.type == "drawer":
            geo = window.geometry()
            width = max(320, geo.width() // 3)
            self.dialog.setGeometry(geo.right() - width, geo.top(), width, geo.height())
        else:
            self.dialog.resize(max(480, self.window().width() // 2),
                               self.canvas.sizeHint().height() + 40)
        self.dialog.show()
        self.host.set_value(self.component.id, "open", True)

    def update_body(self) -> None:
        self.button.setText(str(self.prop("button_label") or "Open"))
        self.dialog.setWindowTitle(str(self.prop("title") or ""))


def view_class(kind: str) -> type[ComponentView]:
    from desktop_app.gui.apps import chart, displays, inputs

    return {
        "text": displays.TextView, "markdown": displays.TextView,
        "textinput": inputs.TextInputView, "number": inputs.NumberView,
        "select": inputs.SelectView, "checkbox": inputs.CheckboxView,
        "date": inputs.DateView, "fileinput": inputs.FileInputView,
        "button": inputs.ButtonView, "form": inputs.FormView, "table": displays.TableView,
        "chart": chart.ChartView, "json": displays.JsonView, "image": displays.ImageView,
        "container": ContainerView, "tabs": TabsView, "modal": ModalView, "drawer": ModalView,
    }[kind]


class UnknownView(ComponentView):
    def __init__(self, component: Component, host: Host) -> None:
        super().__init__(component, host)
        if component.type.startswith("windmill:"):  # a Windmill grid app's component
            text = (f"{component.id}: Windmill's {component.type[9:]!r} is not shown in"
                    " Tidemill yet")
        else:
            text = f"{component.id}: unknown component type {component.type!r}"
        note = QLabel(text)
        note.setWordWrap(True)
        note.setObjectName("fieldError")
        note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.outer.addWidget(note)
        self.finish()

    def update_body(self) -> None:
        pass


def make_view(component: Component, host: Host) -> ComponentView:
    try:
        cls = view_class(component.type)
    except KeyError:
        cls = UnknownView
    return cls(component, host)
