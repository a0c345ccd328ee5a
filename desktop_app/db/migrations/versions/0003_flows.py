"""Flows (versioned by path) and the flow definition a flow job runs.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE flows (
            workspace_id text NOT NULL DEFAULT 'main',
            path text NOT NULL,
            version bigserial,
            summary text NOT NULL DEFAULT '',
            description text NOT NULL DEFAULT '',
            value jsonb NOT NULL,
            schema jsonb,
            archived boolean NOT NULL DEFAULT false,
            created_by text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            extra jsonb NOT NULL DEFAULT '{}'::jsonb,
            PRIMARY KEY (workspace_id, version)
        );
        CREATE INDEX flows_by_path ON flows (workspace_id, path, version DESC);
        -- The definition a flow job (or loop iteration, branch) runs, frozen at push time:
        -- a new deploy never changes a running flow.
        ALTER TABLE job_queue ADD COLUMN raw_flow jsonb;
        ALTER TABLE job_completed ADD COLUMN raw_flow jsonb;
        """
    )


def downgrade() -> None:
    op.execute("ALTER TABLE job_completed DROP COLUMN raw_flow;"
               " ALTER TABLE job_queue DROP COLUMN raw_flow; DROP TABLE flows")
