from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_app.db.embedded import EmbeddedPostgres
from tests.e2e.daemon_harness import RunningDaemon, free_port
from tests.support.pg import create_database, drop_database


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One uv cache and venv store for the session, so each test doesn't re-download."""
    return tmp_path_factory.mktemp("tidemill-cache")


# A daemon start on a loaded machine (the suite beside other builds) has taken over 60 s;
# waiting longer costs nothing when it starts in 2.
START_TIMEOUT_S = 180.0


@pytest.fixture
def daemon(request: pytest.FixtureRequest, tmp_path: Path,
           shared_cache: Path) -> Iterator[RunningDaemon]:
    """A daemon with two workers on this test's database. Two cheaper kinds, chosen by a
    marker, with the same helpers: `api_only` (the API in-process, no workers) and
    `shared_daemon` (the module's one daemon: see `module_daemon`)."""
    if request.node.get_closest_marker("api_only"):
        # The test checks route rules only: the real app on this test's database, served
        # in-process without workers (tests/support/api_server.py), saves a daemon start.
        yield request.getfixturevalue("api_server")
        return
    if request.node.get_closest_marker("shared_daemon"):
        yield request.getfixturevalue("module_daemon")
        return
    database_url = request.getfixturevalue("database_url")
    home = tmp_path / "home"
    home.mkdir()
    # Share the heavy caches between tests' homes: the layout is the same as a real home's.
    (home / "cache").symlink_to(_mk(shared_cache / "cache"))
    (home / "envs").symlink_to(_mk(shared_cache / "envs"))
    d = RunningDaemon(home=home, port=free_port(), database_url=database_url)
    d.start(timeout=START_TIMEOUT_S)
    try:
        yield d
    finally:
        d.stop()


@pytest.fixture(scope="module")
def module_daemon(pg_server: EmbeddedPostgres, template_database: str,
                  tmp_path_factory: pytest.TempPathFactory,
                  shared_cache: Path) -> Iterator[RunningDaemon]:
    """One daemon with two workers for a whole module marked `shared_daemon`, on its own
    copy of the template database: for modules whose tests each deploy and run their own
    items (distinct paths) and judge only their own jobs, so no test needs a fresh daemon.
    A daemon start costs ~4 CPU-seconds (the daemon's and its workers' imports, the
    migration check); a module of 19 tests pays it once.

    Jobs may use every test's `tmp_path` (the session's temporary folder is shared into
    their sandbox, where a per-test daemon shares only its test's folder); the daemon's
    home stays hidden from them as always."""
    name = f"module_{uuid.uuid4().hex}"
    url = create_database(pg_server.url, name, template=template_database)
    home = tmp_path_factory.mktemp("module-daemon") / "home"
    home.mkdir()
    (home / "cache").symlink_to(_mk(shared_cache / "cache"))
    (home / "envs").symlink_to(_mk(shared_cache / "envs"))
    d = RunningDaemon(home=home, port=free_port(), database_url=url, extra_env={
        "TIDEMILL_SANDBOX_SHARE": str(tmp_path_factory.getbasetemp())})
    try:
        try:
            d.start(timeout=START_TIMEOUT_S)
        except RuntimeError:
            # A failed start here would fail every test of the module: once more, as a
            # user would, on a fresh port (the harness stopped the first one).
            d.port = free_port()
            d.start(timeout=START_TIMEOUT_S)
        yield d
    finally:
        d.stop()
        drop_database(pg_server.url, name)


def _mk(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


@pytest.fixture(autouse=True, scope="session")
def _real_keyring(secret_service: object) -> object:
    """Every daemon in these tests keeps secrets in a real gnome-keyring (D-Bus session)."""
    return secret_service
