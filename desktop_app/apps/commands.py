"""Edits of an app definition as commands with their inverse: the builder's undo/redo.

Each command changes the document through `apply` and restores it through `revert`; the
stack keeps them in order. Plain Python, so the builder's undo is testable without Qt.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from desktop_app.apps.kinds import KINDS
from desktop_app.apps.model import AppDefinition
from desktop_app.core.errors import UsageError


class Command:
    text = ""

    def apply(self, app: AppDefinition) -> None:
        raise NotImplementedError

    def revert(self, app: AppDefinition) -> None:
        raise NotImplementedError


_MISSING = object()


@dataclass
class AddComponent(Command):
    """A new component of `type` at (x, y), in `parent` (a container id) or at the top."""

    type: str
    x: int
    y: int
    parent: str | None = None
    component_id: str = ""
    props: dict[str, Any] | None = None
    tab: int | None = None  # in a tabs component: which tab

    def __post_init__(self) -> None:
        if self.type not in KINDS:
            raise UsageError(f"unknown component type {self.type!r}",
                             hint=f"one of {', '.join(KINDS)}")
        self.text = f"add {KINDS[self.type].label.lower()}"

    def apply(self, app: AppDefinition) -> None:
        kind = KINDS[self.type]
        if not self.component_id:
            self.component_id = app.new_id(self.type)
        w, h = kind.size
        raw: dict[str, Any] = {"id": self.component_id, "type": self.type, "x": self.x,
                               "y": self.y, "w": w, "h": h,
                               "props": copy.deepcopy(self.props if self.props is not None
                                                      else kind.props)}
        if self.tab is not None:
            raw["tab"] = self.tab
        if kind.container:
            raw["children"] = []
        app.container_list(self.parent).append(raw)

    def revert(self, app: AppDefinition) -> None:
        items = app.container_list(self.parent)
        items[:] = [c for c in items if c.get("id") != self.component_id]


@dataclass
class RemoveComponent(Command):
    component_id: str
    _where: tuple[list[Any], int, dict[str, Any]] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.text = f"remove {self.component_id}"

    def apply(self, app: AppDefinition) -> None:
        lists = [app.container_list(None)] + \
            [c.raw["children"] for c, _ in app.all_components() if isinstance(
                c.raw.get("children"), list)]
        for items in lists:
            for i, raw in enumerate(items):
                if isinstance(raw, dict) and raw.get("id") == self.component_id:
                    self._where = (items, i, raw)
                    del items[i]
                    return
        raise UsageError(f"no component {self.component_id!r} to remove")

    def revert(self, app: AppDefinition) -> None:
        assert self._where is not None
        items, i, raw = self._where
        items.insert(i, raw)


@dataclass
class SetGeometry(Command):
    component_id: str
    geometry: tuple[int, int, int, int]
    _old: tuple[int, int, int, int] | None = None

    def __post_init__(self) -> None:
        self.text = f"move {self.component_id}"

    def apply(self, app: AppDefinition) -> None:
        c = app.component(self.component_id)
        self._old = c.geometry
        c.set_geometry(*self.geometry)

    def revert(self, app: AppDefinition) -> None:
        assert self._old is not None
        app.component(self.component_id).set_geometry(*self._old)


@dataclass
class SetField(Command):
    """Set one key of a component's props, a runnable, or a component itself.

    `target` is ("prop", component id), ("component", id) or ("runnable", id); a `value`
    of None removes the key.
    """

    target: tuple[str, str]
    key: str
    value: Any
    _old: Any = _MISSING

    def __post_init__(self) -> None:
        self.text = f"set {self.target[1]}.{self.key}"

    def _dict(self, app: AppDefinition) -> dict[str, Any]:
        where, ident = self.target
        if where == "runnable":
            return app.runnable(ident).raw
        component = app.component(ident)
        if where == "component":
            return component.raw
        return component.raw.setdefault("props", {})

    def apply(self, app: AppDefinition) -> None:
        d = self._dict(app)
        self._old = copy.deepcopy(d.get(self.key, _MISSING))
        if self.value is None:
            d.pop(self.key, None)
        else:
            d[self.key] = copy.deepcopy(self.value)

    def revert(self, app: AppDefinition) -> None:
        d = self._dict(app)
        if self._old is _MISSING:
            d.pop(self.key, None)
        else:
            d[self.key] = copy.deepcopy(self._old)


@dataclass
class AddRunnable(Command):
    raw: dict[str, Any]

    def __post_init__(self) -> None:
        self.text = f"add runnable {self.raw.get('id')}"

    def apply(self, app: AppDefinition) -> None:
        if self.raw.get("id") in app.ids():
            raise UsageError(f"the id {self.raw.get('id')!r} is already used")
        app._list("runnables", create=True).append(copy.deepcopy(self.raw))

    def revert(self, app: AppDefinition) -> None:
        items = app._list("runnables")
        items[:] = [r for r in items if r.get("id") != self.raw.get("id")]


@dataclass
class RemoveRunnable(Command):
    runnable_id: str
    _where: tuple[int, dict[str, Any]] | None = None

    def __post_init__(self) -> None:
        self.text = f"remove runnable {self.runnable_id}"

    def apply(self, app: AppDefinition) -> None:
        items = app._list("runnables")
        for i, raw in enumerate(items):
            if isinstance(raw, dict) and raw.get("id") == self.runnable_id:
                self._where = (i, raw)
                del items[i]
                return
        raise UsageError(f"no runnable {self.runnable_id!r} to remove")

    def revert(self, app: AppDefinition) -> None:
        assert self._where is not None
        app._list("runnables").insert(*self._where)


class UndoStack:
    """Commands done on one app, with undo and redo."""

    def __init__(self, app: AppDefinition) -> None:
        self.app = app
        self._done: list[Command] = []
        self._undone: list[Command] = []
        self.clean_index = 0

    def push(self, command: Command) -> None:
        command.apply(self.app)
        self._done.append(command)
        self._undone.clear()

    def undo(self) -> Command | None:
        if not self._done:
            return None
        command = self._done.pop()
        command.revert(self.app)
        self._undone.append(command)
        return command

    def redo(self) -> Command | None:
        if not self._undone:
            return None
        command = self._undone.pop()
        command.apply(self.app)
        self._done.append(command)
        return command

    def can_undo(self) -> bool:
        return bool(self._done)

    def can_redo(self) -> bool:
        return bool(self._undone)

    def set_clean(self) -> None:
        self.clean_index = len(self._done)

    def is_clean(self) -> bool:
        return self.clean_index == len(self._done)
