"""Cycles are collected on the GUI thread, never by whichever helper thread allocates
(desktop_app/gui/gc_guard.py): a widget freed off the GUI thread crashes the process."""

from __future__ import annotations

import gc
import threading
from typing import Any

from desktop_app.gui.gc_guard import GuiThreadCollector


class _Cycle:
    """Refers to itself, so only the cycle collector frees it; says on which thread."""

    def __init__(self, freed_in: list[int]) -> None:
        self.me = self
        self.freed_in = freed_in

    def __del__(self) -> None:
        self.freed_in.append(threading.get_ident())


def _allocate_in_a_helper_thread(kept: list[Any]) -> None:
    # Enough live container objects to fill every generation's threshold several times.
    def churn() -> None:
        for _ in range(50):
            kept.append([[] for _ in range(2_000)])
    helper = threading.Thread(target=churn)
    helper.start()
    helper.join()


def test_a_helper_threads_allocations_leave_collection_to_the_gui_thread(
        qtbot: Any) -> None:
    gui_thread = threading.get_ident()
    kept: list[Any] = []
    gc.enable()  # (conftest.py's fixture guards every GUI test: start from Python's own)
    collector = GuiThreadCollector(interval_ms=20).start()
    try:
        assert not gc.isenabled()
        freed_in: list[int] = []
        _Cycle(freed_in)
        _allocate_in_a_helper_thread(kept)
        assert freed_in == [], "the helper thread ran a collection"
        qtbot.waitUntil(lambda: bool(freed_in), timeout=5_000)
        assert freed_in == [gui_thread]
    finally:
        collector.stop()
    assert gc.isenabled()


def test_without_the_guard_a_helper_thread_does_collect(qtbot: Any) -> None:
    """The hazard the guard exists for (if CPython ever stops doing this, the guard can go)."""
    gc.enable()  # automatic collection, as without the guard (conftest.py turned it off)
    gc.collect()
    freed_in: list[int] = []
    kept: list[Any] = []
    _Cycle(freed_in)
    _allocate_in_a_helper_thread(kept)
    assert freed_in and freed_in[0] != threading.get_ident()
