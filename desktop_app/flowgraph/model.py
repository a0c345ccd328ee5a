"""A flow being designed: the OpenFlow dict itself, addressed by step ids and module lists.

The document keeps the flow as the very dict it was read as and edits it in place, so that
keys this code does not know survive every edit and an unedited flow saves byte for byte.
A *list reference* (``ListRef``) names one list of steps: the top-level ``value.modules``,
a loop's ``modules``, a branch's ``modules`` or a branchone's ``default``.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from desktop_app.core.errors import UsageError
from desktop_app.flows import folder as flow_folder
from desktop_app.flows.model import CONTAINER_TYPES

__all__ = ["TOP", "FlowDocument", "ListRef", "dump_yaml", "load_yaml", "new_id"]


@dataclass(frozen=True)
class ListRef:
    """A list of steps: ``owner`` is the container's step id (None: the flow itself);
    ``part`` is ``modules``, ``branches`` (with ``branch`` its index) or ``default``."""

    owner: str | None = None
    part: str = "modules"
    branch: int | None = None

    def label(self) -> str:
        if self.owner is None:
            return "flow"
        return f"{self.owner}.{self.part}" + (f"[{self.branch}]" if self.branch is not None
                                                else "")


TOP = ListRef()


class FlowDocument:
    """One OpenFlow (``{summary, value: {modules, ...}, schema}``) and lookups into it."""

    def __init__(self, flow: dict[str, Any]) -> None:
        if not isinstance(flow, dict):
            raise UsageError("a flow must be a mapping (summary, value, schema)")
        self.flow = flow
        value = flow.setdefault("value", {}) if "value" not in flow else flow["value"]
        if not isinstance(value, dict):
            raise UsageError("the flow's value must be a mapping holding modules",
                             hint="e.g. value: {modules: []}")
        if "modules" not in value:
            value["modules"] = []
        if not isinstance(value["modules"], list):
            raise UsageError("value.modules must be a list of steps")

    @classmethod
    def empty(cls, summary: str = "") -> FlowDocument:
        return cls({"summary": summary, "value": {"modules": []},
                    "schema": {"$schema": "https://json-schema.org/draft/2020-12/schema",
                               "type": "object", "properties": {}, "required": []}})

    @property
    def value(self) -> dict[str, Any]:
        return self.flow["value"]

    # -- lists and steps ---------------------------------------------------------------

    def steps(self, ref: ListRef) -> list[dict[str, Any]]:
        """The list `ref` names (created empty inside its container when absent)."""
        if ref.owner is None:
            return self.value["modules"]
        value = self.module(ref.owner)["value"]
        if ref.part == "branches":
            branches = value.get("branches") or []
            if ref.branch is None or not 0 <= ref.branch < len(branches):
                raise UsageError(f"step {ref.owner!r} has no branch {ref.branch}")
            return branches[ref.branch].setdefault("modules", [])
        if ref.part not in ("modules", "default"):
            raise UsageError(f"unknown part {ref.part!r} of step {ref.owner!r}")
        return value.setdefault(ref.part, [])

    def walk(self) -> Iterator[tuple[dict[str, Any], ListRef, int]]:
        """Every step in document order with the list it sits in and its index there
        (the failure and preprocessor modules are not in lists: see `special`)."""
        yield from self._walk(self.value.get("modules") or [], TOP)

    def _walk(self, steps: list[Any], ref: ListRef) -> Iterator[tuple[dict[str, Any], ListRef, int]]:
        for index, step in enumerate(steps):
            if not isinstance(step, dict):
                continue
            yield step, ref, index
            for inner_ref, inner in child_lists(step):
                yield from self._walk(inner, inner_ref)

    def special(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for key in ("preprocessor_module", "failure_module"):
            if isinstance(self.value.get(key), dict):
                yield key, self.value[key]

    def locate(self, step_id: str) -> tuple[ListRef, int]:
        for step, ref, index in self.walk():
            if step.get("id") == step_id:
                return ref, index
        raise UsageError(f"no step with id {step_id!r} in this flow")

    def module(self, step_id: str) -> dict[str, Any]:
        """The step with this id, anywhere (failure and preprocessor modules included)."""
        for step, _ref, _index in self.walk():
            if step.get("id") == step_id:
                return step
        for _key, step in self.special():
            if step.get("id") == step_id:
                return step
        raise UsageError(f"no step with id {step_id!r} in this flow")

    def ids(self) -> list[str]:
        found = [str(s.get("id")) for s, _r, _i in self.walk()]
        return found + [str(s.get("id")) for _k, s in self.special()]

    def ids_before(self, step_id: str) -> list[str]:
        """Ids whose results a step may read: steps that finish before it starts (earlier
        steps of its own list and of every enclosing list; not its siblings in parallel
        branches)."""
        chain: list[tuple[ListRef, int]] = []
        ref, index = self.locate(step_id)
        while True:
            chain.append((ref, index))
            if ref.owner is None:
                break
            ref, index = self.locate(ref.owner)
        out: list[str] = []
        for ref, index in reversed(chain):
            for step in self.steps(ref)[:index]:
                out.append(str(step.get("id")))
                out.extend(str(s.get("id")) for s in descendants(step))
        return out

    def visible_results(self) -> dict[str, set[str]]:
        """For every step, the ids `ids_before` gives, all in one walk (validation needs
        them for each step after every edit)."""
        out: dict[str, set[str]] = {}
        self._visible(self.value.get("modules") or [], set(), out)
        return out

    def _visible(self, steps: list[Any], outer: set[str], out: dict[str, set[str]]) -> None:
        seen = set(outer)
        for step in steps:
            if not isinstance(step, dict):
                continue
            out[str(step.get("id"))] = set(seen)
            for _ref, inner in child_lists(step):
                self._visible(inner, seen, out)
            seen.add(str(step.get("id")))
            seen.update(str(s.get("id")) for s in descendants(step))

    def to_json(self) -> str:
        return json.dumps(self.flow, indent=2, ensure_ascii=False)

    def to_yaml(self) -> str:
        return dump_yaml(self.flow)

    def copy(self) -> dict[str, Any]:
        return copy.deepcopy(self.flow)


def step_value(step: dict[str, Any]) -> dict[str, Any]:
    """The step's ``value`` mapping ({} when malformed)."""
    value = step.get("value")
    return value if isinstance(value, dict) else {}


def child_lists(step: dict[str, Any]) -> Iterator[tuple[ListRef, list[Any]]]:
    """The step lists directly inside a container step."""
    value = step.get("value")
    if not isinstance(value, dict) or value.get("type") not in CONTAINER_TYPES:
        return
    sid = str(step.get("id"))
    kind = value["type"]
    if kind in ("forloopflow", "whileloopflow") and isinstance(value.get("modules"), list):
        yield ListRef(sid, "modules"), value["modules"]
    elif kind in ("branchone", "branchall"):
        if kind == "branchone" and isinstance(value.get("default"), list):
            yield ListRef(sid, "default"), value["default"]
        for index, branch in enumerate(value.get("branches") or []):
            if isinstance(branch, dict) and isinstance(branch.get("modules"), list):
                yield ListRef(sid, "branches", index), branch["modules"]


def descendants(step: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for _ref, inner in child_lists(step):
        for s in inner:
            if isinstance(s, dict):
                yield s
                yield from descendants(s)


_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def new_id(taken: set[str] | list[str]) -> str:
    """The first of a, b, …, z, aa, ab, … not taken (the ids Windmill gives new steps)."""
    used = set(taken)
    n = 0
    while True:
        name, k = "", n
        while True:
            name = _LETTERS[k % 26] + name
            k = k // 26 - 1
            if k < 0:
                break
        if name not in used and name not in ("failure", "preprocessor"):
            return name
        n += 1


# -- YAML as the flow folder writes it --------------------------------------------------


def dump_yaml(flow: dict[str, Any]) -> str:
    """The flow as YAML, keys in wmill's order (the same text ``flow.yaml`` gets, with
    inline scripts kept inline)."""
    return yaml.dump(flow, Dumper=flow_folder._Dumper, sort_keys=False, allow_unicode=True,
                     default_flow_style=False, width=100)


_LINE = re.compile(r"line (\d+)")


class YamlError(UsageError):
    """YAML text that is not a flow; ``line`` is 1-based (None when unknown)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message, hint="fix the YAML, or undo to go back to the last valid flow")
        self.line = line


def load_yaml(text: str) -> dict[str, Any]:
    """A flow from YAML (1.2 core schema, as wmill writes it); YamlError names the line."""
    try:
        flow = yaml.load(text, Loader=flow_folder._Loader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        problem = " ".join(p for p in (e.context, e.problem) if p)
        line = mark.line + 1 if mark else None
        raise YamlError(f"line {line}: {problem}" if line else problem, line) from e
    except yaml.YAMLError as e:
        raise YamlError(str(e)) from e
    if not isinstance(flow, dict):
        raise YamlError("a flow must be a mapping (summary, value, schema)", 1)
    if not isinstance(flow.get("value"), dict):
        raise YamlError("the flow needs `value:` holding `modules:` (the list of steps)",
                        _line_of(text, "value"))
    return flow


def _line_of(text: str, key: str) -> int | None:
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith(f"{key}:"):
            return number
    return None
