"""Bring a database's schema to the current version with Alembic.

Several daemons may share one database and start together, so the upgrade runs
under a Postgres advisory lock: the second one waits, then finds nothing to do.

Nearly every start finds the schema current: that is told from the `alembic_version`
row and the migration files' `revision` lines, without importing Alembic and SQLAlchemy
(about a second of CPU, a third of a daemon's start). Anything else goes to Alembic.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg

from desktop_app.db.urls import libpq_url, sqlalchemy_url

if TYPE_CHECKING:
    from alembic.config import Config

_MIGRATIONS = Path(__file__).parent / "migrations"
_LOCK_KEY = 7_471_731  # arbitrary, constant: "tidemill migrations"
_REVISION = re.compile(
    r'^(down_revision|revision)\s*(?::[^=\n]*)?=\s*(?:"([^"]*)"|\'([^\']*)\'|None)', re.M)


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return cfg


def head_revision() -> str | None:
    """The newest migration's revision, read from the files; None unless there is
    exactly one head (Alembic then decides)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for file in (_MIGRATIONS / "versions").glob("*.py"):
        found = {m.group(1): m.group(2) or m.group(3) for m in _REVISION.finditer(file.read_text())}
        if not found.get("revision") or "down_revision" not in found:
            return None  # a file this reading does not understand: never skip it
        revisions.add(found["revision"])
        if found["down_revision"]:
            parents.add(found["down_revision"])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def schema_is_current(url: str) -> bool:
    """True when the database's `alembic_version` is the newest migration."""
    head = head_revision()
    if head is None:
        return False
    try:
        with psycopg.connect(libpq_url(url), autocommit=True, connect_timeout=10) as conn:
            rows = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    except psycopg.errors.UndefinedTable:
        return False  # a new database
    return rows == [(head,)]


def migrate(url: str) -> None:
    """Upgrade the database at `url` (a libpq URL) to the newest schema."""
    if schema_is_current(url):
        return
    from alembic import command
    from sqlalchemy import create_engine, text

    engine = create_engine(sqlalchemy_url(url), poolclass=None)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK_KEY})
            try:
                cfg = alembic_config(url)
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
                conn.commit()
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_KEY})
                conn.commit()
    finally:
        engine.dispose()
