"""The order of a result's keys beside the result (Windmill's `result_columns`): jsonb
sorts keys, so a table the script returned came back with its columns reordered.

Revision ID: 0017
Revises: 0016
"""

from alembic import op

revision = "0017"
down_revision = "0016"


def upgrade() -> None:
    # nullable, no default: instant on a large history
    op.execute("ALTER TABLE job_completed ADD COLUMN result_columns text[]")


def downgrade() -> None:
    op.execute("ALTER TABLE job_completed DROP COLUMN result_columns")
