"""Keyset paging of the job history: (created_at, id) ordered index on completed jobs.

The runs view pages with `(created_at, id) < (last seen)`; bulk-inserted jobs share one
created_at, so the id breaks ties and the index must hold it for the page to be an index
range scan rather than a sort of every job.

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    op.execute(
        """
        CREATE INDEX job_completed_keyset ON job_completed (workspace_id, created_at, id);
        DROP INDEX job_completed_created;
        CREATE INDEX job_queue_created ON job_queue (workspace_id, created_at, id);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX job_queue_created;
        CREATE INDEX job_completed_created ON job_completed (workspace_id, created_at DESC);
        DROP INDEX job_completed_keyset;
        """
    )
