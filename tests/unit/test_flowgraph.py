"""The flow designer's model: exact round trips, each edit and its undo, validation, layout."""

from __future__ import annotations

import copy
import itertools
import json
from typing import Any

import pytest

from desktop_app.core.errors import UsageError
from desktop_app.flowgraph.commands import (
    MISSING,
    AddBranch,
    DeleteStep,
    DuplicateStep,
    InsertStep,
    MoveStep,
    RemoveBranch,
    ReplaceFlow,
    SetFlowProperty,
    SetStepProperty,
    UndoStack,
    WrapInLoop,
)
from desktop_app.flowgraph.layout import Rect, layout
from desktop_app.flowgraph.model import TOP, FlowDocument, ListRef, YamlError, load_yaml, new_id
from desktop_app.flowgraph.steps import KINDS, new_step
from desktop_app.flowgraph.validation import find_problems, problems_by_step


def js(expr: str) -> dict[str, Any]:
    return {"type": "javascript", "expr": expr}


def static(value: Any) -> dict[str, Any]:
    return {"type": "static", "value": value}


def every_kind_flow() -> dict[str, Any]:
    """One flow using every module type and every step option, plus keys nobody knows."""
    return {
        "summary": "Everything",
        "description": "every module type and option",
        "x-custom": {"kept": [1, 2, {"deep": True}]},
        "schema": {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                   "properties": {"items": {"type": "array", "items": {"type": "integer"}},
                                  "name": {"type": "string", "default": "yes"}},
                   "required": ["items"], "order": ["items", "name"]},
        "value": {
            "same_worker": False,
            "concurrent_limit": 3,
            "concurrency_time_window_s": 60,
            "early_return": "a",
            "cache_ttl": 600,
            "priority": 2,
            "flow_env": {"A": "b"},
            "unknown_flow_key": "kept",
            "preprocessor_module": {"id": "preprocessor", "value": {
                "type": "rawscript", "language": "python3",
                "content": "def preprocessor(event):\n    return event\n",
                "input_transforms": {}}},
            "failure_module": {"id": "failure", "value": {
                "type": "rawscript", "language": "bun",
                "content": "export function main(message: string) { return message }\n",
                "input_transforms": {"message": js("error.message")}}},
            "modules": [
                {"id": "a", "summary": "Inline", "value": {
                    "type": "rawscript", "language": "python3", "lock": "requests==2.0\n",
                    "tag": "gpu", "concurrent_limit": 1, "concurrency_time_window_s": 10,
                    "custom_concurrency_key": "k", "is_trigger": False, "asset_x": 1,
                    "content": "def main(x: int):\n    return x\n",
                    "input_transforms": {"x": js("flow_input.items.length"),
                                         "y": static({"nested": ["v", 0o17, "yes", "no"]})}},
                 "sleep": static(1), "timeout": js("60"), "cache_ttl": 30, "priority": 1,
                 "continue_on_error": False, "delete_after_use": True,
                 "retry": {"constant": {"attempts": 2, "seconds": 1},
                           "exponential": {"attempts": 1, "multiplier": 2, "seconds": 3,
                                           "random_factor": 10},
                           "retry_if": {"expr": "error.name == 'X'"}},
                 "skip_if": {"expr": "false"},
                 "stop_after_if": {"expr": "result < 0", "skip_if_stopped": True,
                                   "error_message": "negative"},
                 "mock": {"enabled": False, "return_value": {"x": 1}},
                 "debouncing": {"delay": 3}},
                {"id": "b", "value": {"type": "script", "path": "f/x/y", "hash": "abc",
                                      "tag_override": "t",
                                      "input_transforms": {"n": js("results.a")}}},
                {"id": "c", "value": {"type": "flow", "path": "f/x/sub",
                                      "input_transforms": {}}},
                {"id": "d", "value": {
                    "type": "forloopflow", "iterator": js("flow_input.items"),
                    "skip_failures": True, "parallel": True, "parallelism": static(4),
                    "modules": [{"id": "e", "value": {"type": "identity"}}]},
                 "stop_after_all_iters_if": {"expr": "false"}},
                {"id": "f", "value": {"type": "whileloopflow", "skip_failures": False,
                                      "modules": [{"id": "g", "value": {
                                          "type": "rawscript", "language": "bash",
                                          "content": "echo hi\n", "input_transforms": {}},
                                          "stop_after_if": {"expr": "true"}}]}},
                {"id": "h", "value": {"type": "branchone", "branches": [
                    {"summary": "big", "expr": "results.a > 3",
                     "modules": [{"id": "i", "value": {"type": "identity"}}]},
                    {"summary": "", "expr": "false", "modules": [], "parallel": False}],
                    "default": [{"id": "j", "value": {"type": "identity"}}]}},
                {"id": "k", "value": {"type": "branchall", "parallel": True, "branches": [
                    {"summary": "one", "skip_failure": True,
                     "modules": [{"id": "l", "value": {"type": "identity"}}]},
                    {"skip_failure": False, "modules": [
                        {"id": "m", "value": {"type": "identity"}}]}]}},
                {"id": "n", "summary": "Approve", "value": {"type": "identity"},
                 "suspend": {"required_events": 1, "timeout": 1800,
                             "resume_form": {"schema": {"properties": {}}},
                             "user_auth_required": True,
                             "user_groups_required": static(["admins"]),
                             "self_approval_disabled": True, "hide_cancel": False,
                             "continue_on_disapprove_timeout": False}},
                {"id": "o", "value": {"type": "aiagent", "tools": [],
                                      "input_transforms": {}}},
            ],
        },
    }


# -- round trips --------------------------------------------------------------------------


def test_open_and_save_without_edits_gives_the_same_yaml_and_json() -> None:
    original = every_kind_flow()
    text = FlowDocument(copy.deepcopy(original)).to_yaml()
    doc = FlowDocument(load_yaml(text))
    assert doc.flow == original  # nothing lost or added, unknown keys included
    assert doc.to_yaml() == text
    assert json.loads(FlowDocument(copy.deepcopy(original)).to_json()) == original


def test_every_module_type_round_trips_alone() -> None:
    for step, _ref, _i in FlowDocument(every_kind_flow()).walk():
        flow = {"summary": "", "value": {"modules": [copy.deepcopy(step)]}}
        text = FlowDocument(copy.deepcopy(flow)).to_yaml()
        assert load_yaml(text) == flow, step["id"]
        assert FlowDocument(load_yaml(text)).to_yaml() == text


def test_yaml_in_wmill_style_is_kept_byte_for_byte() -> None:
    text = ("summary: Demo\n"
            "description: ''\n"
            "value:\n"
            "  modules:\n"
            "    - id: a\n"
            "      value:\n"
            "        type: rawscript\n"
            "        content: |\n"
            "          def main():\n"
            "              return 1\n"
            "        input_transforms: {}\n"
            "        language: python3\n"
            "schema:\n"
            "  type: object\n"
            "  properties: {}\n"
            "  required: []\n")
    assert FlowDocument(load_yaml(text)).to_yaml() == text


def test_yaml_errors_name_the_line() -> None:
    with pytest.raises(YamlError) as info:
        load_yaml("summary: x\nvalue:\n  modules:\n    - id: a\n   bad: [\n")
    assert info.value.line == 5
    assert "line 5" in str(info.value)
    with pytest.raises(YamlError, match="needs `value:`") as info:
        load_yaml("summary: x\nvalue: 3\n")
    assert info.value.line == 2
    with pytest.raises(YamlError, match="mapping"):
        load_yaml("- a\n- b\n")


# -- commands -----------------------------------------------------------------------------


def _stack() -> tuple[FlowDocument, UndoStack]:
    doc = FlowDocument(every_kind_flow())
    return doc, UndoStack(doc)


def _check_undo_redo(stack: UndoStack, command: Any) -> dict[str, Any]:
    before = copy.deepcopy(stack.doc.flow)
    stack.push(command)
    after = copy.deepcopy(stack.doc.flow)
    assert after != before
    assert stack.undo()
    assert stack.doc.flow == before
    assert stack.redo()
    assert stack.doc.flow == after
    return after


def test_insert_step_on_an_edge_and_undo() -> None:
    doc, stack = _stack()
    for ref, index in [(TOP, 0), (TOP, 9), (ListRef("d", "modules"), 1),
                       (ListRef("h", "branches", 1), 0), (ListRef("h", "default"), 0)]:
        sid = new_id(doc.ids())
        _check_undo_redo(stack, InsertStep(ref, index, new_step("rawscript", sid)))
        assert doc.steps(ref)[index]["id"] == sid
    with pytest.raises(UsageError, match="already exists"):
        stack.push(InsertStep(TOP, 0, new_step("identity", "a")))
    with pytest.raises(UsageError, match="position 99"):
        stack.push(InsertStep(TOP, 99, new_step("identity", "zz")))


def test_delete_duplicate_move_and_their_undo() -> None:
    doc, stack = _stack()
    after = _check_undo_redo(stack, DeleteStep("b"))
    assert "b" not in FlowDocument(after).ids()
    stack.undo()
    dup = DuplicateStep("h")
    _check_undo_redo(stack, dup)
    ref, index = doc.locate(dup.new_id)  # type: ignore[arg-type]
    assert (ref, index) == (TOP, doc.locate("h")[1] + 1)
    assert len(set(doc.ids())) == len(doc.ids())  # the copy's inner steps got new ids too
    stack.undo()
    _check_undo_redo(stack, MoveStep("a", TOP, 3))
    assert [s["id"] for s in doc.steps(TOP)][:4] == ["b", "c", "d", "a"]
    stack.undo()
    _check_undo_redo(stack, MoveStep("c", ListRef("k", "branches", 0), 1))
    assert [s["id"] for s in doc.steps(ListRef("k", "branches", 0))] == ["l", "c"]
    stack.undo()
    with pytest.raises(UsageError, match="into itself"):
        stack.push(MoveStep("d", ListRef("d", "modules"), 0))
    assert doc.flow == every_kind_flow()


def test_property_edits_and_their_undo_leave_no_trace() -> None:
    doc, stack = _stack()
    _check_undo_redo(stack, SetStepProperty("a", ("value", "content"), "def main(): pass\n"))
    _check_undo_redo(stack, SetStepProperty("b", "retry.constant.attempts", 5))
    assert doc.module("b")["retry"] == {"constant": {"attempts": 5}}
    stack.undo()
    assert "retry" not in doc.module("b")  # the created mappings went away with the undo
    _check_undo_redo(stack, SetStepProperty("a", ("sleep",), MISSING))
    _check_undo_redo(stack, SetFlowProperty(("schema", "properties", "extra"),
                                            {"type": "string"}))
    _check_undo_redo(stack, SetFlowProperty("summary", "renamed"))
    for _ in range(len(stack.done)):
        stack.undo()
    assert doc.flow == every_kind_flow()


def test_branches_loops_and_replace_with_their_undo() -> None:
    doc, stack = _stack()
    _check_undo_redo(stack, AddBranch("k"))
    assert len(doc.module("k")["value"]["branches"]) == 3
    stack.undo()
    _check_undo_redo(stack, RemoveBranch("h", 0))
    assert doc.module("h")["value"]["branches"][0]["expr"] == "false"
    stack.undo()
    with pytest.raises(UsageError, match="not a branch"):
        stack.push(AddBranch("a"))
    wrap = WrapInLoop("b")
    _check_undo_redo(stack, wrap)
    loop = doc.module(wrap.loop_id)  # type: ignore[arg-type]
    assert loop["value"]["modules"][0]["id"] == "b"
    assert doc.locate("b")[0] == ListRef(wrap.loop_id, "modules")
    stack.undo()
    _check_undo_redo(stack, ReplaceFlow({"summary": "new", "value": {"modules": []}}))
    with pytest.raises(UsageError):
        stack.push(ReplaceFlow({"value": {"modules": 3}}))
    stack.undo()
    assert doc.flow == every_kind_flow()


def test_undo_stack_tracks_dirty_and_clears_redo_on_new_edits() -> None:
    _doc, stack = _stack()
    assert not stack.dirty and not stack.undo() and not stack.redo()
    stack.push(SetFlowProperty("summary", "one"))
    assert stack.dirty
    stack.mark_clean()
    assert not stack.dirty
    stack.undo()
    assert stack.dirty
    stack.push(SetFlowProperty("summary", "two"))
    assert stack.undone == [] and stack.dirty


def test_every_new_step_kind_is_a_valid_module() -> None:
    doc = FlowDocument.empty()
    doc.flow["schema"]["properties"]["items"] = {"type": "array"}
    stack = UndoStack(doc)
    for kind in KINDS:
        stack.push(InsertStep(TOP, len(doc.steps(TOP)), new_step(kind, new_id(doc.ids()),
                                                                   path="f/x/y")))
    assert [p for p in find_problems(doc) if "has not run" not in p.message] == []


def test_new_ids_skip_taken_ones() -> None:
    assert new_id([]) == "a"
    assert new_id(["a", "b"]) == "c"
    assert new_id([chr(c) for c in range(ord("a"), ord("z") + 1)]) == "aa"


# -- validation ---------------------------------------------------------------------------


def test_problems_point_at_the_step() -> None:
    flow = every_kind_flow()
    mods = flow["value"]["modules"]
    mods[1]["value"]["input_transforms"]["n"] = js("results.nope + results.c")
    mods[0]["value"]["input_transforms"].pop("x")  # a required argument of main(x: int)
    mods[3]["value"]["iterator"] = js("  ")
    mods[2]["value"]["input_transforms"]["q"] = js("flow_input.missing + flow_input.name")
    mods[4]["value"]["modules"][0]["id"] = "a"  # a duplicate id
    del mods[5]["value"]["branches"][0]["expr"]
    found = problems_by_step(find_problems(FlowDocument(flow)))
    assert found["b"] == ["input n: results.nope — there is no step 'nope'",
                          "input n: results.c — step 'c' has not run yet at this point"]
    assert found["a"][0].startswith("step 'a' in f: id: duplicate id")
    assert "input x is required and has no value" in found["a"]
    assert any("loop has no iterator" in m for m in found["d"])
    assert found["c"] == ["input q: flow_input.missing — the flow has no input 'missing' "
                          "(add it under Flow inputs)"]
    assert any("branches[0].expr: missing" in m for m in found["h"])


def test_results_of_parallel_branches_are_not_visible_to_each_other() -> None:
    flow = every_kind_flow()
    flow["value"]["modules"][6]["value"]["branches"][1]["modules"][0]["value"] = {
        "type": "rawscript", "language": "python3", "content": "def main(v):\n    return v\n",
        "input_transforms": {"v": js("results.l")}}
    found = problems_by_step(find_problems(FlowDocument(flow)))
    assert found["m"] == ["input v: results.l — step 'l' has not run yet at this point"]


def test_visible_results_agree_with_ids_before() -> None:
    doc = FlowDocument(every_kind_flow())
    visible = doc.visible_results()
    assert set(visible) == {str(s["id"]) for s, _r, _i in doc.walk()}
    for sid, ids in visible.items():
        assert ids == set(doc.ids_before(sid)), sid
    assert visible["m"] == {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}


def test_a_valid_flow_has_no_problems() -> None:
    assert find_problems(FlowDocument(every_kind_flow())) == []


# -- layout -------------------------------------------------------------------------------


def _assert_geometry(doc: FlowDocument) -> None:
    out = layout(doc)
    nodes = {n.key: n for n in out.nodes}
    assert set(nodes) == {"input", "result", *doc.ids()}
    # Nodes that are not containers of one another never overlap.
    for a, b in itertools.combinations(out.nodes, 2):
        if a.rect.contains(b.rect) or b.rect.contains(a.rect):
            continue
        assert not a.rect.overlaps(b.rect), (a.key, b.key)
    # Every inner step lies inside its container, below the container's title band.
    for step, ref, _i in doc.walk():
        if ref.owner is not None:
            outer = nodes[ref.owner]
            inner = nodes[str(step["id"])].rect
            assert outer.rect.contains(inner), (ref.owner, step["id"])
            assert outer.header is not None and inner.y >= outer.header.bottom
            assert nodes[str(step["id"])].depth == outer.depth + 1
    # Steps of one list go top to bottom in order; branch columns left to right.
    for ref_steps in _lists(doc):
        ys = [nodes[str(s["id"])].rect.y for s in ref_steps]
        assert ys == sorted(ys)
    for label_a, label_b in itertools.combinations(out.labels, 2):
        assert not label_a.rect.overlaps(label_b.rect)
    # Edges are made of vertical and horizontal segments only.
    for edge in out.edges:
        for (x1, y1), (x2, y2) in itertools.pairwise(edge):
            assert x1 == x2 or y1 == y2
    # The picture fits in its declared size.
    everything = Rect(0, 0, out.width, out.height)
    assert all(everything.contains(n.rect) for n in out.nodes)


def _lists(doc: FlowDocument) -> list[list[dict[str, Any]]]:
    out = [doc.steps(TOP)]
    for step, _ref, _i in doc.walk():
        from desktop_app.flowgraph.model import child_lists

        out.extend(inner for _r, inner in child_lists(step))
    return out


def test_layout_of_every_kind_has_no_overlaps_and_nests_containers() -> None:
    _assert_geometry(FlowDocument(every_kind_flow()))


def test_layout_of_branches_side_by_side_and_error_handler_aside() -> None:
    doc = FlowDocument(every_kind_flow())
    out = layout(doc)
    i, j = out.node("i").rect, out.node("j").rect
    assert i.right <= j.x and abs(i.y - j.y) < 1  # branch 1 beside the default, same row
    fail, pre, start = out.node("failure").rect, out.node("preprocessor").rect, out.node("input")
    assert fail.y == pre.y == start.rect.y and start.rect.right < pre.x < fail.x
    labels = [lab.text for lab in out.labels if lab.owner == "h"]
    assert labels == ["big: results.a > 3", "Branch 2: false", "Default"]
    # One "+" per gap: before, between and after the steps of each list.
    assert sum(1 for p in out.inserts if p.ref == TOP) == len(doc.steps(TOP)) + 1
    assert any(p.ref == ListRef("h", "branches", 1) and p.index == 0 for p in out.inserts)


def test_layout_of_deeply_nested_and_long_flows() -> None:
    doc = FlowDocument.empty()
    stack = UndoStack(doc)
    for n in range(30):
        stack.push(InsertStep(TOP, n, new_step("rawscript", f"s{n}")))
    stack.push(InsertStep(TOP, 5, new_step("branchall", "br")))
    stack.push(InsertStep(ListRef("br", "branches", 0), 0, new_step("forloopflow", "lp")))
    stack.push(InsertStep(ListRef("lp", "modules"), 0, new_step("branchone", "b1")))
    stack.push(InsertStep(ListRef("b1", "default"), 0, new_step("rawscript", "deep")))
    stack.push(AddBranch("b1"))
    stack.push(InsertStep(ListRef("b1", "branches", 1), 0, new_step("whileloopflow", "wl")))
    stack.push(InsertStep(ListRef("wl", "modules"), 0, new_step("approval", "ok")))
    _assert_geometry(doc)
    assert layout(doc).node("deep").depth == 3


def test_step_args_from_static_values_and_plain_paths() -> None:
    from desktop_app.flowgraph.step_args import NotTestable, step_args

    transforms = {"a": static(3), "b": js("flow_input.name"), "c": js("results.x.items[1]"),
                  "d": js('results["x"].items[0]'), "e": static(None)}
    assert step_args(transforms, {"name": "ada"}, {"x": {"items": [5, 6]}}) == {
        "a": 3, "b": "ada", "c": 6, "d": 5}
    with pytest.raises(NotTestable, match=r"input b: flow_input\.name has no value yet"):
        step_args(transforms, {}, {"x": {"items": [5, 6]}})
    with pytest.raises(NotTestable, match="not a plain path"):
        step_args({"q": js("results.x + 1")}, {}, {"x": 1})
