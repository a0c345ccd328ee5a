"""Apps (versioned by path): the definition as JSON text, so its key order survives.

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE apps (
            workspace_id text NOT NULL DEFAULT 'main',
            path text NOT NULL,
            version bigserial,
            summary text NOT NULL DEFAULT '',
            -- json, not jsonb: an app.yaml read back must keep its keys' order
            value json NOT NULL,
            policy json,
            extra json NOT NULL DEFAULT '{}'::json,
            created_by text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            deployment_message text,
            PRIMARY KEY (workspace_id, version)
        );
        CREATE INDEX apps_by_path ON apps (workspace_id, path, version DESC);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE apps")
