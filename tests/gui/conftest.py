"""GUI tests drive real widgets offscreen against a real daemon (the e2e `daemon` fixture)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")
qasync = pytest.importorskip("qasync")

from tests.e2e.conftest import _real_keyring, daemon, module_daemon, shared_cache  # noqa: E402, F401


@pytest.fixture(autouse=True)
def _cycles_collected_on_the_gui_thread(request: pytest.FixtureRequest) -> Iterator[None]:
    """While a test drives Qt, Python's cycle collector runs on the GUI thread only, as in
    the app (desktop_app/gui/gc_guard.py): a collection started by a helper thread could
    destroy a widget or timer off the GUI thread and crash the whole test run."""
    if not {"qapp", "qtbot", "qloop"} & set(request.fixturenames):
        yield
        return
    request.getfixturevalue("qapp")
    from desktop_app.gui.gc_guard import GuiThreadCollector

    collector = GuiThreadCollector().start()
    try:
        yield
    finally:
        collector.stop()  # everything left is collected here, after the windows closed


@pytest.fixture
def qloop(qapp: object) -> Iterator[object]:
    """A qasync loop on the test's QApplication; run coroutines with `run_until_complete`."""
    loop = qasync.QEventLoop(qapp)
    try:
        yield loop
    finally:
        loop.close()


@pytest.fixture(autouse=True)
def _windows_close_without_asking(monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest-qt closes every window a test opened. A window whose editor still holds
    edits would then ask "Discard changes?" in a modal box nobody answers, and the run
    would hang; at teardown, closing discards. (tests/gui/test_discard_prompt.py drives the
    prompt itself, by navigating away.)"""
    from desktop_app.gui.app import MainWindow

    monkeypatch.setattr(MainWindow, "closeEvent", lambda _self, event: event.accept())
