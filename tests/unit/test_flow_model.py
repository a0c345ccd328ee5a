"""OpenFlow validation (every rule, all problems at once) and traversal."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from desktop_app.core.errors import UsageError
from desktop_app.flows.model import InvalidFlow, find_module, iter_modules, validate_flow


def js(expr: str) -> dict[str, Any]:
    return {"type": "javascript", "expr": expr}


def raw(module_id: str, **extra: Any) -> dict[str, Any]:
    return {"id": module_id, "value": {"type": "rawscript", "language": "python3",
                                       "content": "def main(): return 1",
                                       "input_transforms": {}}, **extra}


def good_flow() -> dict[str, Any]:
    return {
        "summary": "everything",
        "description": "a flow using every kind of step",
        "value": {
            "modules": [
                raw("a", summary="first", skip_if={"expr": "false"},
                    stop_after_if={"expr": "result == 1", "error_message": None},
                    sleep={"type": "static", "value": 1}, timeout=js("10"),
                    retry={"constant": {"attempts": 2, "seconds": 1},
                           "retry_if": {"expr": "error != null"}}),
                {"id": "s", "value": {"type": "script", "path": "f/x/y",
                                      "input_transforms": {"n": {"type": "static", "value": 2},
                                                           "m": js("results.a")}}},
                {"id": "sub", "value": {"type": "flow", "path": "f/x/subflow",
                                        "input_transforms": {}}},
                {"id": "loop", "value": {
                    "type": "forloopflow", "iterator": js("[1, 2]"), "skip_failures": True,
                    "parallelism": {"type": "static", "value": 2},
                    "modules": [raw("in_loop")]},
                 "stop_after_all_iters_if": {"expr": "all_iters.length > 1"}},
                {"id": "while", "value": {"type": "whileloopflow", "skip_failures": False,
                                          "modules": [raw("in_while")]}},
                {"id": "pick", "value": {
                    "type": "branchone",
                    "branches": [{"expr": "flow_input.x", "modules": [raw("b0")]},
                                 {"expr": "true", "summary": "else", "modules": []}],
                    "default": [{"id": "nested", "value": {
                        "type": "branchall", "parallel": True,
                        "branches": [{"modules": [raw("deep")]}]}}]}},
                {"id": "ident", "value": {"type": "identity"}},
                {"id": "agent", "value": {
                    "type": "aiagent", "input_transforms": {"provider": js("1")},
                    "tools": [{"id": "tool_a", "summary": "lookup_user",
                               "value": {"tool_type": "flowmodule", "type": "script",
                                         "path": "f/x/lookup", "input_transforms": {}}},
                              {"id": "web", "summary": "search",
                               "value": {"tool_type": "websearch"}}]}},
                {"id": "wait", "value": {"type": "identity"},
                 "suspend": {"required_events": 1, "timeout": 60,
                             "user_groups_required": js("['admins']")}},
            ],
            "failure_module": raw("failure"),
            "preprocessor_module": raw("preprocessor"),
            "early_return": "s",
        },
        "schema": {"type": "object", "properties": {}},
    }


def problems(flow: dict[str, Any]) -> list[str]:
    with pytest.raises(InvalidFlow) as info:
        validate_flow(flow)
    assert isinstance(info.value, UsageError)
    assert all(p in str(info.value) for p in info.value.problems)
    return info.value.problems


def test_a_complete_flow_is_valid() -> None:
    validate_flow(good_flow())


def test_unknown_keys_are_allowed_and_kept() -> None:
    flow = good_flow()
    flow["future_top_level"] = {"x": 1}
    flow["value"]["notes"] = [{"id": "n1", "text": "hi"}]
    flow["value"]["modules"][0]["debouncing"] = {"debounce_delay_s": 3}
    flow["value"]["modules"][0]["value"]["assets"] = [{"path": "s3://x", "kind": "s3object"}]
    before = copy.deepcopy(flow)
    validate_flow(flow)
    assert list(iter_modules(flow["value"]))
    assert flow == before


def test_missing_modules() -> None:
    assert problems({"summary": "x", "value": {}}) == [
        "value.modules: missing (the list of steps)"]
    assert problems({"summary": "x"}) == ["value: missing (an object holding modules)"]
    assert problems({"summary": "x", "value": {"modules": {}}}) == [
        "value.modules: must be a list of steps"]


def test_all_problems_are_listed_with_where_and_what() -> None:
    flow = {"summary": "x", "value": {"modules": [
        {"id": "a", "value": {"type": "rawscript"}},
        {"id": "a", "value": {"type": "script"}},
        {"id": "bad id!", "value": {"type": "teleport"}},
        {"value": {"type": "identity"}},
        {"id": "b"},
    ]}}
    assert problems(flow) == [
        "step 'a': value.content: missing (the script's code)",
        "step 'a': value.language: missing (e.g. python3)",
        "step 'a': id: duplicate id (also used by the step at value.modules[0])",
        "step 'a': value.path: missing (the script's path)",
        "step 'bad id!': id: only letters, digits, _ and - are allowed",
        "step 'bad id!': value.type: unknown type 'teleport' (expected one of aiagent, "
        "branchall, branchone, flow, forloopflow, identity, rawscript, script, whileloopflow)",
        "step at value.modules[3]: id: missing",
        "step 'b': value: missing",
    ]


def test_duplicate_ids_anywhere_in_the_flow() -> None:
    flow = good_flow()
    flow["value"]["modules"][5]["value"]["default"][0]["value"]["branches"][0]["modules"].append(
        raw("in_loop"))
    assert problems(flow) == [
        "step 'in_loop' in pick/default/nested/branches[0]: id: duplicate id "
        "(also used by the step at value.modules[0] in loop)"]


def test_nested_problems_name_their_containers() -> None:
    flow = good_flow()
    loop = flow["value"]["modules"][3]["value"]
    loop["modules"][0]["value"]["language"] = ""
    del loop["iterator"]
    pick = flow["value"]["modules"][5]["value"]
    del pick["branches"][0]["expr"]
    pick["branches"][1]["modules"] = [{"id": "x", "value": {"type": "flow"}}]
    assert problems(flow) == [
        "step 'loop': value.iterator: missing (an input transform giving a list)",
        "step 'in_loop' in loop: value.language: must be a non-empty string",
        "step 'pick': value.branches[0].expr: missing (the branch's condition)",
        "step 'x' in pick/branches[1]: value.path: missing (the flow's path)",
    ]


def test_containers_need_their_lists() -> None:
    flow = {"summary": "x", "value": {"modules": [
        {"id": "l", "value": {"type": "forloopflow", "iterator": js("[]")}},
        {"id": "w", "value": {"type": "whileloopflow", "modules": "nope"}},
        {"id": "b1", "value": {"type": "branchone"}},
        {"id": "b2", "value": {"type": "branchall", "branches": [{"summary": "no modules"}, 3]}},
    ]}}
    assert problems(flow) == [
        "step 'l': value.modules: missing (a list of steps)",
        "step 'w': value.modules: must be a list of steps",
        "step 'b1': value.branches: missing (a list of branches)",
        "step 'b1': value.default: missing (the steps run when no branch matches)",
        "step 'b2': value.branches[0].modules: missing (a list of steps)",
        "step 'b2': value.branches[1]: must be an object with modules",
    ]


def test_input_transforms_and_conditions() -> None:
    flow = good_flow()
    a = flow["value"]["modules"][0]
    a["value"]["input_transforms"] = {"x": {"type": "js", "expr": "1"}, "y": {"type": "javascript"},
                                      "z": "flow_input.z"}
    a["skip_if"] = {"exp": "true"}
    a["retry"]["retry_if"] = "error"
    a["sleep"] = {"value": 3}
    flow["value"]["modules"][3]["value"]["iterator"] = {"type": "javascript", "expr": 5}
    assert problems(flow) == [
        "step 'a': skip_if.expr: missing (a JavaScript expression)",
        "step 'a': retry.retry_if: must be an object with expr",
        "step 'a': sleep.type: must be static, javascript or ai, not None",
        "step 'a': value.input_transforms.x.type: must be static, javascript or ai, not 'js'",
        "step 'a': value.input_transforms.y.expr: missing (a JavaScript expression)",
        "step 'a': value.input_transforms.z: an input transform must be an object with a type",
        "step 'loop': value.iterator.expr: must be a string",
    ]


def test_failure_and_preprocessor_modules() -> None:
    flow = good_flow()
    flow["value"]["failure_module"] = {"id": "on_error", "value": {"type": "identity"}}
    flow["value"]["preprocessor_module"]["id"] = "pre"
    assert problems(flow) == [
        "step 'on_error' in failure_module: id: the failure_module must have id 'failure'",
        "step 'on_error' in failure_module: value.type: the failure_module must be a script "
        "or rawscript, not 'identity'",
        "step 'pre' in preprocessor_module: id: the preprocessor_module must have id "
        "'preprocessor'",
    ]


def test_failure_module_id_counts_for_duplicates() -> None:
    flow = good_flow()
    flow["value"]["modules"].append(raw("failure"))
    assert problems(flow) == [
        "step 'failure' in failure_module: id: duplicate id (also used by the step at "
        "value.modules[9])"]


def test_early_return_must_name_a_step_and_tools_are_checked() -> None:
    flow = good_flow()
    flow["value"]["early_return"] = "nope"
    tools = flow["value"]["modules"][7]["value"]["tools"]
    tools[0]["summary"] = "bad name"
    tools[0]["value"]["path"] = ""
    assert problems(flow) == [
        "step 'agent': value.tools[0].summary: a tool's name may only hold letters, digits and _",
        "step 'tool_a' in agent/tools: value.path: missing (the script's path)",
        "value.early_return: no step has id 'nope'",
    ]


def test_not_a_mapping() -> None:
    assert problems([]) == ["the flow must be an object (with summary and value)"]  # type: ignore[arg-type]


def test_iter_modules_gives_every_module_with_its_container_path() -> None:
    got = [(m["id"], path) for m, path in iter_modules(good_flow()["value"])]
    assert got == [
        ("a", []), ("s", []), ("sub", []), ("loop", []), ("in_loop", ["loop"]),
        ("while", []), ("in_while", ["while"]), ("pick", []), ("b0", ["pick", "branches[0]"]),
        ("nested", ["pick", "default"]), ("deep", ["pick", "default", "nested", "branches[0]"]),
        ("ident", []), ("agent", []), ("tool_a", ["agent", "tools"]), ("wait", []),
        ("failure", ["failure_module"]), ("preprocessor", ["preprocessor_module"]),
    ]


def test_iter_modules_skips_malformed_parts() -> None:
    value = {"modules": [3, {"id": "l", "value": {"type": "forloopflow", "modules": None}},
                         {"id": "b", "value": {"type": "branchone", "branches": [None]}}]}
    assert [m["id"] for m, _ in iter_modules(value)] == ["l", "b"]
    assert list(iter_modules({})) == []


def test_find_module() -> None:
    value = good_flow()["value"]
    deep = find_module(value, "deep")
    assert deep is not None and deep["value"]["type"] == "rawscript"
    assert find_module(value, "failure") is value["failure_module"]
    assert find_module(value, "missing") is None


def _step(sid: str, expr: str = "flow_input.x", **more: Any) -> dict[str, Any]:
    return {"id": sid, "value": {"type": "identity", "input_transforms": {
        "v": {"type": "javascript", "expr": expr}}}, **more}


def _problems(modules: list[dict[str, Any]]) -> list[str]:
    with pytest.raises(InvalidFlow) as caught:
        validate_flow({"summary": "", "value": {"modules": modules}})
    return caught.value.problems


def test_reading_a_step_that_has_not_run_yet_is_refused_naming_both() -> None:
    assert _problems([_step("a", "results.b"), _step("b")]) == [
        "step 'a': input v: results.b — step 'b' has not run yet at this point"]
    assert _problems([_step("a", "results.a + 1")]) == [
        "step 'a': input v: results.a — a step cannot read its own result (stop_after_if "
        "reads it as `result`)"]
    assert _problems([_step("a", "results['ghost']")]) == [
        "step 'a': input v: results.ghost — there is no step 'ghost'"]
    assert _problems([_step("a", "1", skip_if={"expr": "results.b > 1"}), _step("b")]) == [
        "step 'a': skip_if: results.b — step 'b' has not run yet at this point"]


def test_parallel_branches_do_not_see_each_other_but_later_steps_see_inside() -> None:
    fork = {"id": "fork", "value": {"type": "branchall", "branches": [
        {"modules": [_step("left")]}, {"modules": [_step("right", "results.left")]}]}}
    assert _problems([fork]) == [
        "step 'right': input v: results.left — step 'left' has not run yet at this point"]
    fork["value"]["branches"][1]["modules"] = [_step("right", "flow_input.x")]
    loop = {"id": "loop", "value": {"type": "forloopflow", "modules": [_step("inner", "results.fork")],
                                    "iterator": {"type": "javascript", "expr": "results.right"}}}
    validate_flow({"value": {"modules": [fork, loop, _step("after", "results.inner + results.loop")]}})
