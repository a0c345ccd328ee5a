"""GUI tests drive real widgets offscreen against a real daemon (the e2e `daemon` fixture)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")
qasync = pytest.importorskip("qasync")

from tests.e2e.conftest import _real_keyring, daemon, module_daemon, shared_cache  # noqa: E402, F401


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
