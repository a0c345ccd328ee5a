"""Bounded, paged logs and workspace job settings.

`job_logs.end_pos` is the character offset just after each chunk, so a reader at any
offset finds its chunk through an index instead of joining the whole log in memory.
`workspace_settings` holds a workspace's job limits (log cap, retention); NULL means the
built-in default.

Revision ID: 0012
Revises: 0011
"""

from alembic import op

revision = "0012"
down_revision = "0011"


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE job_logs ADD COLUMN end_pos bigint;
        UPDATE job_logs l SET end_pos = s.end_pos
          FROM (SELECT job_id, seq,
                       sum(length(chunk)) OVER (PARTITION BY job_id ORDER BY seq) AS end_pos
                  FROM job_logs) s
         WHERE l.job_id = s.job_id AND l.seq = s.seq;
        ALTER TABLE job_logs ALTER COLUMN end_pos SET NOT NULL;
        CREATE INDEX job_logs_end_pos ON job_logs (job_id, end_pos);
        CREATE TABLE workspace_settings (
            workspace_id text PRIMARY KEY,
            log_max_bytes bigint CHECK (log_max_bytes > 0),
            keep_success_secs bigint CHECK (keep_success_secs > 0),
            keep_failure_secs bigint CHECK (keep_failure_secs > 0)
        );
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE workspace_settings;
        DROP INDEX job_logs_end_pos;
        ALTER TABLE job_logs DROP COLUMN end_pos;
        """
    )
