"""PostgreSQL helpers for tests: database URLs, per-test databases, server clean-up."""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from desktop_app.core.errors import EmbeddedPostgresError
from desktop_app.db.embedded import EmbeddedPostgres

TEMPLATE_DB = "tidemill_template"


def url_for_db(server_url: str, dbname: str) -> str:
    """The same server and options, another database: `…/tidemill?host=…` → `…/dbname?host=…`."""
    return urlunsplit(urlsplit(server_url)._replace(path="/" + quote(dbname)))


@contextmanager
def admin_connection(server_url: str) -> Iterator[psycopg.Connection]:
    """An autocommit connection to the `postgres` database, for CREATE/DROP DATABASE."""
    with psycopg.connect(url_for_db(server_url, "postgres"), autocommit=True) as conn:
        yield conn


def create_database(server_url: str, name: str, template: str | None = None) -> str:
    """Create database `name` (optionally copied from `template`); returns its URL."""
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    with admin_connection(server_url) as conn:
        conn.execute(statement)
    return url_for_db(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    """Drop database `name`, cutting any connection a test left open."""
    with admin_connection(server_url) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def seal_template(server_url: str, name: str) -> None:
    """Make `name` a template nobody connects to: CREATE DATABASE … TEMPLATE fails while
    any session (e.g. one a migration left behind) is connected to it."""
    with admin_connection(server_url) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
        conn.execute(sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false")
                     .format(sql.Identifier(name)))


def discard_server(server: EmbeddedPostgres) -> None:
    """Stop a test server whoever started it, and delete a cluster kept outside its home
    (/var/lib/tidemill/clusters/…); the home itself is the caller's temp dir."""
    try:
        server.stop()
    except EmbeddedPostgresError:
        pidfile = server.data_dir / "postmaster.pid"
        if pidfile.exists() and server.is_running():
            with suppress(OSError, ValueError):
                os.kill(int(pidfile.read_text().split()[0]), signal.SIGKILL)
    if (server.home / "postgres" / "LOCATION").exists():
        shutil.rmtree(server.data_dir.parent, ignore_errors=True)


@contextmanager
def bench_database() -> Iterator[str]:
    """For benchmarks: TIDEMILL_BENCH_DATABASE_URL if set, else a fresh embedded server
    (fsync on, as in production) removed afterwards, cluster included; migrated."""
    import tempfile
    from pathlib import Path

    from desktop_app.db.migrate import migrate

    url = os.environ.get("TIDEMILL_BENCH_DATABASE_URL")
    server = None
    if not url:
        server = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="tm-bench-")))
        url = server.start()
    try:
        migrate(url)
        yield url
    finally:
        if server is not None:
            discard_server(server)
            shutil.rmtree(server.home, ignore_errors=True)


def postgresql_resource(url: str, dbname: str | None = None) -> dict[str, object]:
    """A `postgresql` resource value that reaches the server of a libpq URL: its socket
    folder as host, and the password from the URL's passfile (the embedded server asks
    every connection for one)."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    password = ""
    if info.get("passfile"):
        with open(str(info["passfile"])) as fh:
            password = fh.readline().strip().rsplit(":", 1)[-1]
    return {"host": info["host"], "port": int(str(info.get("port") or 5432)),
            "user": info.get("user") or "postgres", "dbname": dbname or info["dbname"],
            "password": password}
