"""Every edit of a flow as a command with its inverse, and the undo/redo stacks.

A command records what it needs to undo itself when it is first done (the removed step,
the old value), so undo puts back the very same objects: unknown keys included.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from desktop_app.core.errors import UsageError
from desktop_app.flowgraph.model import FlowDocument, ListRef, descendants, new_id

__all__ = [
    "AddBranch", "Command", "DeleteStep", "DuplicateStep", "InsertStep", "MoveStep",
    "RemoveBranch", "ReplaceFlow", "SetFlowProperty", "SetStepProperty", "UndoStack",
    "WrapInLoop",
]

MISSING: Any = object()  # a key that was (or becomes) absent


class Command:
    text = "edit"

    def do(self, doc: FlowDocument) -> None:
        raise NotImplementedError

    def undo(self, doc: FlowDocument) -> None:
        raise NotImplementedError


class InsertStep(Command):
    """Put `step` at `index` of the list `ref` (an edge of the graph)."""

    def __init__(self, ref: ListRef, index: int, step: dict[str, Any]) -> None:
        self.ref, self.index, self.step = ref, index, step
        self.text = f"insert step {step.get('id')}"

    def do(self, doc: FlowDocument) -> None:
        taken = set(doc.ids())
        for s in [self.step, *descendants(self.step)]:
            if s.get("id") in taken:
                raise UsageError(f"a step with id {s.get('id')!r} already exists",
                                 hint="pick another id")
        steps = doc.steps(self.ref)
        if not 0 <= self.index <= len(steps):
            raise UsageError(f"cannot insert at position {self.index} of {self.ref.label()} "
                             f"(it has {len(steps)} steps)")
        steps.insert(self.index, self.step)

    def undo(self, doc: FlowDocument) -> None:
        doc.steps(self.ref).pop(self.index)


class DeleteStep(Command):
    def __init__(self, step_id: str) -> None:
        self.step_id = step_id
        self.text = f"delete step {step_id}"

    def do(self, doc: FlowDocument) -> None:
        self.ref, self.index = doc.locate(self.step_id)
        self.step = doc.steps(self.ref).pop(self.index)

    def undo(self, doc: FlowDocument) -> None:
        doc.steps(self.ref).insert(self.index, self.step)


class DuplicateStep(Command):
    """A copy right after the step, it and its inner steps under new ids."""

    def __init__(self, step_id: str) -> None:
        self.step_id = step_id
        self.text = f"duplicate step {step_id}"
        self.new_id: str | None = None

    def do(self, doc: FlowDocument) -> None:
        self.ref, index = doc.locate(self.step_id)
        clone = copy.deepcopy(doc.steps(self.ref)[index])
        taken = set(doc.ids())
        for s in [clone, *descendants(clone)]:
            s["id"] = new_id(taken)
            taken.add(s["id"])
        self.new_id = clone["id"]
        self.index = index + 1
        doc.steps(self.ref).insert(self.index, clone)

    def undo(self, doc: FlowDocument) -> None:
        doc.steps(self.ref).pop(self.index)


class MoveStep(Command):
    """Take the step out and put it at `index` of `to` (the index counted after removal)."""

    def __init__(self, step_id: str, to: ListRef, index: int) -> None:
        self.step_id, self.to, self.index = step_id, to, index
        self.text = f"move step {step_id}"

    def do(self, doc: FlowDocument) -> None:
        if self.to.owner is not None:
            inside = doc.module(self.step_id)
            if self.to.owner == self.step_id or any(
                    s.get("id") == self.to.owner for s in descendants(inside)):
                raise UsageError(f"cannot move step {self.step_id!r} into itself")
        self.from_ref, self.from_index = doc.locate(self.step_id)
        step = doc.steps(self.from_ref).pop(self.from_index)
        target = doc.steps(self.to)
        if not 0 <= self.index <= len(target):
            doc.steps(self.from_ref).insert(self.from_index, step)
            raise UsageError(f"cannot move to position {self.index} of {self.to.label()}")
        target.insert(self.index, step)

    def undo(self, doc: FlowDocument) -> None:
        step = doc.steps(self.to).pop(self.index)
        doc.steps(self.from_ref).insert(self.from_index, step)


def _set(target: dict[str, Any], keys: tuple[str, ...], value: Any) -> Any:
    """Set target[k0][k1]… = value (MISSING deletes); return the old value (or MISSING).
    Intermediate mappings are created as needed."""
    for key in keys[:-1]:
        nxt = target.get(key)
        if not isinstance(nxt, dict):
            if value is MISSING:
                return MISSING
            nxt = target[key] = {}
        target = nxt
    old = target.get(keys[-1], MISSING)
    if value is MISSING:
        target.pop(keys[-1], None)
    else:
        target[keys[-1]] = value
    return old


def _prune(target: dict[str, Any], keys: tuple[str, ...], created: list[str]) -> None:
    """Remove the intermediate mappings `_set` created (so undo leaves no `{}` behind)."""
    for depth in range(len(keys) - 1, 0, -1):
        if ".".join(keys[:depth]) not in created:
            continue
        parent = target
        for key in keys[:depth - 1]:
            parent = parent[key]
        if parent.get(keys[depth - 1]) == {}:
            del parent[keys[depth - 1]]


def _missing_parents(target: dict[str, Any], keys: tuple[str, ...]) -> list[str]:
    missing: list[str] = []
    node = target
    for depth, key in enumerate(keys[:-1], 1):
        node = node.get(key) if isinstance(node, dict) else None  # type: ignore[assignment]
        if not isinstance(node, dict):
            missing.extend(".".join(keys[:d]) for d in range(depth, len(keys)))
            break
    return missing


class _SetAt(Command):
    def __init__(self, keys: tuple[str, ...] | str, value: Any) -> None:
        self.keys = tuple(keys.split(".")) if isinstance(keys, str) else tuple(keys)
        self.value = value

    def target(self, doc: FlowDocument) -> dict[str, Any]:
        raise NotImplementedError

    def do(self, doc: FlowDocument) -> None:
        target = self.target(doc)
        self.created = _missing_parents(target, self.keys)
        self.old = _set(target, self.keys, self.value if self.value is MISSING
                        else copy.deepcopy(self.value))

    def undo(self, doc: FlowDocument) -> None:
        target = self.target(doc)
        _set(target, self.keys, self.old)
        _prune(target, self.keys, self.created)


class SetStepProperty(_SetAt):
    """Set (or with MISSING, remove) a key of a step, e.g. ("value", "content"),
    ("retry", "constant", "attempts"), ("suspend",)."""

    def __init__(self, step_id: str, keys: tuple[str, ...] | str, value: Any) -> None:
        super().__init__(keys, value)
        self.step_id = step_id
        self.text = f"edit {step_id}.{'.'.join(self.keys)}"

    def target(self, doc: FlowDocument) -> dict[str, Any]:
        return doc.module(self.step_id)


class SetFlowProperty(_SetAt):
    """Set a key of the flow itself: ("summary",), ("schema",), ("value", "same_worker")."""

    def __init__(self, keys: tuple[str, ...] | str, value: Any) -> None:
        super().__init__(keys, value)
        self.text = f"edit flow {'.'.join(self.keys)}"

    def target(self, doc: FlowDocument) -> dict[str, Any]:
        return doc.flow


class AddBranch(Command):
    def __init__(self, step_id: str, index: int | None = None,
                 branch: dict[str, Any] | None = None) -> None:
        self.step_id, self.index, self.branch = step_id, index, branch
        self.text = f"add a branch to {step_id}"

    def do(self, doc: FlowDocument) -> None:
        value = doc.module(self.step_id)["value"]
        if value.get("type") not in ("branchone", "branchall"):
            raise UsageError(f"step {self.step_id!r} is not a branch step")
        branches = value.setdefault("branches", [])
        branch = self.branch or ({"summary": "", "expr": "false", "modules": []}
                                 if value["type"] == "branchone"
                                 else {"summary": "", "skip_failure": False, "modules": []})
        self.at = len(branches) if self.index is None else self.index
        branches.insert(self.at, branch)

    def undo(self, doc: FlowDocument) -> None:
        doc.module(self.step_id)["value"]["branches"].pop(self.at)


class RemoveBranch(Command):
    def __init__(self, step_id: str, index: int) -> None:
        self.step_id, self.index = step_id, index
        self.text = f"remove branch {index + 1} of {step_id}"

    def do(self, doc: FlowDocument) -> None:
        branches = doc.module(self.step_id)["value"].get("branches") or []
        if not 0 <= self.index < len(branches):
            raise UsageError(f"step {self.step_id!r} has no branch {self.index + 1}")
        self.branch = branches.pop(self.index)

    def undo(self, doc: FlowDocument) -> None:
        doc.module(self.step_id)["value"]["branches"].insert(self.index, self.branch)


class WrapInLoop(Command):
    """Replace a step by a for loop (or while loop) holding it."""

    def __init__(self, step_id: str, loop_id: str | None = None, kind: str = "forloopflow",
                 iterator: str = "flow_input.items") -> None:
        self.step_id, self.loop_id, self.kind, self.iterator = step_id, loop_id, kind, iterator
        self.text = f"wrap {step_id} in a loop"

    def do(self, doc: FlowDocument) -> None:
        self.ref, self.index = doc.locate(self.step_id)
        self.loop_id = self.loop_id or new_id(set(doc.ids()))
        steps = doc.steps(self.ref)
        loop: dict[str, Any] = {"id": self.loop_id, "value": {
            "type": self.kind, "modules": [steps[self.index]], "skip_failures": False}}
        if self.kind == "forloopflow":
            loop["value"].update(parallel=False, iterator={"type": "javascript",
                                                           "expr": self.iterator})
        steps[self.index] = loop

    def undo(self, doc: FlowDocument) -> None:
        steps = doc.steps(self.ref)
        steps[self.index] = steps[self.index]["value"]["modules"][0]


class ReplaceFlow(Command):
    """The whole flow at once (an edit made in the YAML view)."""

    text = "edit the YAML"

    def __init__(self, flow: dict[str, Any]) -> None:
        self.new = flow

    def do(self, doc: FlowDocument) -> None:
        FlowDocument(self.new)  # the same checks as opening, before anything changes
        self.old = doc.flow
        doc.flow = self.new

    def undo(self, doc: FlowDocument) -> None:
        doc.flow = self.old


class UndoStack:
    """Done commands to undo and undone ones to redo; `changed` runs after each move."""

    def __init__(self, doc: FlowDocument, changed: Callable[[], None] | None = None) -> None:
        self.doc = doc
        self.done: list[Command] = []
        self.undone: list[Command] = []
        self.changed = changed
        self._clean: Command | None = None

    def push(self, command: Command) -> Command:
        command.do(self.doc)  # raises before anything is recorded if the edit is refused
        self.done.append(command)
        self.undone.clear()
        self._changed()
        return command

    def undo(self) -> bool:
        if not self.done:
            return False
        command = self.done.pop()
        command.undo(self.doc)
        self.undone.append(command)
        self._changed()
        return True

    def redo(self) -> bool:
        if not self.undone:
            return False
        command = self.undone.pop()
        command.do(self.doc)
        self.done.append(command)
        self._changed()
        return True

    def mark_clean(self) -> None:
        """The document as it is now is the saved one."""
        self._clean = self.done[-1] if self.done else None

    @property
    def dirty(self) -> bool:
        return (self.done[-1] if self.done else None) is not self._clean

    def _changed(self) -> None:
        if self.changed:
            self.changed()
