"""`spawn` from a Qt slot that fires after the window's event loop is gone."""

from __future__ import annotations

import asyncio
import warnings

from desktop_app.gui.tasks import spawn


def test_spawn_without_a_loop_drops_the_work_instead_of_raising() -> None:
    ran: list[bool] = []

    async def work() -> None:
        ran.append(True)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.close()
    asyncio.set_event_loop(None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "coroutine was never awaited" would be an error
        assert spawn(work()) is None
    assert ran == []


def test_spawn_runs_the_work_on_the_current_loop() -> None:
    results: list[int] = []

    async def work() -> int:
        results.append(1)
        return 7

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        task = spawn(work())
        assert task is not None
        assert loop.run_until_complete(task) == 7
        assert results == [1]
    finally:
        loop.close()
        asyncio.set_event_loop(None)
