"""The embedded server asks every connection for a password (scram-sha-256).

Before, `pg_hba.conf` trusted local connections: whoever reached the socket was the
superuser `postgres` and could read `settings.job_token_key`. A new cluster is made with a
password; one made before (trust) is upgraded when the daemon starts it.
"""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest

from desktop_app.db.embedded import EmbeddedPostgres
from tests.support.pg import discard_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedPostgres]:
    pg = EmbeddedPostgres(tmp_path / "home")
    yield pg
    discard_server(pg)


def _socket(url: str) -> tuple[str, int]:
    query = parse_qs(urlsplit(url).query)
    return query["host"][0], int(query["port"][0])


def _connect_as_superuser_without_password(url: str) -> None:
    host, port = _socket(url)
    with psycopg.connect(host=host, port=port, user="postgres", dbname="tidemill",
                         passfile="/dev/null", connect_timeout=5) as conn:
        conn.execute("SELECT 1")


def test_a_new_cluster_refuses_connections_without_the_password(server: EmbeddedPostgres) -> None:
    url = server.start()
    assert "password" not in url.split("passfile", 1)[0]  # the URL names a file, holds no secret
    with pytest.raises(psycopg.OperationalError, match="password"):
        _connect_as_superuser_without_password(url)
    with psycopg.connect(url) as conn:  # the daemon's own URL works
        assert conn.execute("SELECT current_user").fetchone() == ("postgres",)
    mode = stat.S_IMODE(server.pgpass.stat().st_mode)
    assert mode == 0o600, oct(mode)


def test_a_cluster_made_with_trust_is_upgraded_at_start(server: EmbeddedPostgres) -> None:
    url = server.start()
    # Make it look like a cluster from before passwords: trust, and no password file.
    hba = server.data_dir / "pg_hba.conf"
    hba.write_text(hba.read_text().replace("scram-sha-256", "trust"))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_reload_conf()")
    server.pgpass.unlink()
    _connect_as_superuser_without_password(url)  # the hole, as it was

    again = EmbeddedPostgres(server.home)
    url = again.start()  # adopts the running server and upgrades it
    with pytest.raises(psycopg.OperationalError, match="password"):
        _connect_as_superuser_without_password(url)
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert "trust" not in "\n".join(line for line in hba.read_text().splitlines()
                                    if not line.lstrip().startswith("#"))


def test_a_missing_password_file_is_named(server: EmbeddedPostgres) -> None:
    server.start()
    server.pgpass.unlink()
    with pytest.raises(Exception, match="pgpass"):
        EmbeddedPostgres(server.home).start()
