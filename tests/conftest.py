"""Fixtures shared by all tests.

One embedded PostgreSQL serves the whole session; `tidemill_template` is migrated
once; each test that asks for `database_url` gets its own copy of it (fast and real).
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before any QApplication can exist

# `desktop_app` and `tests.support` importable without installing the project.
_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from desktop_app.db.embedded import EmbeddedPostgres  # noqa: E402
from tests.support.pg import (  # noqa: E402
    TEMPLATE_DB,
    create_database,
    discard_server,
    drop_database,
    seal_template,
    url_for_db,
)

# The session's data is thrown away, so durability would only cost time.
TEST_SERVER_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    """The session's PostgreSQL server (started); `pg_server.url` is its `tidemill` DB."""
    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg-home"), settings=TEST_SERVER_SETTINGS)
    server.start()
    yield server
    discard_server(server)


@pytest.fixture(scope="session")
def template_database(pg_server: EmbeddedPostgres) -> str:
    """Name of the migrated template database (connections to it are refused)."""
    try:
        from desktop_app.db.migrate import migrate
    except ImportError as exc:
        pytest.fail(f"desktop_app.db.migrate cannot be imported, so {TEMPLATE_DB} cannot be "
                    f"migrated: {exc!r}", pytrace=False)
    create_database(pg_server.url, TEMPLATE_DB)
    migrate(url_for_db(pg_server.url, TEMPLATE_DB))
    seal_template(pg_server.url, TEMPLATE_DB)
    return TEMPLATE_DB


@pytest.fixture
def database_url(pg_server: EmbeddedPostgres, template_database: str) -> Iterator[str]:
    """libpq URL of a fresh migrated database for this test, dropped afterwards."""
    name = f"test_{uuid.uuid4().hex}"
    url = create_database(pg_server.url, name, template=template_database)
    yield url
    drop_database(pg_server.url, name)


@pytest.fixture
def tidemill_home(tmp_path: Path) -> Path:
    """An empty TIDEMILL_HOME for this test."""
    home = tmp_path / "home"
    home.mkdir()
    return home


@pytest.fixture
def api_server(database_url: str, tmp_path: Path, secret_service: object) -> Iterator[object]:
    """The daemon's API served in this process on this test's database, without workers
    (tests/support/api_server.py): for route rules that need no job to run. Same helpers
    as the e2e `daemon` fixture (`url`, `token`, `http`, `api`, `cli`, `deploy`)."""
    from tests.support.api_server import api_server as serve

    with serve(tmp_path / "home", database_url) as server:
        yield server


from tests.support.keyring_session import (  # noqa: E402
    SecretServiceSession,
    secret_service_session,
)


@pytest.fixture(scope="session")
def secret_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecretServiceSession]:
    """A private, unlocked gnome-keyring on its own D-Bus session bus, for the whole test
    session (started on first use, ~30 ms). While it runs, os.environ points `keyring` and
    every subprocess at it (see tests/support/keyring_session.py); isolate tests from each
    other by giving each its own keyring instance id or workspace."""
    with secret_service_session(tmp_path_factory.mktemp("secret-service")) as session:
        yield session


# ---------------------------------------------------------------------------------------
# The test pyramid: every test gets exactly one tier marker, from what it really uses, so
# `-m` picks a layer without anyone remembering to tag a test by hand:
#   unit    no database, no subprocess daemon (pure rules, parsers, models)
#   db      the session's PostgreSQL (a template copy) or another real local part (a
#           keyring daemon, Node's reference parsers, uv), in-process, no daemon
#   daemon  a real daemon subprocess with its workers (end to end)
#   gui     real Qt widgets offscreen (most also drive a daemon)
#   fuzz    property/fuzz runs over the whole API (schemathesis)
#   chaos   kills and bursts against a daemon (tests/chaos)
# The fast command for everyday work is `pytest -m "unit or db"` (see README).
_TIER_BY_FOLDER = {"gui": "gui", "chaos": "chaos"}
_DAEMON_FIXTURES = {"daemon", "running_daemon", "two_daemons", "daemon_factory"}
_DB_FIXTURES = {"database_url", "pg_server", "template_database", "api_server"}


def _tier(item: pytest.Item) -> str:
    parts = Path(str(item.fspath)).relative_to(Path(_ROOT) / "tests").parts
    if parts and parts[0] in _TIER_BY_FOLDER:
        return _TIER_BY_FOLDER[parts[0]]
    if "schemathesis" in item.nodeid or item.get_closest_marker("fuzz"):
        return "fuzz"
    if item.get_closest_marker("api_only"):
        return "db"
    fixtures = set(getattr(item, "fixturenames", ()))
    source = getattr(getattr(item, "module", None), "__file__", "") or ""
    if fixtures & _DAEMON_FIXTURES or _uses_daemon_harness(source):
        return "daemon"
    if fixtures & _DB_FIXTURES or (parts and parts[0] == "integration"):
        return "db"
    return "unit"


_harness_users: dict[str, bool] = {}


def _uses_daemon_harness(source: str) -> bool:
    """A module that starts daemons itself (RunningDaemon) is end to end whatever its
    fixtures say."""
    if source not in _harness_users:
        try:
            _harness_users[source] = "RunningDaemon(" in Path(source).read_text()
        except OSError:
            _harness_users[source] = False
    return _harness_users[source]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        tier = _tier(item)
        if not item.get_closest_marker(tier):
            item.add_marker(getattr(pytest.mark, tier))
    if hasattr(config, "workerinput"):  # an xdist worker: its order is the one handed out
        _longest_modules_first(items)


# With pytest-xdist (the README's command runs the suite on `-n auto` workers, a module per
# unit of work), the run ends when the last module does: hand out the modules that take
# minutes first and the millisecond ones last, so the workers finish together instead of
# one waiting on a fuzz run it picked up at the end. Within a module, order is unchanged.
_RANK = {"slow": 0, "fuzz": 0, "chaos": 1, "gui": 2, "daemon": 2, "db": 3, "unit": 4}


def _longest_modules_first(items: list[pytest.Item]) -> None:
    rank: dict[str, int] = {}
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        marks = {m.name for m in item.iter_markers()} & _RANK.keys()
        rank[module] = min([rank.get(module, 9), *(_RANK[m] for m in marks)])
    items.sort(key=lambda item: rank[item.nodeid.split("::", 1)[0]])
