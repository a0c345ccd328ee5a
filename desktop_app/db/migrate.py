"""Bring a database's schema to the current version with Alembic.

Several daemons may share one database and start together, so the upgrade runs
under a Postgres advisory lock: the second one waits, then finds nothing to do.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

from desktop_app.db.urls import sqlalchemy_url

_MIGRATIONS = Path(__file__).parent / "migrations"
_LOCK_KEY = 7_471_731  # arbitrary, constant: "tidemill migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return cfg


def migrate(url: str) -> None:
    """Upgrade the database at `url` (a libpq URL) to the newest schema."""
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
