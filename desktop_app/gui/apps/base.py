"""What every component widget shares: its frame, the host it talks to, and its refresh.

A component view evaluates its properties from the session's state when something it reads
changes (`refresh`), shows a loading badge while a runnable it reads runs and that
runnable's error under it, and reports its own state changes to the host.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from desktop_app.apps.evaluation import AppSession
from desktop_app.apps.model import Component

W = TypeVar("W", bound=QWidget)


class Host(Protocol):
    """The window a component lives in (run window or builder preview)."""

    session: AppSession
    schemas: dict[str, Any]

    def set_value(self, component_id: str, key: str, value: Any) -> None: ...

    def run(self, runnable_id: str, extra_args: dict[str, Any] | None = None,
            source: str | None = None) -> None: ...

    def child_canvas(self, children: list[Component]) -> QWidget: ...


class ComponentView(QFrame):
    """Base of every component widget: a frame with the body, a badge and an error line."""

    def __init__(self, component: Component, host: Host) -> None:
        super().__init__()
        self.component = component
        self.host = host
        self.setObjectName("appComponent")
        self.setProperty("kind", component.type)
        self.outer = QVBoxLayout(self)
        self.outer.setContentsMargins(2, 2, 2, 2)
        self.outer.setSpacing(2)
        self.badge = QLabel("")
        self.badge.setObjectName("muted")
        self.badge.setVisible(False)
        self.error = QLabel("")
        self.error.setObjectName("fieldError")
        self.error.setWordWrap(True)
        self.error.setVisible(False)
        self.prop_errors: dict[str, str] = {}
        self.reads: set[str] = set()

    def finish(self) -> None:
        """Called by subclasses after building their body: badge and error go last."""
        self.outer.addWidget(self.badge)
        self.outer.addWidget(self.error)
        state = self.host.session.state
        self.reads = state.component_reads(self.component)
        if self.component.runnable:
            self.reads.add(self.component.runnable)

    def prop(self, name: str) -> Any:
        value, error = self.host.session.state.prop(self.component, name)
        if error:
            self.prop_errors[name] = error
        return value

    def refresh(self) -> None:
        """Re-evaluate and show; subclasses implement `update_body`."""
        self.prop_errors = {}
        self.update_body()
        values = self.host.session.state.values
        runnables = {r.id for r in self.host.session.app.runnables}
        loading = [i for i in sorted(self.reads & runnables) if values[i].get("loading")]
        failed = [(i, values[i]["error"]) for i in sorted(self.reads & runnables)
                  if values[i].get("error")]
        self.badge.setText("⟳ running " + ", ".join(loading) + "…" if loading else "")
        self.badge.setVisible(bool(loading))
        problems = [f"{name}: {msg}" for name, msg in self.prop_errors.items()]
        if not self.component.runnable:  # a button shows its run's error as a message
            problems += [f"{rid} failed: {msg}" for rid, msg in failed]
        self.error.setText("\n".join(problems))
        self.error.setVisible(bool(problems))

    def update_body(self) -> None:
        raise NotImplementedError

    def with_label(self, widget: W) -> W:
        """`widget` under the component's `label` property (inputs)."""
        self.label = QLabel("")
        self.label.setObjectName("appLabel")
        if self.component.geometry[3] > 1:
            self.outer.addWidget(self.label)
            self.outer.addWidget(widget)
            return widget
        row = QHBoxLayout()  # one grid row: the label goes beside the field
        row.setSpacing(8)
        row.addWidget(self.label)
        row.addWidget(widget, 1)
        self.outer.addLayout(row)
        return widget

    def update_label(self) -> None:
        text = self.prop("label")
        self.label.setText("" if text is None else str(text))
        self.label.setVisible(bool(text))
