"""The change log: audit rows of item changes carry the item (as its files show it), so
the Git recorder commits each change as it was, in order.

Revision ID: 0014
Revises: 0013
"""

from alembic import op

revision = "0014"
down_revision = "0013"


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE audit_log
            ADD COLUMN item_kind text,
            ADD COLUMN item_action text,
            ADD COLUMN item json,  -- json keeps the file's key order; jsonb sorts keys
            ADD COLUMN item_version text,
            ADD COLUMN old_path text;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE audit_log DROP COLUMN item_kind, DROP COLUMN item_action, DROP COLUMN item,
            DROP COLUMN item_version, DROP COLUMN old_path;
        """
    )
