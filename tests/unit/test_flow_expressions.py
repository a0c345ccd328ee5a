"""Windmill expressions in QuickJS: scope names, callbacks, errors, limits, isolation, and
the Python fast path agreeing with JS."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from desktop_app.core.errors import NotFound, UsageError
from desktop_app.flows.expressions import ExpressionError, ExpressionEvaluator

SCOPE: dict[str, Any] = {
    "flow_input": {"x": 3, "name": "ada", "iter": {"value": {"id": 7}, "index": 2},
                   "Open AI": "key", "list": [1, 2, 3], "nothing": None, "0": "zero"},
    "results": {"a": {"b": [10, {"c": "deep"}], "s": "text", "n": 1.5, "t": True},
                "loop": [1, None, 3], "with-dash": 4},
    "previous_result": {"ok": 1},
    "params": {"first": "p"},
    "resume": {"approved": True},
    "resumes": [{"approved": True}],
    "approvers": ["alice"],
    "result": 42,
    "all_iters": [1, 2],
    "flow_env": {"REGION": "eu"},
}


@pytest.fixture(scope="module")
def ev() -> ExpressionEvaluator:
    return ExpressionEvaluator()


@pytest.fixture(scope="module")
def js_only() -> ExpressionEvaluator:
    return ExpressionEvaluator(fast_path=False)


@pytest.mark.parametrize(("expr", "expected"), [
    ("flow_input.x + 1", 4),
    ("flow_input.iter.value.id * flow_input.iter.index", 14),
    ("results.a.b[1].c.toUpperCase()", "DEEP"),
    ("previous_result.ok === 1", True),
    ("params.first + '!'", "p!"),
    ("resume.approved && resumes.length === 1", True),
    ("approvers[0]", "alice"),
    ("result > 40", True),
    ("all_iters.reduce((a, b) => a + b, 0)", 3),
    ("flow_env.REGION", "eu"),
    ("`${flow_input.name}-${flow_input.x}`", "ada-3"),
    ("results.loop.filter(x => x !== null)", [1, 3]),
    ("({a: 1, b: [undefined, () => 1]})", {"a": 1, "b": [None, None]}),
    ("new Date(0)", "1970-01-01T00:00:00.000Z"),
    ("undefined", None),
    ("1 / 0", None),  # JSON.stringify(Infinity) is null
    ("  flow_input.x  ", 3),
])
def test_scope_names_are_js_globals(ev: ExpressionEvaluator, expr: str, expected: Any) -> None:
    assert ev.evaluate(expr, SCOPE) == expected


def test_multi_line_and_statement_bodies(ev: ExpressionEvaluator) -> None:
    assert ev.evaluate("flow_input.list\n  .map(x => x * 2)\n  .join(',')", SCOPE) == "2,4,6"
    body = "const total = flow_input.list.reduce((a, b) => a + b);\nif (total > 5) {\n" \
           "  return 'big';\n}\nreturn 'small';"
    assert ev.evaluate(body, SCOPE) == "big"
    # As in Windmill: without `return `, the text is one expression after `return`.
    assert ev.evaluate("1; 2", {}) == 1
    # Text holding `return ` that is an expression gives its value (Windmill: null).
    assert ev.evaluate("(function r(n) { return n ? r(n - 1) : 'done' })(3)", {}) == "done"
    assert ev.evaluate("'return ' + flow_input.x", SCOPE) == "return 3"


def test_await_is_allowed(ev: ExpressionEvaluator) -> None:
    assert ev.evaluate("await Promise.resolve(flow_input.x)", SCOPE) == 3
    assert ev.evaluate("const v = await new Promise(r => r(5));\nreturn v + 1", {}) == 6


def test_error_defaults_to_previous_results_error(ev: ExpressionEvaluator) -> None:
    failed = {"previous_result": {"error": {"message": "boom", "name": "ValueError"}}}
    assert ev.evaluate("error.message", failed) == "boom"
    assert ev.evaluate("error.name + ': ' + error.message", failed) == "ValueError: boom"
    assert ev.evaluate("error", {"previous_result": 1, "error": {"m": 1}}) == {"m": 1}


def test_variable_and_resource_call_back_into_python(ev: ExpressionEvaluator) -> None:
    calls: list[str] = []

    def variable(path: str) -> str:
        calls.append(path)
        return f"value of {path}"

    def resource(path: str) -> dict[str, Any]:
        return {"host": "db", "path": path}

    got = ev.evaluate("[variable('u/a/x'), resource(\"f/db/main\").host, "
                      "await variable(`u/a/${flow_input.name}`)]",
                      SCOPE, variable=variable, resource=resource)
    assert got == ["value of u/a/x", "db", "value of u/a/ada"]
    assert sorted(set(calls)) == ["u/a/ada", "u/a/x"]
    # Values are real JSON objects in JS.
    assert ev.evaluate("Object.keys(resource('r')).length", {}, resource=resource) == 2


def test_callback_failures_are_js_errors_the_expression_can_catch(
        ev: ExpressionEvaluator) -> None:
    def variable(path: str) -> str:
        raise NotFound(f"variable {path} not found")

    with pytest.raises(ExpressionError) as info:
        ev.evaluate("variable('u/missing')", {}, variable=variable)
    assert 'variable("u/missing"): variable u/missing not found' in str(info.value)
    assert isinstance(info.value.__cause__, NotFound)
    assert ev.evaluate("(() => { try { return variable('u/m') } catch (e) { return 'dflt' } })()",
                       {}, variable=variable) == "dflt"


def test_missing_callback_is_a_clear_error(ev: ExpressionEvaluator) -> None:
    with pytest.raises(ExpressionError, match=r"resource\(\) is not available here"):
        ev.evaluate("resource('f/x')", {})


def test_errors_show_the_expression_and_the_js_message(ev: ExpressionEvaluator) -> None:
    with pytest.raises(ExpressionError) as info:
        ev.evaluate("results.a.x +", SCOPE)
    e = info.value
    assert isinstance(e, UsageError) and e.http_status == 400
    assert e.expr == "results.a.x +"
    assert e.js_message.startswith("SyntaxError:")
    assert str(e).startswith('expression "results.a.x +" failed: SyntaxError: ')

    with pytest.raises(ExpressionError) as info:
        ev.evaluate("results.nope.x", SCOPE)
    assert info.value.js_message == "TypeError: cannot read property 'x' of undefined"
    with pytest.raises(ExpressionError, match="ReferenceError: 'resume' is not defined"):
        ev.evaluate("resume.approved", {"flow_input": {}})
    with pytest.raises(ExpressionError, match="Error: custom"):
        ev.evaluate("(() => { throw new Error('custom') })()", {})
    with pytest.raises(ExpressionError, match=r'uncaught exception: \{"code":7\}'):
        ev.evaluate("(() => { throw {code: 7} })()", {})


def test_results_have_json_types(ev: ExpressionEvaluator) -> None:
    for expr, expected in [("4 / 2", 2), ("2 ** 40", 2**40), ("-0", 0), ("0.5 + 1", 1.5),
                           ("'s'", "s"), ("true", True), ("null", None), ("NaN", None),
                           ("[1, 'a', null]", [1, "a", None]), ("({})", {})]:
        got = ev.evaluate(expr, {})
        assert got == expected and type(got) is type(expected), expr


def test_time_limit() -> None:
    ev = ExpressionEvaluator(time_limit_s=0.2)
    started = time.monotonic()
    with pytest.raises(ExpressionError, match=r"longer than the 0.2 s time limit"):
        ev.evaluate("(() => { while (true) {} })()", {})
    assert time.monotonic() - started < 1.5
    with pytest.raises(ExpressionError, match="time limit"):
        ev.evaluate("(async () => { for (;;) await null })(); return await new Promise(() => {})",
                    {})
    assert ev.evaluate("flow_input.x * 2", {"flow_input": {"x": 2}}) == 4  # still usable
    assert ev.evaluate("variable('a')", {}, variable=lambda p: "v") == "v"  # ditto with callbacks


def test_memory_limit() -> None:
    ev = ExpressionEvaluator(memory_limit_bytes=8 * 2**20)
    with pytest.raises(ExpressionError, match="8 MiB memory limit"):
        ev.evaluate("'x'.repeat(2**20).repeat(20).length", {})
    with pytest.raises(ExpressionError, match="memory limit"):
        ev.evaluate("(() => { const a = []; for (;;) a.push([1, 2, 3]); })()", {})
    assert ev.evaluate("'x'.repeat(2**20).length", {}) == 2**20  # fits; the context recovered


def test_deep_recursion_is_an_error_not_a_crash(ev: ExpressionEvaluator) -> None:
    assert ev.evaluate("(function r(n) { return n ? r(n - 1) : 'done' })(500)", {}) == "done"
    with pytest.raises(ExpressionError, match="stack overflow"):
        ev.evaluate("(function r(n) { return r(n + 1) })(0)", {})


def test_nothing_leaks_between_evaluations(js_only: ExpressionEvaluator) -> None:
    ev = js_only
    assert ev.evaluate("results.a", {"results": {"a": 1}}) == 1
    with pytest.raises(ExpressionError, match="'results' is not defined"):
        ev.evaluate("results.a", {"flow_input": {}})
    # Implicit globals, globalThis writes and built-in tampering cannot stick.
    ev.evaluate("leaked = 1", {})
    ev.evaluate("globalThis.leaked2 = results", {"results": {"secret": 1}})
    ev.evaluate("(() => { try { Array.prototype.map = null } catch (e) {} })()", {})
    ev.evaluate("(() => { try { JSON.parse = null } catch (e) {} })()", {})
    assert ev.evaluate("typeof leaked + typeof leaked2", {}) == "undefinedundefined"
    assert ev.evaluate("[1, 2].map(x => x + 1)", {}) == [2, 3]
    assert ev.evaluate("JSON.parse('[1]')", {}) == [1]
    with pytest.raises(ExpressionError, match="eval"):
        ev.evaluate("(0, eval)('let sticky = 1')", {})
    # Mutating a scope value in JS changes neither the caller's data nor the next call.
    scope = {"flow_input": {"list": [1]}}
    ev.evaluate("flow_input.list.push(2)", scope)
    assert scope == {"flow_input": {"list": [1]}}
    assert ev.evaluate("flow_input.list.length", scope) == 1
    # Ordinary JS that writes inherited names still works once built-ins are frozen.
    assert ev.evaluate("const e = new Error('m'); e.name = 'Custom'; return String(e)",
                       {}) == "Custom: m"
    assert ev.evaluate("const o = {}; o.toString = () => 'mine'; return `${o}`", {}) == "mine"


PATHS = [
    "flow_input", "flow_input.x", "flow_input.name", "flow_input.missing", "flow_input['name']",
    'flow_input["Open AI"]', "flow_input.iter.value", "flow_input.iter.value.id",
    "flow_input.iter.index", "flow_input.list[0]", "flow_input.list[2]", "flow_input.list[3]",
    "flow_input.list.length", "flow_input.list['1']", "flow_input.nothing",
    "flow_input.nothing?.x", "flow_input.missing?.x.y.z", "flow_input[0]", "flow_input['0']",
    "results.a", "results.a.b", "results.a.b[1].c", 'results["a"]["b"][0]', "results?.a?.s",
    "results.a.n", "results.a.t", "results.loop[1]", "results.loop[1]?.x", "results['with-dash']",
    "results.missing", "results.missing?.[0]", "previous_result", "previous_result.ok",
    "flow_env.REGION", "resume", "approvers[0]", "result", "all_iters[1]",
    # Fall back to JS (the answer is not a plain read): prototypes, strings, primitives.
    "flow_input.toString", "flow_input.constructor", "results.a.b.map", "results.a.s.length",
    "results.a.s[0]", "flow_input.x.toFixed", "flow_input.__proto__",
]


@pytest.mark.parametrize("path", PATHS)
def test_fast_path_equals_js(ev: ExpressionEvaluator, js_only: ExpressionEvaluator,
                             path: str) -> None:
    assert ev.evaluate(path, SCOPE) == js_only.evaluate(path, SCOPE)


@pytest.mark.parametrize("path", [
    "results.missing.x", "flow_input.nothing.x", "results.a.b[5].c", "undefined_name.x",
])
def test_fast_path_errors_equal_js(ev: ExpressionEvaluator, js_only: ExpressionEvaluator,
                                   path: str) -> None:
    with pytest.raises(ExpressionError) as fast:
        ev.evaluate(path, SCOPE)
    with pytest.raises(ExpressionError) as slow:
        js_only.evaluate(path, SCOPE)
    assert fast.value.js_message == slow.value.js_message


def test_fast_path_needs_no_js(monkeypatch: pytest.MonkeyPatch) -> None:
    ev = ExpressionEvaluator()

    def no_js(*args: Any) -> Any:
        raise AssertionError("JS was used")

    monkeypatch.setattr(ev, "_evaluate_js", no_js)
    assert ev.evaluate("flow_input.iter.value", SCOPE) == {"id": 7}
    assert ev.evaluate('results["a"].b[0]', SCOPE) == 10
    assert ev.evaluate("results.zzz", SCOPE) is None


def test_invalid_scope_name_is_a_programming_error(ev: ExpressionEvaluator) -> None:
    with pytest.raises(ValueError, match="not a JavaScript identifier"):
        ev.evaluate("1 + 1 // my-name", {"my-name": 1})


def test_one_evaluator_serves_several_threads() -> None:
    ev = ExpressionEvaluator()
    failures: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(200):
                got = ev.evaluate("flow_input.n * 1000 + flow_input.i + [0].length",
                                  {"flow_input": {"n": n, "i": i}})
                assert got == n * 1000 + i + 1
            assert ev.evaluate("(function r(k) { return k ? r(k - 1) : 1 })(300)", {}) == 1
        except BaseException as e:
            failures.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
