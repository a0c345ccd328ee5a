"""Users and roles, folders with grants, and the audit log.

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE users (
            username text PRIMARY KEY,
            email text NOT NULL,
            role text NOT NULL DEFAULT 'developer',
            created_at timestamptz NOT NULL DEFAULT now(),
            created_by text,
            CONSTRAINT users_role CHECK (role IN ('admin', 'developer', 'operator')),
            CONSTRAINT users_name CHECK (username ~ '^[A-Za-z0-9_.-]{1,64}$')
        );
        -- Every owner of an existing token was, until now, an admin: they stay one.
        INSERT INTO users (username, email, role, created_by)
        SELECT DISTINCT owner, owner || '@tidemill.local', 'admin', 'migration' FROM tokens
         WHERE owner ~ '^[A-Za-z0-9_.-]{1,64}$'
        ON CONFLICT DO NOTHING;
        INSERT INTO users (username, email, role, created_by)
        VALUES ('admin', 'admin@tidemill.local', 'admin', 'migration') ON CONFLICT DO NOTHING;

        CREATE TABLE folders (
            workspace_id text NOT NULL DEFAULT 'main',
            name text NOT NULL,
            display_name text NOT NULL,
            summary text,
            owners text[] NOT NULL DEFAULT '{}',
            extra_perms jsonb NOT NULL DEFAULT '{}'::jsonb,
            created_by text NOT NULL,
            edited_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (workspace_id, name)
        );

        CREATE TABLE audit_log (
            id bigserial PRIMARY KEY,
            workspace_id text NOT NULL,
            timestamp timestamptz NOT NULL DEFAULT now(),
            username text NOT NULL,
            operation text NOT NULL,
            action_kind text NOT NULL,
            resource text,
            parameters jsonb
        );
        CREATE INDEX audit_log_time ON audit_log (workspace_id, timestamp DESC, id DESC);

        -- Every run is audited in the transaction that queues it, whichever path queued it
        -- (API, schedule, HTTP route, restart): one INSERT per statement that pushes, so a
        -- bulk COPY costs one insert too. Flow steps and workflow tasks (parent_job set)
        -- are parts of an audited run, not runs of their own.
        CREATE FUNCTION audit_runs() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO audit_log (workspace_id, timestamp, username, operation, action_kind,
                                   resource, parameters)
            SELECT workspace_id, created_at, created_by,
                   'jobs.run.' || CASE kind WHEN 'flow' THEN 'flow'
                                            WHEN 'preview' THEN 'preview' ELSE 'script' END,
                   'Execute', script_path,
                   jsonb_build_object('job_id', id, 'permissioned_as', permissioned_as,
                                      'trigger_kind', trigger_kind)
              FROM pushed WHERE parent_job IS NULL;
            RETURN NULL;
        END $$;
        CREATE TRIGGER job_queue_audit_runs AFTER INSERT ON job_queue
            REFERENCING NEW TABLE AS pushed FOR EACH STATEMENT EXECUTE FUNCTION audit_runs();
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER job_queue_audit_runs ON job_queue; DROP FUNCTION audit_runs();"
               " DROP TABLE audit_log, folders, users")
