"""Log search: a trigram index on the log chunks, so `ILIKE '%text%'` over millions of
lines is an index lookup (pg_trgm is a trusted extension: the database's owner may add it).

Revision ID: 0013
Revises: 0012
"""

from alembic import op

revision = "0013"
down_revision = "0012"


def upgrade() -> None:
    op.execute(
        """
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
        CREATE INDEX job_logs_chunk_trgm ON job_logs USING gin (chunk gin_trgm_ops);
        """
    )


def downgrade() -> None:
    op.execute("DROP INDEX job_logs_chunk_trgm")
