"""The expression pool: plain paths answered at once, JS on the pool's threads with the
evaluator's limits, errors as the evaluator raises them, the loop free meanwhile."""

from __future__ import annotations

import asyncio
import threading

import pytest

from desktop_app.flows.expression_pool import ExpressionPool
from desktop_app.flows.expressions import ExpressionError, ExpressionEvaluator


async def test_paths_skip_the_pool_and_js_runs_on_it() -> None:
    pool = ExpressionPool(threads=2)
    scope = {"flow_input": {"x": [1, 2]}, "results": {}}
    assert await pool.evaluate("flow_input.x[1]", scope) == 2
    assert pool._executor is None  # nothing needed a thread
    seen: list[str] = []

    def variable(path: str) -> str:
        seen.append(threading.current_thread().name)
        return "v:" + path

    assert await pool.evaluate('flow_input.x.length + 1', scope) == 3
    assert await pool.evaluate('variable("u/a/b")', scope, variable=variable) == "v:u/a/b"
    assert seen and all(name.startswith("flow-expr") for name in seen)
    with pytest.raises(ExpressionError, match="ReferenceError"):
        await pool.evaluate("nope + 1", scope)


async def test_the_loop_runs_while_an_expression_spins() -> None:
    pool = ExpressionPool(ExpressionEvaluator(time_limit_s=0.3), threads=1)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    with pytest.raises(ExpressionError, match=r"0\.3 s time limit"):
        await pool.evaluate("(() => { while (true) {} })()", {})
    task.cancel()
    assert ticks >= 5  # the loop kept ticking; inline, it would not tick once
