"""Which step results an expression may read: ``results.<id>`` of a step that has run by then.

An expression reading a step that does not exist, that comes later, that sits in a parallel
branch, or the step itself, gets null at run time and the flow goes on silently with it. The
API refuses such a flow (naming the step and the expression) and the designer marks the step,
both from this one rule. What a step sees: every step before it in its list and in the lists
enclosing it, and everything inside those (a loop's or a branch's steps once it is done).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

_RESULTS = re.compile(r"(?<![\w.$])results(?:\.([A-Za-z_$][\w$]*)|\[\s*[\"']([^\"']+)[\"']\s*\])")


@dataclass(frozen=True)
class ReferenceProblem:
    step_id: str
    message: str  # without the step: "input x: results.b — step 'b' has not run yet…"


def reference_problems(flow_value: Any) -> list[ReferenceProblem]:
    """Every ``results.<id>`` read in the flow's steps that cannot give a result, in document
    order. (The failure module runs after everything and may read any step.)"""
    if not isinstance(flow_value, dict) or not isinstance(flow_value.get("modules"), list):
        return []
    ids = {str(m.get("id")) for m in _descendants(flow_value["modules"])}
    out: list[ReferenceProblem] = []
    _visit(flow_value["modules"], set(), ids, out)
    return out


def result_names(expr: str) -> Iterator[str]:
    """The step ids an expression reads as ``results.<id>`` or ``results["<id>"]``."""
    for match in _RESULTS.finditer(expr):
        yield match.group(1) or match.group(2)


def step_expressions(step: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, JavaScript expression) of everything in a step that is evaluated."""
    raw = step.get("value")
    value: dict[str, Any] = raw if isinstance(raw, dict) else {}
    for name, t in (value.get("input_transforms") or {}).items():
        if isinstance(t, dict) and t.get("type") == "javascript" and isinstance(t.get("expr"), str):
            yield f"input {name}", t["expr"]
    for key in ("iterator", "parallelism"):
        t = value.get(key)
        if isinstance(t, dict) and t.get("type") == "javascript" and isinstance(t.get("expr"), str):
            yield key, t["expr"]
    for index, branch in enumerate(value.get("branches") or []):
        if isinstance(branch, dict) and isinstance(branch.get("expr"), str):
            yield f"branch {index + 1} condition", branch["expr"]
    for key in ("skip_if", "stop_after_if", "stop_after_all_iters_if"):
        cond = step.get(key)
        if isinstance(cond, dict) and isinstance(cond.get("expr"), str):
            yield key, cond["expr"]
    for key in ("sleep", "timeout"):
        t = step.get(key)
        if isinstance(t, dict) and t.get("type") == "javascript" and isinstance(t.get("expr"), str):
            yield key, t["expr"]


def _visit(steps: list[Any], outer: set[str], ids: set[str], out: list[ReferenceProblem]) -> None:
    seen = set(outer)
    for step in steps:
        if not isinstance(step, dict):
            continue
        sid = str(step.get("id"))
        for where, expr in step_expressions(step):
            for name in result_names(expr):
                if name == sid:
                    out.append(ReferenceProblem(sid, f"{where}: results.{name} — a step cannot "
                                                     "read its own result (stop_after_if reads "
                                                     "it as `result`)"))
                elif name not in ids:
                    out.append(ReferenceProblem(sid, f"{where}: results.{name} — there is no "
                                                     f"step {name!r}"))
                elif name not in seen:
                    out.append(ReferenceProblem(sid, f"{where}: results.{name} — step {name!r} "
                                                     "has not run yet at this point"))
        for inner in _child_lists(step):
            _visit(inner, seen, ids, out)  # parallel branches do not see each other
        seen.add(sid)
        seen.update(str(s.get("id")) for s in _descendants(list(_flat(_child_lists(step)))))


def _child_lists(step: dict[str, Any]) -> Iterator[list[Any]]:
    value = step.get("value")
    if not isinstance(value, dict):
        return
    kind = value.get("type")
    if kind in ("forloopflow", "whileloopflow") and isinstance(value.get("modules"), list):
        yield value["modules"]
    elif kind in ("branchone", "branchall"):
        for branch in value.get("branches") or []:
            if isinstance(branch, dict) and isinstance(branch.get("modules"), list):
                yield branch["modules"]
        if kind == "branchone" and isinstance(value.get("default"), list):
            yield value["default"]


def _flat(lists: Iterator[list[Any]]) -> Iterator[Any]:
    for steps in lists:
        yield from steps


def _descendants(steps: list[Any]) -> Iterator[dict[str, Any]]:
    for step in steps:
        if isinstance(step, dict):
            yield step
            for inner in _child_lists(step):
                yield from _descendants(inner)
