"""OpenFlow definitions as plain data: validation and traversal (no I/O).

Flows stay the dicts they were read as: unknown keys are kept and passed through (the spec
grows every month), and the TypedDicts below only name the keys this code reads.

A module's *container path* lists what encloses it, outermost first: a container module's
id, followed by the part of it the module sits in when there are several. For example
``["loop"]`` (a forloop/whileloop's modules), ``["pick", "branches[1]"]``,
``["pick", "default"]``, ``["agent", "tools"]``, ``["failure_module"]``,
``["preprocessor_module"]``; top-level modules have ``[]``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, Literal, NotRequired, TypedDict

from desktop_app.core.errors import UsageError
from desktop_app.flows.references import reference_problems

__all__ = [
    "CONTAINER_TYPES", "MODULE_TYPES", "Branch", "FlowModule", "FlowModuleValue", "FlowValue",
    "InputTransform", "InvalidFlow", "OpenFlow", "find_module", "iter_modules", "validate_flow",
]


class InputTransform(TypedDict, total=False):
    type: Literal["static", "javascript", "ai"]
    value: Any
    expr: str


class Branch(TypedDict, total=False):
    summary: str
    expr: str  # branchone only
    modules: list[FlowModule]
    skip_failure: bool  # branchall only


class FlowModuleValue(TypedDict, total=False):
    type: str  # one of MODULE_TYPES
    content: str
    language: str
    lock: str
    path: str
    hash: str
    input_transforms: dict[str, InputTransform]
    modules: list[FlowModule]
    iterator: InputTransform
    skip_failures: bool
    parallel: bool
    parallelism: InputTransform
    branches: list[Branch]
    default: list[FlowModule]
    tools: list[FlowModule]
    tool_type: str  # aiagent tools: flowmodule | mcp | websearch


class FlowModule(TypedDict):
    id: str
    value: FlowModuleValue
    summary: NotRequired[str]
    skip_if: NotRequired[dict[str, Any]]
    stop_after_if: NotRequired[dict[str, Any]]
    stop_after_all_iters_if: NotRequired[dict[str, Any]]
    sleep: NotRequired[InputTransform]
    timeout: NotRequired[InputTransform]
    retry: NotRequired[dict[str, Any]]
    suspend: NotRequired[dict[str, Any]]
    mock: NotRequired[dict[str, Any]]
    continue_on_error: NotRequired[bool]


class FlowValue(TypedDict, total=False):
    modules: list[FlowModule]
    failure_module: FlowModule
    preprocessor_module: FlowModule
    same_worker: bool
    early_return: str
    flow_env: dict[str, Any]


class OpenFlow(TypedDict, total=False):
    summary: str
    description: str
    value: FlowValue
    schema: dict[str, Any]


MODULE_TYPES = frozenset({"rawscript", "script", "flow", "forloopflow", "whileloopflow",
                          "branchone", "branchall", "identity", "aiagent"})
CONTAINER_TYPES = frozenset({"forloopflow", "whileloopflow", "branchone", "branchall", "aiagent"})
TRANSFORM_TYPES = frozenset({"static", "javascript", "ai"})
_ID = re.compile(r"[A-Za-z0-9_-]+")
_TOOL_NAME = re.compile(r"[A-Za-z0-9_]+")
# Conditions written as {expr: "..."} on a module, and where they sit.
_CONDITIONS = ("skip_if", "stop_after_if", "stop_after_all_iters_if")


class InvalidFlow(UsageError):
    """The flow definition is not valid."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(f"the flow is not valid ({count}):\n" +
                         "\n".join(f"  - {p}" for p in problems))


def iter_modules(flow_value: FlowValue | dict[str, Any]
                 ) -> Iterator[tuple[FlowModule, list[str]]]:
    """Every module of the flow, depth first in document order, with its container path.

    The failure and preprocessor modules come last. aiagent tools that are flow modules
    are included (path ``[agent id, "tools"]``). Malformed parts are skipped, not raised:
    call validate_flow first to hear about them.
    """
    for label, modules in _top_lists(flow_value):
        yield from _walk(modules, [label] if label else [])


def find_module(flow_value: FlowValue | dict[str, Any], module_id: str) -> FlowModule | None:
    """The module with this id anywhere in the flow, or None."""
    for module, _path in iter_modules(flow_value):
        if module.get("id") == module_id:
            return module
    return None


def validate_flow(flow: OpenFlow | dict[str, Any], *, check_references: bool = True) -> None:
    """Raise InvalidFlow (a UsageError) listing every problem of an OpenFlow, or return.
    ``check_references=False`` leaves out `flows/references.py` (the designer shows those
    beside their step itself)."""
    problems: list[str] = []
    if not isinstance(flow, dict):
        raise InvalidFlow(["the flow must be an object (with summary and value)"])
    if "summary" in flow and flow["summary"] is not None and not isinstance(flow["summary"], str):
        problems.append("summary: must be a string")
    value = flow.get("value")
    if not isinstance(value, dict):
        problems.append("value: missing (an object holding modules)" if value is None
                        else "value: must be an object holding modules")
        raise InvalidFlow(problems)
    if "modules" not in value:
        problems.append("value.modules: missing (the list of steps)")
    elif not isinstance(value["modules"], list):
        problems.append("value.modules: must be a list of steps")

    checker = _Checker(problems)
    for label, modules in _top_lists(value):
        if label:
            checker.special(label, modules[0] if modules else None)
        else:
            checker.modules(modules, [], "value.modules")
    for special in ("failure_module", "preprocessor_module"):
        if special in value and not isinstance(value[special], dict) and value[special] is not None:
            problems.append(f"value.{special}: must be a module object")
    for name in _WHOLE_NUMBERS:
        _whole_number(value, name, "value", problems)
    early = value.get("early_return")
    if early is not None and early not in checker.seen:
        problems.append(f"value.early_return: no step has id {early!r}")
    if check_references and not problems:
        problems += [f"step {p.step_id!r}: {p.message}" for p in reference_problems(value)]
    if problems:
        raise InvalidFlow(problems)


# Runtime settings of a flow (and `cache_ttl`/`priority` of a step): whole numbers, 0 = off.
_WHOLE_NUMBERS = ("concurrent_limit", "concurrency_time_window_s", "cache_ttl", "priority")


def _whole_number(item: Mapping[str, Any], name: str, where: str, problems: list[str]) -> None:
    value = item.get(name)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                              or value < 0):
        problems.append(f"{where}: {name}: must be a whole number ≥ 0, not {value!r}")


class _Checker:
    """Collects problems while walking the modules."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        self.seen: dict[str, str] = {}  # id -> where it was first met

    def add(self, where: str, field: str, what: str) -> None:
        self.problems.append(f"{where}: {field}: {what}" if field else f"{where}: {what}")

    def special(self, label: str, module: Any) -> None:
        expected = "failure" if label == "failure_module" else "preprocessor"
        where = self.module(module, [label], f"value.{label}")
        if isinstance(module, dict):
            if module.get("id") != expected:
                self.add(where, "id", f"the {label} must have id {expected!r}")
            kind = (module.get("value") or {}).get("type") if isinstance(
                module.get("value"), dict) else None
            if kind is not None and kind not in ("script", "rawscript"):
                self.add(where, "value.type", f"the {label} must be a script or rawscript, "
                                              f"not {kind!r}")

    def modules(self, modules: Any, path: list[str], field: str, where: str = "flow") -> None:
        if not isinstance(modules, list):
            self.add(where, field, "must be a list of steps")
            return
        for index, module in enumerate(modules):
            self.module(module, path, f"{field}[{index}]")

    def module(self, module: Any, path: list[str], position: str) -> str:
        inside = f" in {_container(path)}" if path else ""
        if not isinstance(module, dict):
            where = f"step at {position}{inside}"
            self.add(where, "", "must be an object with id and value")
            return where
        module_id = module.get("id")
        if isinstance(module_id, str) and module_id:
            where = f"step {module_id!r}{inside}"
            if not _ID.fullmatch(module_id):
                self.add(where, "id", "only letters, digits, _ and - are allowed")
            if module_id in self.seen:
                self.add(where, "id", f"duplicate id (also used by the step {self.seen[module_id]})")
            else:
                self.seen[module_id] = f"at {position}{inside}"
        else:
            where = f"step at {position}{inside}"
            self.add(where, "id", "missing" if module_id in (None, "") else "must be a string")
        self.conditions(module, where)
        value = module.get("value")
        if not isinstance(value, dict):
            self.add(where, "value", "missing" if value is None else "must be an object")
            return where
        self.value(value, where, [*path, module_id if isinstance(module_id, str) else position])
        return where

    def conditions(self, module: dict[str, Any], where: str) -> None:
        for key in _CONDITIONS:
            self.condition(module.get(key), where, key)
        retry = module.get("retry")
        if retry is not None:
            if not isinstance(retry, dict):
                self.add(where, "retry", "must be an object")
            else:
                self.condition(retry.get("retry_if"), where, "retry.retry_if")
        for key in ("sleep", "timeout"):
            if module.get(key) is not None:
                self.transform(module[key], where, key)
        for key in ("cache_ttl", "priority"):
            _whole_number(module, key, where, self.problems)
        suspend = module.get("suspend")
        if isinstance(suspend, dict) and suspend.get("user_groups_required") is not None:
            self.transform(suspend["user_groups_required"], where, "suspend.user_groups_required")

    def condition(self, cond: Any, where: str, field: str) -> None:
        if cond is None:
            return
        if not isinstance(cond, dict):
            self.add(where, field, "must be an object with expr")
        elif not isinstance(cond.get("expr"), str):
            self.add(where, f"{field}.expr", "missing (a JavaScript expression)"
                     if cond.get("expr") is None else "must be a string")

    def transform(self, t: Any, where: str, field: str) -> None:
        if not isinstance(t, dict):
            self.add(where, field, "an input transform must be an object with a type")
            return
        kind = t.get("type")
        if kind not in TRANSFORM_TYPES:
            self.add(where, f"{field}.type", f"must be static, javascript or ai, not {kind!r}")
        elif kind == "javascript" and not isinstance(t.get("expr"), str):
            self.add(where, f"{field}.expr", "missing (a JavaScript expression)"
                     if t.get("expr") is None else "must be a string")

    def transforms(self, value: dict[str, Any], where: str) -> None:
        transforms = value.get("input_transforms")
        if transforms is None:
            return
        if not isinstance(transforms, dict):
            self.add(where, "value.input_transforms", "must be an object (argument → transform)")
            return
        for name, t in transforms.items():
            self.transform(t, where, f"value.input_transforms.{name}")

    def value(self, value: dict[str, Any], where: str, path: list[str]) -> None:
        kind = value.get("type")
        if kind not in MODULE_TYPES:
            self.add(where, "value.type", "missing" if kind is None else
                     f"unknown type {kind!r} (expected one of {', '.join(sorted(MODULE_TYPES))})")
            return
        self.transforms(value, where)
        if kind == "rawscript":
            for key, what in (("content", "the script's code"), ("language", "e.g. python3")):
                if not isinstance(value.get(key), str) or (key == "language" and not value[key]):
                    self.add(where, f"value.{key}", f"missing ({what})" if value.get(key) is None
                             else "must be a non-empty string" if key == "language"
                             else "must be a string")
        elif kind in ("script", "flow"):
            if not isinstance(value.get("path"), str) or not value["path"]:
                self.add(where, "value.path", f"missing (the {kind}'s path)")
        elif kind in ("forloopflow", "whileloopflow"):
            if kind == "forloopflow":
                if value.get("iterator") is None:
                    self.add(where, "value.iterator", "missing (an input transform giving a list)")
                else:
                    self.transform(value["iterator"], where, "value.iterator")
            if value.get("parallelism") is not None:
                self.transform(value["parallelism"], where, "value.parallelism")
            self.container_modules(value, "modules", where, path)
        elif kind in ("branchone", "branchall"):
            self.branches(value, kind, where, path)
        elif kind == "aiagent":
            self.tools(value, where, path)

    def container_modules(self, value: dict[str, Any], key: str, where: str,
                          path: list[str]) -> None:
        if key not in value:
            self.add(where, f"value.{key}", "missing (a list of steps)")
        else:
            self.modules(value[key], path, f"value.{key}", where)

    def branches(self, value: dict[str, Any], kind: str, where: str, path: list[str]) -> None:
        branches = value.get("branches")
        if not isinstance(branches, list):
            self.add(where, "value.branches", "missing (a list of branches)" if branches is None
                     else "must be a list of branches")
            branches = []
        for index, branch in enumerate(branches):
            field = f"value.branches[{index}]"
            if not isinstance(branch, dict):
                self.add(where, field, "must be an object with modules")
                continue
            if kind == "branchone" and not isinstance(branch.get("expr"), str):
                self.add(where, f"{field}.expr", "missing (the branch's condition)"
                         if branch.get("expr") is None else "must be a string")
            if "modules" not in branch:
                self.add(where, f"{field}.modules", "missing (a list of steps)")
            else:
                self.modules(branch["modules"], [*path, f"branches[{index}]"], f"{field}.modules",
                             where)
        if kind == "branchone":
            if "default" not in value:
                self.add(where, "value.default", "missing (the steps run when no branch matches)")
            else:
                self.modules(value["default"], [*path, "default"], "value.default", where)

    def tools(self, value: dict[str, Any], where: str, path: list[str]) -> None:
        tools = value.get("tools")
        if tools is None:
            return
        if not isinstance(tools, list):
            self.add(where, "value.tools", "must be a list")
            return
        for index, tool in enumerate(tools):
            if not isinstance(tool, dict) or not isinstance(tool.get("value"), dict):
                self.add(where, f"value.tools[{index}]", "must be an object with id and value")
                continue
            name = tool.get("summary")
            if name is not None and not (isinstance(name, str) and _TOOL_NAME.fullmatch(name)):
                self.add(where, f"value.tools[{index}].summary",
                         "a tool's name may only hold letters, digits and _")
            if _is_module_tool(tool):
                self.module(tool, [*path, "tools"], f"value.tools[{index}]")


def _container(path: list[str]) -> str:
    return "/".join(path)


def _is_module_tool(tool: Any) -> bool:
    value = tool.get("value") if isinstance(tool, dict) else None
    return isinstance(value, dict) and value.get("tool_type", "flowmodule") == "flowmodule"


def _top_lists(flow_value: Any) -> Iterator[tuple[str, list[Any]]]:
    if not isinstance(flow_value, dict):
        return
    if isinstance(flow_value.get("modules"), list):
        yield "", flow_value["modules"]
    for label in ("failure_module", "preprocessor_module"):
        if isinstance(flow_value.get(label), dict):
            yield label, [flow_value[label]]


def _children(value: dict[str, Any]) -> Iterator[tuple[list[str], list[Any]]]:
    """The module lists directly inside a container value, with their path suffix."""
    kind = value.get("type")
    if kind in ("forloopflow", "whileloopflow") and isinstance(value.get("modules"), list):
        yield [], value["modules"]
    elif kind in ("branchone", "branchall"):
        for index, branch in enumerate(value.get("branches") or []):
            if isinstance(branch, dict) and isinstance(branch.get("modules"), list):
                yield [f"branches[{index}]"], branch["modules"]
        if kind == "branchone" and isinstance(value.get("default"), list):
            yield ["default"], value["default"]
    elif kind == "aiagent" and isinstance(value.get("tools"), list):
        yield ["tools"], [t for t in value["tools"] if _is_module_tool(t)]


def _walk(modules: list[Any], path: list[str]) -> Iterator[tuple[FlowModule, list[str]]]:
    for module in modules:
        if not isinstance(module, dict):
            continue
        yield module, list(path)  # type: ignore[misc]
        value = module.get("value")
        if isinstance(value, dict) and value.get("type") in CONTAINER_TYPES:
            here = [*path, str(module.get("id"))]
            for suffix, inner in _children(value):
                yield from _walk(inner, here + suffix)
