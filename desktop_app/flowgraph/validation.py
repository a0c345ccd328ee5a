"""Problems to show on the designer's nodes before saving.

Beyond what `validate_flow` refuses (missing fields, duplicate ids, a loop without its
iterator), this reads the JavaScript of every input transform and condition for
``results.<id>`` and ``flow_input.<name>`` and says when the step or input does not exist
or the step has not run yet at that point, and it checks each inline script's required
arguments against the step's input transforms.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from desktop_app.core.errors import TidemillError
from desktop_app.flowgraph.model import FlowDocument, step_value
from desktop_app.flows.model import InvalidFlow, validate_flow
from desktop_app.flows.references import reference_problems, step_expressions

__all__ = ["Problem", "find_problems", "problems_by_step"]

_FLOW_INPUT = re.compile(r"(?<![\w.$])flow_input(?:\.([A-Za-z_$][\w$]*)|\[\s*[\"']([^\"']+)[\"']\s*\])")
_STEP = re.compile(r"^step '([^']+)'")
# Names a loop adds to flow_input for its inner steps.
_LOOP_INPUTS = {"iter"}


@dataclass(frozen=True)
class Problem:
    step_id: str | None  # None: the flow as a whole
    message: str


def find_problems(doc: FlowDocument, schemas: dict[str, dict[str, Any]] | None = None
                  ) -> list[Problem]:
    """Every problem of the flow, in document order. `schemas` maps a script or flow
    path to its argument schema, to check the required inputs of steps calling them."""
    out: list[Problem] = []
    seen: set[str] = set()
    try:
        validate_flow(doc.flow, check_references=False)  # those come next, without prefix
    except InvalidFlow as exc:
        for text in exc.problems:
            match = _STEP.match(text)
            out.append(Problem(match.group(1) if match else None, text))
            seen.add(text)
    inputs = _flow_inputs(doc.flow)
    out.extend(Problem(p.step_id, p.message) for p in reference_problems(doc.value))
    for step, _ref, _index in doc.walk():
        sid = str(step.get("id"))
        for where, expr in step_expressions(step):
            for name in _names(_FLOW_INPUT, expr):
                if inputs is not None and name not in inputs and name not in _LOOP_INPUTS:
                    out.append(Problem(sid, f"{where}: flow_input.{name} — the flow has no "
                                            f"input {name!r} (add it under Flow inputs)"))
        out.extend(Problem(sid, m) for m in _missing_inputs(step, schemas or {}))
        value = step_value(step)
        iterator = value.get("iterator") if isinstance(value, dict) else None
        if value.get("type") == "forloopflow" and isinstance(iterator, dict) and \
                iterator.get("type") == "javascript" and not str(iterator.get("expr") or "").strip():
            out.append(Problem(sid, "the loop has no iterator: give an expression returning "
                                    "a list, e.g. flow_input.items"))
    return out


def problems_by_step(problems: list[Problem]) -> dict[str | None, list[str]]:
    grouped: dict[str | None, list[str]] = {}
    for p in problems:
        grouped.setdefault(p.step_id, []).append(p.message)
    return grouped


def _flow_inputs(flow: dict[str, Any]) -> set[str] | None:
    schema = flow.get("schema")
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        return None  # no schema: anything may be passed
    return set(schema["properties"])


def _names(pattern: re.Pattern[str], expr: str) -> Iterator[str]:
    for match in pattern.finditer(expr):
        yield match.group(1) or match.group(2)


def step_schema(step: dict[str, Any], schemas: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """The argument schema of what the step runs, when known."""
    value = step_value(step)
    if value.get("type") == "rawscript" and isinstance(value.get("content"), str):
        return _inline_schema(value["content"], str(value.get("language") or ""))
    if value.get("type") in ("script", "flow"):
        return schemas.get(str(value.get("path")))
    return None


@functools.lru_cache(maxsize=2048)
def _inline_schema(content: str, language: str) -> dict[str, Any] | None:
    """Parsed once per code text: the designer re-validates after every edit."""
    from desktop_app.parsing import script_schema

    try:
        return script_schema(content, language)
    except (TidemillError, SyntaxError, ValueError):
        return None


def _missing_inputs(step: dict[str, Any], schemas: dict[str, dict[str, Any]]) -> list[str]:
    schema = step_schema(step, schemas)
    if not schema:
        return []
    given = step_value(step).get("input_transforms") or {}
    out = []
    for name in schema.get("required") or []:
        t = given.get(name)
        empty = t is None or (isinstance(t, dict) and (
            (t.get("type") == "static" and t.get("value") in (None, ""))
            or (t.get("type") == "javascript" and not str(t.get("expr") or "").strip())))
        if empty:
            out.append(f"input {name} is required and has no value")
    return out
