from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.daemon_harness import RunningDaemon, free_port


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One uv cache and venv store for the session, so each test doesn't re-download."""
    return tmp_path_factory.mktemp("tidemill-cache")


@pytest.fixture
def daemon(request: pytest.FixtureRequest, database_url: str, tmp_path: Path,
           shared_cache: Path) -> Iterator[RunningDaemon]:
    if request.node.get_closest_marker("api_only"):
        # The test checks route rules only: the real app on this test's database, served
        # in-process without workers (tests/support/api_server.py), saves a daemon start.
        yield request.getfixturevalue("api_server")
        return
    home = tmp_path / "home"
    home.mkdir()
    # Share the heavy caches between tests' homes: the layout is the same as a real home's.
    (home / "cache").symlink_to(_mk(shared_cache / "cache"))
    (home / "envs").symlink_to(_mk(shared_cache / "envs"))
    d = RunningDaemon(home=home, port=free_port(), database_url=database_url)
    d.start()
    try:
        yield d
    finally:
        d.stop()


def _mk(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


@pytest.fixture(autouse=True, scope="session")
def _real_keyring(secret_service: object) -> object:
    """Every daemon in these tests keeps secrets in a real gnome-keyring (D-Bus session)."""
    return secret_service
