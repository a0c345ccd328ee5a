"""The embedded server's password: every connection authenticates (scram-sha-256).

A job runs with its own rights, never the daemon's; with `trust` anyone who reached the
server's socket was the superuser `postgres` (and could read the job token key). So the
cluster is made with `initdb --auth=scram-sha-256 --pwfile`, and the password lives in
`$home/postgres/pgpass` (0600, libpq's passfile format), readable by the daemon's user only.
URLs name that file (`passfile=…`), so no password is ever in a URL, an argv or a log.

A cluster made before this (trust) is upgraded at start: while it still trusts us we set
the password, then switch `pg_hba.conf` to scram and reload.
"""

from __future__ import annotations

import os
import re
import secrets
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

from desktop_app.core.errors import EmbeddedPostgresError

PGPASS = "pgpass"
_TRUST = re.compile(r"^(\s*(?:local|host\w*)\s.*?)\btrust\b", re.MULTILINE)


def pgpass_path(home: Path) -> Path:
    return home / "postgres" / PGPASS


def read_password(home: Path) -> str | None:
    """The superuser's password, or None for a home that has none yet."""
    try:
        line = pgpass_path(home).read_text().strip().splitlines()[0]
    except (FileNotFoundError, IndexError):
        return None
    return line.rsplit(":", 1)[-1] or None


def _write_password(home: Path) -> str:
    password = secrets.token_hex(24)  # hex: nothing to escape in pgpass or a URL
    path = pgpass_path(home)
    tmp = path.with_name(f".{PGPASS}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(f"*:*:*:postgres:{password}\n")
    os.replace(tmp, path)
    return password


@contextmanager
def initdb_password_file(home: Path, owner: tuple[int, int] | None) -> Iterator[list[str]]:
    """initdb's arguments for a scram cluster; the password file it reads exists only
    while it runs (owned by the server's user when that is not us)."""
    password = _write_password(home)
    fd, name = tempfile.mkstemp(prefix="tidemill-pw-")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(password + "\n")
        if sys.platform != "win32" and owner is not None:  # root on POSIX only
            os.chown(name, *owner)
        yield ["--auth=scram-sha-256", f"--pwfile={name}"]
    finally:
        os.unlink(name)


def require_password(home: Path, data_dir: Path, socket_dir: Path, port: int) -> None:
    """Upgrade a cluster that trusts local connections (made before passwords): set the
    superuser's password and switch pg_hba.conf to scram-sha-256, then reload."""
    hba = data_dir / "pg_hba.conf"
    text = hba.read_text()
    if not _TRUST.search(text):
        if read_password(home) is None:
            raise EmbeddedPostgresError(
                f"The embedded PostgreSQL server asks for a password but {pgpass_path(home)} "
                "is missing.",
                hint="restore that file from a backup of this home, or start with a new home")
        return
    password = read_password(home) or _write_password(home)
    try:
        with psycopg.connect(host=str(socket_dir), port=port, user="postgres", dbname="postgres",
                             autocommit=True, connect_timeout=10) as conn:
            conn.execute("SET password_encryption = 'scram-sha-256'")
            conn.execute(sql.SQL("ALTER ROLE postgres PASSWORD {}").format(
                sql.Literal(password)))
            # In place: the file keeps its owner (the server's user when we are root).
            with open(hba, "r+") as fh:
                fh.write(_TRUST.sub(r"\1scram-sha-256", text))
                fh.truncate()
            conn.execute("SELECT pg_reload_conf()")
    except psycopg.Error as exc:
        raise EmbeddedPostgresError(f"Could not set the embedded server's password: {exc}",
                                    hint="check the server log in $TIDEMILL_HOME/logs") from exc
