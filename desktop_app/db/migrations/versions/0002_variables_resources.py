"""Variables, resources and resource types; which secrets each job read.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    # Secret values never enter these tables: `secret_ref` names the OS keyring entry
    # that holds the value; a secret field of a resource is stored as {"$secret": ref}.
    op.execute(
        """
        CREATE TABLE variables (
            workspace_id text NOT NULL DEFAULT 'main',
            path text NOT NULL,
            value text,
            is_secret boolean NOT NULL DEFAULT false,
            secret_ref text,
            description text NOT NULL DEFAULT '',
            created_by text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            extra jsonb NOT NULL DEFAULT '{}'::jsonb,
            PRIMARY KEY (workspace_id, path),
            CHECK (NOT is_secret OR (value IS NULL AND secret_ref IS NOT NULL))
        );
        CREATE TABLE resources (
            workspace_id text NOT NULL DEFAULT 'main',
            path text NOT NULL,
            value jsonb,
            resource_type text NOT NULL,
            description text NOT NULL DEFAULT '',
            created_by text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            extra jsonb NOT NULL DEFAULT '{}'::jsonb,
            PRIMARY KEY (workspace_id, path)
        );
        CREATE INDEX resources_by_type ON resources (workspace_id, resource_type);
        CREATE TABLE resource_types (
            workspace_id text NOT NULL DEFAULT 'main',
            name text NOT NULL,
            schema jsonb,
            description text NOT NULL DEFAULT '',
            created_by text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (workspace_id, name)
        );
        CREATE TABLE job_secret_reads (
            job_id uuid NOT NULL,
            workspace_id text NOT NULL,
            secret_ref text NOT NULL,
            PRIMARY KEY (job_id, secret_ref)
        );
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE job_secret_reads, resource_types, resources, variables")
