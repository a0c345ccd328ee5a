"""GUI tests drive real widgets offscreen against a real daemon (the e2e `daemon` fixture)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")
qasync = pytest.importorskip("qasync")

from tests.e2e.conftest import _real_keyring, daemon, shared_cache  # noqa: E402, F401


@pytest.fixture
def qloop(qapp: object) -> Iterator[object]:
    """A qasync loop on the test's QApplication; run coroutines with `run_until_complete`."""
    loop = qasync.QEventLoop(qapp)
    try:
        yield loop
    finally:
        loop.close()
