"""An index for concurrency limits with a time window (queue/limits.py): admitting such a
job counts the key's jobs that started inside the window, in `job_completed`, which grows
to millions of rows; without this each admission scanned all of it. Partial: only jobs
that carry a concurrency key are indexed, so other jobs pay nothing. (`cache_ttl` lookups
already have `job_completed_cache_key`, from migration 0006.)

Revision ID: 0016
Revises: 0015
"""

from alembic import op

revision = "0016"
down_revision = "0015"


def upgrade() -> None:
    op.execute("CREATE INDEX job_completed_concurrency_key"
               " ON job_completed ((extra->>'concurrency_key'), started_at)"
               " WHERE extra ? 'concurrency_key'")


def downgrade() -> None:
    op.execute("DROP INDEX job_completed_concurrency_key")
