"""HTTP route triggers: a request to /api/r/<route_path> runs a script or flow.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE http_triggers (
            workspace_id text NOT NULL DEFAULT 'main',
            path text NOT NULL,
            route_path text NOT NULL,
            http_method text NOT NULL DEFAULT 'post',
            script_path text NOT NULL,
            is_flow boolean NOT NULL DEFAULT false,
            request_type text NOT NULL DEFAULT 'sync',
            authentication_method text NOT NULL DEFAULT 'none',
            authentication_resource_path text,
            wrap_body boolean NOT NULL DEFAULT false,
            raw_string boolean NOT NULL DEFAULT false,
            mode text NOT NULL DEFAULT 'enabled',
            summary text,
            description text,
            extra jsonb NOT NULL DEFAULT '{}'::jsonb,
            last_error text,
            edited_by text NOT NULL,
            permissioned_as text NOT NULL,
            edited_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (workspace_id, path),
            CONSTRAINT http_triggers_request_type CHECK (request_type IN ('sync', 'async')),
            CONSTRAINT http_triggers_mode CHECK (mode IN ('enabled', 'disabled'))
        )
        """
    )
    # One trigger per (route, method), whatever the workspace: /api/r/ is not workspaced.
    op.execute("CREATE UNIQUE INDEX http_triggers_route ON http_triggers (route_path, http_method)")


def downgrade() -> None:
    op.execute("DROP TABLE http_triggers")
