"""Schedules: the definitions, one row per fire time (exactly once across daemons) and an
inbox of finished scheduled runs (filled by a trigger in the completing transaction).

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE schedules (
            workspace_id text NOT NULL DEFAULT 'main',
            path text NOT NULL,
            schedule text NOT NULL,
            timezone text NOT NULL DEFAULT 'UTC',
            script_path text NOT NULL,
            is_flow boolean NOT NULL DEFAULT false,
            args jsonb NOT NULL DEFAULT '{}'::jsonb,
            enabled boolean NOT NULL DEFAULT true,
            paused_until timestamptz,
            no_flow_overlap boolean NOT NULL DEFAULT false,
            retry jsonb,
            tag text,
            on_failure text,
            on_failure_times integer NOT NULL DEFAULT 1,
            on_failure_exact boolean NOT NULL DEFAULT false,
            on_failure_extra_args jsonb,
            on_recovery text,
            on_recovery_times integer NOT NULL DEFAULT 1,
            on_recovery_extra_args jsonb,
            on_success text,
            on_success_extra_args jsonb,
            ws_error_handler_muted boolean NOT NULL DEFAULT false,
            -- once (default): one run for a missed period; all: every missed fire; skip: none
            catch_up text NOT NULL DEFAULT 'once',
            -- alert (through on_failure) when no run succeeded for this many intervals
            dead_man_intervals integer,
            summary text,
            description text,
            extra jsonb NOT NULL DEFAULT '{}'::jsonb,
            edited_by text NOT NULL,
            permissioned_as text NOT NULL,
            edited_at timestamptz NOT NULL DEFAULT now(),
            -- bookkeeping: every fire time <= planned_until has been handled
            planned_until timestamptz NOT NULL DEFAULT now(),
            next_fire timestamptz,
            last_fire timestamptz,
            last_job uuid,
            missed_total bigint NOT NULL DEFAULT 0,
            last_missed jsonb,
            skipped_total bigint NOT NULL DEFAULT 0,
            failure_streak integer NOT NULL DEFAULT 0,
            success_streak integer NOT NULL DEFAULT 0,
            last_failure jsonb,
            last_success_at timestamptz,
            watch_since timestamptz NOT NULL DEFAULT now(),
            dead_man_alerted_at timestamptz,
            error text,
            PRIMARY KEY (workspace_id, path)
        );
        CREATE INDEX schedules_due ON schedules (next_fire) WHERE enabled;
        -- One row per handled fire time: the unique key makes each fire exactly once even
        -- with several daemons planning the same schedule.
        CREATE TABLE schedule_fires (
            workspace_id text NOT NULL,
            schedule_path text NOT NULL,
            fire_time timestamptz NOT NULL,
            status text NOT NULL,          -- pushed | catch_up | skipped_overlap | paused
            job_id uuid,
            missed integer NOT NULL DEFAULT 0,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (workspace_id, schedule_path, fire_time),
            FOREIGN KEY (workspace_id, schedule_path) REFERENCES schedules ON DELETE CASCADE
        );
        CREATE INDEX schedule_fires_job ON schedule_fires (job_id);
        CREATE INDEX IF NOT EXISTS job_queue_schedule ON job_queue (workspace_id, schedule_path)
            WHERE schedule_path IS NOT NULL;
        CREATE INDEX IF NOT EXISTS job_completed_schedule
            ON job_completed (workspace_id, schedule_path, completed_at DESC)
            WHERE schedule_path IS NOT NULL;
        -- Finished runs of schedules, written by the completing transaction itself (every
        -- path: worker, reaper, cancel, flow end), consumed once by a scheduler.
        CREATE TABLE schedule_outcomes (
            job_id uuid PRIMARY KEY,
            workspace_id text NOT NULL,
            schedule_path text NOT NULL,
            status text NOT NULL,
            result jsonb,
            started_at timestamptz,
            completed_at timestamptz NOT NULL
        );
        CREATE FUNCTION tidemill_schedule_outcome() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO schedule_outcomes (job_id, workspace_id, schedule_path, status, result,
                                           started_at, completed_at)
            VALUES (NEW.id, NEW.workspace_id, NEW.schedule_path, NEW.status, NEW.result,
                    NEW.started_at, NEW.completed_at)
            ON CONFLICT (job_id) DO NOTHING;
            RETURN NULL;
        END $$;
        CREATE TRIGGER job_completed_schedule_outcome AFTER INSERT ON job_completed
            FOR EACH ROW WHEN (NEW.schedule_path IS NOT NULL)
            EXECUTE FUNCTION tidemill_schedule_outcome();
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TRIGGER IF EXISTS job_completed_schedule_outcome ON job_completed;
        DROP FUNCTION IF EXISTS tidemill_schedule_outcome();
        DROP TABLE IF EXISTS schedule_outcomes;
        DROP INDEX IF EXISTS job_completed_schedule;
        DROP INDEX IF EXISTS job_queue_schedule;
        DROP TABLE IF EXISTS schedule_fires;
        DROP TABLE IF EXISTS schedules;
        """
    )
