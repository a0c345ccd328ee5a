"""An index for `cache_ttl`: a step's cached result is found by its cache key.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.execute(
        "CREATE INDEX job_completed_cache_key ON job_completed ((extra->>'cache_key'),"
        " completed_at DESC) WHERE extra ? 'cache_key'"
    )
    op.execute(
        "CREATE INDEX job_queue_concurrency ON job_queue ((extra->>'concurrency_key'))"
        " WHERE extra ? 'concurrency_key'"
    )


def downgrade() -> None:
    op.execute("DROP INDEX job_queue_concurrency; DROP INDEX job_completed_cache_key")
