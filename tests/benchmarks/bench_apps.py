"""Benchmark: app definitions and bindings (no UI, no daemon). Prints JSON. Run by hand:

    python tests/benchmarks/bench_apps.py [--components 200] [--n 200]

- load+validate+dump: app.yaml → model → checked → YAML, for the every-kind fixture;
- refresh all: every property of an app of N components evaluated (half of them
  expressions, half of those in JS rather than plain paths) — what a full repaint costs;
- input change: one input changes, its dependents are found and the `change` runnable's
  arguments recomputed (the runner answers at once) — the work between a keystroke and the
  run being sent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from desktop_app.apps.evaluation import AppSession, AppState, RunOutcome
from desktop_app.apps.model import AppDefinition, Runnable

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "apps" / "every_kind.app.yaml"


def big_app(n: int) -> AppDefinition:
    components: list[dict[str, Any]] = [
        {"id": "search", "type": "textinput", "x": 0, "y": 0, "w": 4, "h": 1}]
    for i in range(n):
        text: Any = f"static {i}"
        if i % 4 == 1:
            text = {"expr": "rows.result"}  # a plain path: read in Python
        elif i % 4 == 3:
            text = {"expr": f"(rows.result || []).length + ' rows, #{i} ' + search.value"}
        components.append({"id": f"c{i}", "type": "text", "x": 0, "y": i + 1, "w": 12, "h": 1,
                           "props": {"text": text}})
    return AppDefinition({"summary": "big", "value": {"components": components, "runnables": [
        {"id": "rows", "type": "inline", "language": "python3", "content": "def main(q: str): ...",
         "inputs": {"q": {"expr": "search.value"}}, "trigger": "change"}]}})


def timed(fn: Any, n: int) -> dict[str, float]:
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return {"median_ms": round(statistics.median(samples), 3),
            "p95_ms": round(samples[int(len(samples) * 0.95) - 1], 3)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--components", type=int, default=200)
    parser.add_argument("--n", type=int, default=200)
    a = parser.parse_args()
    text = FIXTURE.read_text()

    def round_trip() -> None:
        app = AppDefinition.from_yaml(text)
        app.validate()
        assert app.to_yaml() == text

    app = big_app(a.components)
    state = AppState(app)
    state.values["rows"]["result"] = [{"id": i} for i in range(50)]
    state.values["search"]["value"] = "x"

    def refresh_all() -> None:
        for c, _ in app.all_components():
            for name in c.props:
                state.prop(c, name)

    async def answer(r: Runnable, args: dict[str, Any]) -> RunOutcome:
        return RunOutcome(True, [{"id": 1}])

    session = AppSession(app, answer)
    counter = iter(range(10**9))

    def input_change() -> None:
        asyncio.run(session.set_value("search", "value", f"q{next(counter)}"))

    print(json.dumps({
        "components": a.components,
        "load_validate_dump_every_kind": timed(round_trip, a.n),
        "refresh_all_properties": timed(refresh_all, a.n),
        "input_change_to_run": timed(input_change, a.n),
    }, indent=2))


if __name__ == "__main__":
    main()
