"""Fixtures of the attack suite: one real daemon per module, set up the way a user would
(an admin with secrets, a run-only webhook token, an operator, a developer without grants),
then attacked the way a caller without those rights would."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_app.db.embedded import EmbeddedPostgres
from tests.e2e.conftest import (  # noqa: F401  (fixtures)
    _real_keyring,
    daemon,
    module_daemon,
    shared_cache,
)
from tests.e2e.daemon_harness import RunningDaemon, free_port
from tests.support.pg import create_database, drop_database

PUBLIC_URL = "https://tidemill.example.test:8443"


@pytest.fixture(scope="module")
def running_daemon(pg_server: EmbeddedPostgres, template_database: str,
                  tmp_path_factory: pytest.TempPathFactory, shared_cache: Path,  # noqa: F811
                  ) -> Iterator[RunningDaemon]:
    """A daemon (on its own copy of the template database) configured with a public URL."""
    name = f"sec_{uuid.uuid4().hex}"
    url = create_database(pg_server.url, name, template=template_database)
    home = tmp_path_factory.mktemp("security") / "home"
    home.mkdir()
    for sub in ("cache", "envs"):
        (shared_cache / sub).mkdir(parents=True, exist_ok=True)
        (home / sub).symlink_to(shared_cache / sub)
    d = RunningDaemon(home=home, port=free_port(), database_url=url,
                      extra_env={"TIDEMILL_PUBLIC_URL": PUBLIC_URL})
    d.start()
    try:
        yield d
    finally:
        d.stop()
        drop_database(pg_server.url, name)
