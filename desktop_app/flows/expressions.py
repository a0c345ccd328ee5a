"""Windmill's JavaScript expressions (input transforms, branch conditions, skip/stop/retry
conditions), evaluated in an embedded QuickJS engine.

Semantics follow Windmill's worker: the expression is trimmed and runs as
``return <expr>``, or as a function body when it contains ``return ``. (One deliberate
difference: text containing ``return `` that is itself an expression, such as
``(() => { return 1 })()``, gives its value; Windmill gives null.) The scope's keys are
the names it sees (``flow_input``, ``results``, ``previous_result``...); ``error`` defaults to
``previous_result?.error``; ``variable(path)`` / ``resource(path)`` read from the caller;
``await`` is allowed; the result goes through ``JSON.stringify(x ?? null)``.

Plain property paths (``flow_input.x``, ``results.a[0]["b"]``, ``results?.a``) are read in
Python without JS; where JS could answer differently (a prototype property, a read on
null), the path falls back to JS, so both routes give the same answer.

Threads: an evaluator may be shared. Each thread gets its own QuickJS context (contexts
are neither thread-safe nor usable from another thread than the one that made them), built
on first use (~1 ms) and dropped with the thread.

Isolation: globals and built-ins are frozen once per context, so an expression cannot leave
anything behind for the next one; ``eval`` is disabled (an indirect eval could declare a
global binding). Scope values are parsed afresh for each evaluation.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import quickjs

from desktop_app.core.errors import UsageError

__all__ = ["ExpressionError", "ExpressionEvaluator"]

Callback = Callable[[str], Any]


class ExpressionError(UsageError):
    """A flow expression failed."""

    def __init__(self, expr: str, js_message: str, *, reason: str | None = None,
                 hint: str | None = None) -> None:
        self.expr = expr
        self.js_message = js_message
        shown = expr if len(expr) <= 300 else expr[:300] + "…"
        quoted = json.dumps(shown, ensure_ascii=False)
        super().__init__(f"expression {quoted} failed: {reason or js_message}", hint=hint)


# The JS side, run once per context. It returns one function: run(...) evaluates, run()
# reports how an async evaluation settled. variable()/resource() never call into Python
# (QuickJS refuses Python calls while a time limit is set): a path not yet fetched is
# noted and the run fails; Python fetches what was noted and runs the expression again.
_PRELUDE = r"""
(() => {
  "use strict";
  const G = globalThis, parse = JSON.parse, stringify = JSON.stringify;
  const has = Object.prototype.hasOwnProperty, freeze = Object.freeze;
  const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
  const cache = new Map();
  let fetched = {}, missing = [], settled = null;

  function lookup(kind, path) {
    path = String(path);
    const key = kind + ":" + path;
    if (has.call(fetched, key)) {
      const r = fetched[key];
      if (has.call(r, "error")) throw new Error(r.error);
      return r.value;
    }
    missing.push([kind, path]);
    throw new Error(kind + "(" + stringify(path) + ") is not fetched yet");
  }
  for (const kind of ["variable", "resource"]) {
    Object.defineProperty(G, kind, {value: {[kind]: (path) => lookup(kind, path)}[kind],
                                    writable: false, enumerable: false, configurable: false});
  }
  G.eval = () => { throw new EvalError("eval() is not available in flow expressions"); };

  // Assigning e.g. err.name or obj.toString must still work once prototypes are frozen.
  const errors = [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError];
  const tamed = [[Object.prototype, ["constructor", "toString", "valueOf", "toLocaleString"]],
                 [Array.prototype, ["constructor", "toString"]],
                 [Function.prototype, ["constructor", "toString"]],
                 ...errors.map((E) => [E.prototype, ["constructor", "name", "message", "toString"]])];
  for (const [proto, keys] of tamed) {
    for (const k of keys) {
      const d = Object.getOwnPropertyDescriptor(proto, k);
      if (!d || !("value" in d)) continue;
      const v = d.value;
      Object.defineProperty(proto, k, {
        get() { return v; },
        set(nv) {
          if (this === proto) throw new TypeError("cannot assign to a frozen built-in: " + k);
          Object.defineProperty(this, k, {value: nv, writable: true, enumerable: true,
                                          configurable: true});
        },
        enumerable: d.enumerable, configurable: false});
    }
  }
  const seen = new Set(), todo = [G];
  while (todo.length) {
    const o = todo.pop();
    if (!o || (typeof o !== "object" && typeof o !== "function") || seen.has(o)) continue;
    seen.add(o);
    for (const k of Reflect.ownKeys(o)) {
      const d = Reflect.getOwnPropertyDescriptor(o, k);
      if ("value" in d) todo.push(d.value); else todo.push(d.get, d.set);
    }
    todo.push(Object.getPrototypeOf(o));
    freeze(o);
  }

  // Numbers, booleans and null cross to Python as they are; strings get an "S", anything
  // else goes as JSON after a "J" (what Windmill does: JSON.stringify(r ?? null)).
  const out = (r) => {
    const t = typeof r;
    if (t === "number") return Number.isFinite(r) ? r : null;
    if (t === "boolean" || r === undefined || r === null) return r ?? null;
    if (t === "string") return "S" + r;
    const s = stringify(r);
    return s === undefined ? null : "J" + s;
  };
  const report = () => (missing.length ? "F" + stringify(missing) : null);
  // A thrown non-Error becomes a readable message (null stays: QuickJS throws it when
  // it runs out of memory while making the error).
  const thrown = (e) => {
    if (e instanceof Error || e === null) return e;
    try { return "uncaught exception: " + (stringify(e) ?? String(e)); } catch (_) {
      return "uncaught exception"; }
  };
  return function run(key, names, body, isAsync, scopeJson, fetchedJson) {
    if (key === undefined) {
      const s = settled;
      settled = null;
      if (s === null) return "N";
      if (typeof s === "string") return s;
      if (has.call(s, "value")) return s.value;
      throw thrown(s.error);
    }
    fetched = fetchedJson ? parse(fetchedJson) : {};
    missing = [];
    settled = null;
    let fn = cache.get(key);
    if (fn === undefined) {
      if (cache.size >= 1000) cache.clear();
      const params = names ? names.split(",") : [];
      const make = (src) => (isAsync ? new AsyncFunction(...params, src)
                                     : new Function(...params, src));
      if (!body.includes("return ")) {
        fn = make("return " + body);
      } else {
        try { fn = make("return (\n" + body + "\n)"); } catch (e) { fn = make(body); }
      }
      if (fn.prototype) freeze(fn.prototype);
      freeze(fn);
      cache.set(key, fn);
    }
    const args = parse(scopeJson);
    let r;
    try {
      r = fn.apply(undefined, args);
    } catch (e) {
      const f = report();
      if (f !== null) return f;
      throw thrown(e);
    }
    if (!isAsync) return report() ?? out(r);
    r.then((v) => { settled = report() ?? {value: out(v)}; },
           (e) => { settled = report() ?? {error: e}; });
    return "P";
  };
})()
"""

_IDENT = r"[A-Za-z_$][A-Za-z0-9_$]*"
_IDENT_RE = re.compile(_IDENT)
_PATH_STEP = re.compile(
    rf"""(?:(\?\.)|\.)({_IDENT})|(\?\.)?\[(?:"([^"\\\n]*)"|'([^'\\\n]*)'|(0|[1-9][0-9]*))\]"""
)
_AWAIT = re.compile(r"\bawait\b")
_INDEX = re.compile(r"0|[1-9][0-9]*")
_RESERVED = frozenset(
    "break case catch class const continue debugger default delete do else enum export extends "
    "false finally for function if import in instanceof new null return super switch this throw "
    "true try typeof var void while with yield let static implements interface package private "
    "protected public await arguments eval".split())
# Properties every object inherits: a missing key with one of these names is not undefined.
_OBJECT_PROTO = frozenset(
    "constructor __proto__ hasOwnProperty isPrototypeOf propertyIsEnumerable toLocaleString "
    "toString valueOf __defineGetter__ __defineSetter__ __lookupGetter__ __lookupSetter__".split())
_MAX_FETCH_ROUNDS = 64
_NOT_A_PATH = ()


def _not_json(value: object) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON")


# One C encoder made once: json.dumps makes one per call, which doubles the cost.
_make_encoder: Any = getattr(json.encoder, "c_make_encoder", None)
_c_encode = _make_encoder and _make_encoder(
    None, _not_json, json.encoder.encode_basestring, None, ":", ",", False, False, True)
_py_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _encode(value: Any) -> str:
    return "".join(_c_encode(value, 0)) if _c_encode else _py_encode(value)


Step = tuple[bool, str]  # (optional chaining, property key)


class _Engine:
    """One QuickJS context with its limits; used by one thread only."""

    def __init__(self, time_limit_s: float, memory_limit_bytes: int) -> None:
        self.context = quickjs.Context()
        # 1 MiB allows ~1,000 nested JS calls (the default 256 KiB, under 500); every
        # Python thread has far more stack than that.
        self.context.set_max_stack_size(2**20)
        self.run = self.context.eval(_PRELUDE)
        self.context.gc()
        baseline = int(self.context.memory()["malloc_size"])
        self.context.set_memory_limit(baseline + memory_limit_bytes)
        self.context.set_time_limit(time_limit_s)


class _ThreadState(threading.local):
    engine: _Engine | None = None


class ExpressionEvaluator:
    """Evaluates Windmill expressions. See the module docstring for semantics and threads."""

    def __init__(self, time_limit_s: float = 2.0, memory_limit_bytes: int = 64 * 2**20, *,
                 fast_path: bool = True) -> None:
        self.time_limit_s = time_limit_s
        self.memory_limit_bytes = memory_limit_bytes
        self.fast_path = fast_path
        self._local = _ThreadState()
        self._paths: dict[str, tuple[str, tuple[Step, ...]] | tuple[()]] = {}
        self._good_names: set[str] = set()

    def evaluate(self, expr: str, scope: dict[str, Any], *,
                 variable: Callback | None = None, resource: Callback | None = None) -> Any:
        """The expression's value as JSON-able Python (undefined → None).

        Raises ExpressionError (a UsageError) for a JS error, the time or memory limit, or a
        failing variable()/resource() callback (chained as its ``__cause__``). Values read
        by the fast path are the scope's own objects, not copies: don't mutate them.
        """
        text, scope = self._prepare(expr, scope)
        if self.fast_path:
            found, value = self._read_path(text, scope)
            if found:
                return value
        return self._evaluate_js(expr, text, scope, {"variable": variable, "resource": resource})

    def read_plain_path(self, expr: str, scope: dict[str, Any]) -> tuple[bool, Any]:
        """(True, value) when `evaluate` would answer without JS (a plain property path):
        callers that run JS elsewhere (a thread pool) answer these at once."""
        if not self.fast_path:
            return False, None
        return self._read_path(*self._prepare(expr, scope))

    @staticmethod
    def _prepare(expr: str, scope: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        text = expr.strip()
        if "error" not in scope and "previous_result" in scope and "error" in text:
            previous = scope["previous_result"]
            scope = {**scope, "error": previous.get("error") if isinstance(previous, dict)
                     else None}
        return text, scope

    # -- fast path ---------------------------------------------------------------------

    def _read_path(self, text: str, scope: dict[str, Any]) -> tuple[bool, Any]:
        """(True, value) when `text` is a property path whose JS value is certain."""
        path = self._paths.get(text)
        if path is None:
            path = _parse_path(text)
            if len(self._paths) > 4096:
                self._paths.clear()
            self._paths[text] = path
        if not path:
            return False, None
        head, steps = path
        if head not in scope:
            return False, None
        value = scope[head]
        for optional, key in steps:
            if value is None:
                return (True, None) if optional else (False, None)
            if isinstance(value, dict):
                if key in value:
                    value = value[key]
                elif key in _OBJECT_PROTO:
                    return False, None
                else:
                    value = None
            elif isinstance(value, list):
                if key == "length":
                    value = len(value)
                elif _INDEX.fullmatch(key):
                    index = int(key)
                    value = value[index] if index < len(value) else None
                else:
                    return False, None
            else:
                return False, None
        return True, value

    # -- JS ----------------------------------------------------------------------------

    def _engine(self) -> _Engine:
        engine = self._local.engine
        if engine is None:
            engine = self._local.engine = _Engine(self.time_limit_s, self.memory_limit_bytes)
        return engine

    def _evaluate_js(self, expr: str, text: str, scope: dict[str, Any],
                     callbacks: dict[str, Callback | None]) -> Any:
        names = [name for name in scope if name in text]
        for name in names:
            if name not in self._good_names:
                if not _IDENT_RE.fullmatch(name) or name in _RESERVED:
                    raise ValueError(f"scope name {name!r} is not a JavaScript identifier")
                self._good_names.add(name)
        is_async = "await" in text and _AWAIT.search(text) is not None
        names_csv = ",".join(names)
        key = ("A" if is_async else "S") + names_csv + "\n" + text
        scope_json = _encode([scope[name] for name in names])
        fetched: dict[str, dict[str, Any]] = {}
        cause: BaseException | None = None
        engine = self._engine()
        try:
            for _ in range(_MAX_FETCH_ROUNDS):
                fetched_json = _encode(fetched) if fetched else ""
                out = engine.run(key, names_csv, text, is_async, scope_json, fetched_json)
                if out == "P":
                    out = self._settle(engine, expr)
                if type(out) is not str:  # a number, a boolean or None
                    # JSON.stringify writes integral numbers below 1e21 without a fraction.
                    return int(out) if type(out) is float and out.is_integer() \
                        and abs(out) < 1e21 else out
                if out[0] == "S":
                    return out[1:]
                if out[0] == "J":
                    return json.loads(out[1:])
                for kind, path in json.loads(out[1:]):  # "F": values to fetch
                    entry, error = _fetch(callbacks[kind], kind, path)
                    fetched[f"{kind}:{path}"] = entry
                    cause = error or cause
            raise ExpressionError(expr, "too many variable()/resource() calls",
                                  reason=f"more than {_MAX_FETCH_ROUNDS} different "
                                         "variable()/resource() calls")
        except quickjs.JSException as e:
            raise self._js_error(engine, expr, e) from cause

    def _settle(self, engine: _Engine, expr: str) -> Any:
        deadline = time.monotonic() + self.time_limit_s
        while engine.context.execute_pending_job():
            if time.monotonic() > deadline:
                self._local.engine = None  # drop the stray jobs with the context
                raise self._limit_error(expr, "InternalError: interrupted")
        out = engine.run()
        if out == "N":
            raise ExpressionError(expr, "the promise never settled",
                                  reason="it awaits a promise that never settles")
        return out

    def _js_error(self, engine: _Engine, expr: str, e: quickjs.JSException) -> ExpressionError:
        message = (str(e).strip().splitlines() or ["null"])[0]
        if message in ("InternalError: out of memory", "null"):
            self._local.engine = None  # a context that ran out of memory is not reused
            limit = f"the {_size(self.memory_limit_bytes)} memory limit"
            return ExpressionError(expr, message, reason=f"it used more than {limit}"
                                   if message != "null" else f"it threw null or went past {limit}")
        if message == "InternalError: interrupted":
            return self._limit_error(expr, message)
        return ExpressionError(expr, message)

    def _limit_error(self, expr: str, message: str) -> ExpressionError:
        return ExpressionError(
            expr, message, reason=f"it ran longer than the {self.time_limit_s:g} s time limit",
            hint="an endless loop? Expressions should be quick computations")


def _parse_path(text: str) -> tuple[str, tuple[Step, ...]] | tuple[()]:
    head = _IDENT_RE.match(text)
    if head is None or head.group() in _RESERVED:
        return _NOT_A_PATH
    steps: list[Step] = []
    pos = head.end()
    while pos < len(text):
        m = _PATH_STEP.match(text, pos)
        if m is None:
            return _NOT_A_PATH
        dot_optional, name, bracket_optional, dq, sq, index = m.groups()
        key = next(k for k in (name, dq, sq, index) if k is not None)
        steps.append((dot_optional is not None or bracket_optional is not None, key))
        pos = m.end()
    return head.group(), tuple(steps)


def _fetch(callback: Callback | None, kind: str, path: str
           ) -> tuple[dict[str, Any], BaseException | None]:
    """Call the caller's variable()/resource(); the JSON entry the JS side reads."""
    if callback is None:
        return {"error": f"{kind}() is not available here"}, None
    try:
        value = callback(path)
        json.dumps(value)
    except Exception as e:
        detail = getattr(e, "message", None) or str(e) or type(e).__name__
        return {"error": f"{kind}({json.dumps(path)}): {detail}"}, e
    return {"value": value}, None


def _size(n: int) -> str:
    return f"{n / 2**20:g} MiB" if n >= 2**20 else f"{n} bytes"
