"""A daemon start on a current schema is told so without Alembic (db/migrate.py), and
anything else still goes through Alembic."""

from __future__ import annotations

import subprocess
import sys
import uuid

import psycopg
from alembic.script import ScriptDirectory

from desktop_app.db.embedded import EmbeddedPostgres
from desktop_app.db.migrate import alembic_config, head_revision, migrate, schema_is_current
from tests.support.pg import create_database, drop_database


def test_the_head_read_from_the_files_is_alembics(database_url: str) -> None:
    assert head_revision() == \
        ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()


def test_a_current_schema_is_told_without_importing_alembic(database_url: str) -> None:
    code = ("import sys\nfrom desktop_app.db.migrate import migrate\n"
            f"migrate({database_url!r})\n"
            "print(sorted(m for m in ('alembic', 'sqlalchemy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stderr


def test_an_older_or_new_database_is_migrated_by_alembic(
        database_url: str, pg_server: EmbeddedPostgres) -> None:
    assert schema_is_current(database_url)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE alembic_version SET version_num = %s",
                     (ScriptDirectory.from_config(alembic_config(database_url))
                      .get_revision(head_revision()).down_revision,))
    assert not schema_is_current(database_url)
    name = f"empty_{uuid.uuid4().hex}"
    url = create_database(pg_server.url, name)
    try:
        assert not schema_is_current(url)  # no alembic_version table at all
        migrate(url)
        assert schema_is_current(url)
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT count(*) FROM job_queue").fetchone() == (0,)
    finally:
        drop_database(pg_server.url, name)
