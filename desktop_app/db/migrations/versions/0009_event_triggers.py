"""Event triggers: WebSocket, Postgres LISTEN, MQTT and email triggers in one table (their
shared fields as columns, each kind's own settings in `config`), and the inbox of failed
triggered runs whose trigger has a failure handler (filled in the completing transaction).

Revision ID: 0009
Revises: 0008
"""

from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE event_triggers (
            workspace_id text NOT NULL DEFAULT 'main',
            kind text NOT NULL,
            path text NOT NULL,
            script_path text NOT NULL,
            is_flow boolean NOT NULL DEFAULT false,
            mode text NOT NULL DEFAULT 'enabled',
            config jsonb NOT NULL DEFAULT '{}'::jsonb,
            error_handler_path text,
            error_handler_args jsonb,
            retry jsonb,
            summary text,
            description text,
            extra jsonb NOT NULL DEFAULT '{}'::jsonb,
            edited_by text NOT NULL,
            permissioned_as text NOT NULL,
            edited_at timestamptz NOT NULL DEFAULT now(),
            -- what the listener reports: which daemon owns it, when it last said so, how
            -- it is doing, and the last thing that went wrong
            server_id text,
            last_server_ping timestamptz,
            status text,
            last_error text,
            last_error_at timestamptz,
            last_event_at timestamptz,
            events_total bigint NOT NULL DEFAULT 0,
            PRIMARY KEY (workspace_id, kind, path),
            CONSTRAINT event_triggers_kind CHECK (kind IN ('websocket', 'postgres', 'mqtt',
                                                           'email')),
            CONSTRAINT event_triggers_mode CHECK (mode IN ('enabled', 'disabled'))
        );
        -- one email trigger per address
        CREATE UNIQUE INDEX event_triggers_email_local_part
            ON event_triggers (lower(config->>'local_part')) WHERE kind = 'email';
        -- Failed runs started by a trigger (every completing path: worker, reaper, cancel,
        -- a flow's end), consumed once by a daemon that runs the trigger's failure handler.
        CREATE TABLE trigger_outcomes (
            job_id uuid PRIMARY KEY,
            workspace_id text NOT NULL,
            trigger_kind text NOT NULL,
            trigger_path text NOT NULL,
            script_path text,
            status text NOT NULL,
            result jsonb,
            started_at timestamptz,
            completed_at timestamptz NOT NULL
        );
        CREATE FUNCTION tidemill_trigger_outcome() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO trigger_outcomes (job_id, workspace_id, trigger_kind, trigger_path,
                                          script_path, status, result, started_at,
                                          completed_at)
            VALUES (NEW.id, NEW.workspace_id, NEW.trigger_kind, NEW.trigger_path,
                    NEW.script_path, NEW.status, NEW.result, NEW.started_at, NEW.completed_at)
            ON CONFLICT (job_id) DO NOTHING;
            RETURN NULL;
        END $$;
        CREATE TRIGGER job_completed_trigger_outcome AFTER INSERT ON job_completed
            FOR EACH ROW WHEN (NEW.status = 'failure' AND NEW.parent_job IS NULL
                               AND NEW.trigger_path IS NOT NULL
                               AND NEW.trigger_kind IN ('websocket', 'postgres', 'mqtt',
                                                        'email', 'http'))
            EXECUTE FUNCTION tidemill_trigger_outcome();
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TRIGGER IF EXISTS job_completed_trigger_outcome ON job_completed;
        DROP FUNCTION IF EXISTS tidemill_trigger_outcome();
        DROP TABLE IF EXISTS trigger_outcomes;
        DROP TABLE IF EXISTS event_triggers;
        """
    )
