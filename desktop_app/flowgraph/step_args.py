"""The arguments to test one step with: static values as they are, and expressions that
are plain paths (``flow_input.x``, ``results.a.b[0]``) read from the run form and the last
run's results. Anything else needs the flow to run, and is named in the error."""

from __future__ import annotations

import re
from typing import Any

from desktop_app.core.errors import UsageError

_PATH = re.compile(r"\s*(flow_input|results|previous_result)((?:\.[A-Za-z_$][\w$]*|\[\d+\]"
                   r"|\[\"[^\"]*\"\]|\['[^']*'\])*)\s*")
_PART = re.compile(r"\.([A-Za-z_$][\w$]*)|\[(\d+)\]|\[\"([^\"]*)\"\]|\['([^']*)'\]")


class NotTestable(UsageError):
    pass


def step_args(transforms: dict[str, Any], flow_input: dict[str, Any],
              results: dict[str, Any], previous: Any = None) -> dict[str, Any]:
    """Arguments for a step's input transforms; NotTestable names what cannot be computed
    without running the flow."""
    args: dict[str, Any] = {}
    for name, t in (transforms or {}).items():
        if not isinstance(t, dict):
            continue
        if t.get("type") == "static":
            if t.get("value") is not None:
                args[name] = t.get("value")
            continue
        expr = str(t.get("expr") or "")
        match = _PATH.fullmatch(expr)
        if t.get("type") != "javascript" or match is None:
            raise NotTestable(f"input {name}: {expr!r} is not a plain path; run the flow to "
                              "test this step with it",
                              hint="or give the input a static value for the test")
        root = {"flow_input": flow_input, "results": results,
                "previous_result": previous}[match.group(1)]
        args[name] = _walk(root, match.group(2), name, expr)
    return args


def _walk(value: Any, path: str, name: str, expr: str) -> Any:
    for part in _PART.finditer(path):
        key: Any = part.group(1) or part.group(3) or part.group(4)
        if part.group(2) is not None:
            key = int(part.group(2))
        try:
            value = value[key]
        except (KeyError, IndexError, TypeError):
            raise NotTestable(f"input {name}: {expr} has no value yet",
                              hint="run the flow once (or the steps before this one) "
                                   "so their results are known") from None
    return value
