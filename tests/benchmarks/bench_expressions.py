"""Benchmark: flow expressions, fast path (Python) vs QuickJS. Prints JSON. Run by hand:

    python tests/benchmarks/bench_expressions.py [--n 20000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from desktop_app.flows.expressions import ExpressionEvaluator

SCOPE: dict[str, Any] = {
    "flow_input": {"x": 3, "name": "ada", "iter": {"value": {"id": 7}, "index": 2}},
    "results": {"a": {"b": [10, {"c": "deep"}]}, **{f"s{i}": {"v": i} for i in range(20)}},
    "previous_result": {"ok": 1},
    "flow_env": {},
}

CASES = {
    "path flow_input.x": "flow_input.x",
    "path results.a.b[1].c": "results.a.b[1].c",
    "path flow_input.iter.value": "flow_input.iter.value",
    "js flow_input.x + 1": "flow_input.x + 1",
    "js template string": "`${flow_input.name}-${flow_input.iter.index}`",
    "js results (21 steps) .map": "results.a.b.map(x => typeof x)",
    "js variable()": "variable('u/a/x') + '!'",
    "js await": "await Promise.resolve(flow_input.x)",
}


def per_call_us(ev: ExpressionEvaluator, expr: str, n: int) -> dict[str, float]:
    def variable(path: str) -> str:
        return "v"

    ev.evaluate(expr, SCOPE, variable=variable)  # compile once
    rounds = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(n // 5):
            ev.evaluate(expr, SCOPE, variable=variable)
        rounds.append((time.perf_counter() - t0) / (n // 5) * 1e6)
    return {"median_us": round(statistics.median(rounds), 2), "min_us": round(min(rounds), 2)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20000)
    n = parser.parse_args().n
    t0 = time.perf_counter()
    fast = ExpressionEvaluator()
    fast.evaluate("1 + 1", {})
    first_ms = (time.perf_counter() - t0) * 1000
    js_only = ExpressionEvaluator(fast_path=False)
    out: dict[str, Any] = {"n": n, "first_evaluation_ms (context setup)": round(first_ms, 2)}
    for name, expr in CASES.items():
        out[name] = per_call_us(fast, expr, n)
        if name.startswith("path"):
            out[name + " [forced through JS]"] = per_call_us(js_only, expr, n)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
