"""Flow expressions off the event loop: JS runs on a few threads of their own.

The flow engine runs inside the API's, the daemon's and the workers' event loops; an
expression may spin for its whole 2 s time limit. QuickJS releases the GIL while it runs,
so a small thread pool keeps the loop answering while expressions spin, and bounds how
many run at once (each thread has its own context, capped at the evaluator's memory
limit). Plain property paths need no JS and are answered on the spot.
"""

from __future__ import annotations

import asyncio
import functools
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from desktop_app.flows.expressions import Callback, ExpressionEvaluator

#: At most this many expressions run JS at once in one process; more wait their turn.
THREADS = max(2, min(4, os.cpu_count() or 2))


class ExpressionPool:
    """An evaluator whose JS work runs on `threads` threads, awaited from the loop."""

    def __init__(self, evaluator: ExpressionEvaluator | None = None, threads: int = THREADS) -> None:
        self.evaluator = evaluator or ExpressionEvaluator()
        self.threads = threads
        self._executor: ThreadPoolExecutor | None = None

    async def evaluate(self, expr: str, scope: dict[str, Any], *,
                       variable: Callback | None = None, resource: Callback | None = None) -> Any:
        """`ExpressionEvaluator.evaluate`, without blocking the running loop."""
        found, value = self.evaluator.read_plain_path(expr, scope)
        if found:
            return value
        if self._executor is None:  # made lazily: forked workers must not inherit threads
            self._executor = ThreadPoolExecutor(self.threads, thread_name_prefix="flow-expr")
        call = functools.partial(self.evaluator.evaluate, expr, scope,
                                 variable=variable, resource=resource)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)
