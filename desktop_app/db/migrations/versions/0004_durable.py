"""Workflow-as-code checkpoints: one row per completed step of a workflow.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    # Written in the transaction that completes the step (a child job's completion, an
    # inline step's checkpoint, an approval): a replay finds every finished step here.
    op.execute(
        """
        CREATE TABLE wac_checkpoints (
            workflow_id uuid NOT NULL,
            step_key text NOT NULL,
            result jsonb,
            child_job uuid,
            started_at timestamptz,
            duration_ms bigint,
            created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            PRIMARY KEY (workflow_id, step_key)
        );
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE wac_checkpoints")
