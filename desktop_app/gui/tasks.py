"""Starting coroutines from Qt slots: the task is kept alive and its failure is reported."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

_log = logging.getLogger(__name__)
_running: set[asyncio.Task[Any]] = set()


def spawn(coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any] | None:
    """Run `coro` on the qasync loop without blocking the slot that started it.

    A debounce timer or a late signal can fire after the window's loop has closed (the app
    is quitting, or a widget outlived the loop that drove it): there is nothing left to run
    the work on, so it is dropped quietly instead of raising inside Qt's event dispatch.
    """
    try:
        # the loop driving this slot (qasync runs Qt's dispatch inside it), else the set one
        loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        try:
            loop = asyncio.get_event_loop_policy().get_event_loop()
        except RuntimeError:
            loop = None
    if loop is None or loop.is_closed():
        coro.close()
        _log.debug("no event loop: dropped %s", getattr(coro, "__qualname__", coro))
        return None
    task = asyncio.ensure_future(coro, loop=loop)
    _running.add(task)
    task.add_done_callback(_finished)
    return task


def _finished(task: asyncio.Task[Any]) -> None:
    _running.discard(task)
    if not task.cancelled() and task.exception() is not None:
        _log.error("GUI task failed", exc_info=task.exception())


async def cancel_pending() -> None:
    """Cancel the work still under way (a window about to lose its client: a screenshot
    taken, a test ending), so none of it fails later on a closed client."""
    current = asyncio.current_task()
    pending = [t for t in _running if t is not current and not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
