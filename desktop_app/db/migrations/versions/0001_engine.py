"""Engine tables: script versions, the job queue, completed jobs, logs, tokens.

Revision ID: 0001
Revises:
"""

from alembic import op

revision = "0001"
down_revision = None

# The queue holds only queued and running jobs so that claiming stays cheap with
# millions of finished jobs; a finished job moves to job_completed in the same
# transaction that records its result. Both tables share the leading columns, in
# the same order, so a move is `INSERT … SELECT moved.*, …`.
JOB_COLUMNS = """
    id uuid PRIMARY KEY,
    workspace_id text NOT NULL DEFAULT 'main',
    kind text NOT NULL,
    script_path text,
    script_hash text,
    language text,
    raw_code text,
    raw_lock text,
    args jsonb NOT NULL DEFAULT '{}'::jsonb,
    tag text NOT NULL,
    priority smallint NOT NULL DEFAULT 0,
    created_by text NOT NULL,
    permissioned_as text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    scheduled_for timestamptz NOT NULL DEFAULT now(),
    running boolean NOT NULL DEFAULT false,
    started_at timestamptz,
    worker text,
    last_ping timestamptz,
    ping_every_s real,
    canceled boolean NOT NULL DEFAULT false,
    canceled_by text,
    canceled_reason text,
    timeout_s integer,
    max_retries integer NOT NULL DEFAULT 0,
    attempt integer NOT NULL DEFAULT 0,
    parent_job uuid,
    root_job uuid,
    trigger_kind text,
    trigger_path text,
    schedule_path text,
    flow_status jsonb,
    extra jsonb NOT NULL DEFAULT '{}'::jsonb
"""


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE scripts (
            workspace_id text NOT NULL DEFAULT 'main',
            hash text NOT NULL,
            path text NOT NULL,
            language text NOT NULL,
            content text NOT NULL,
            schema jsonb,
            summary text NOT NULL DEFAULT '',
            description text NOT NULL DEFAULT '',
            lock text,
            lock_error text,
            kind text NOT NULL DEFAULT 'script',
            tag text,
            timeout_s integer,
            has_preprocessor boolean NOT NULL DEFAULT false,
            no_main_func boolean NOT NULL DEFAULT false,
            parent_hash text,
            archived boolean NOT NULL DEFAULT false,
            created_by text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            extra jsonb NOT NULL DEFAULT '{}'::jsonb,
            PRIMARY KEY (workspace_id, hash)
        );
        CREATE INDEX scripts_by_path ON scripts (workspace_id, path, created_at DESC);
        """
    )
    op.execute(f"CREATE TABLE job_queue ({JOB_COLUMNS});")
    op.execute(
        """
        -- Claims scan this in order and filter by tag: an index led by tag cannot give
        -- the priority order for `tag = ANY(worker tags)` without sorting every row.
        CREATE INDEX job_queue_claim ON job_queue (priority DESC, scheduled_for, id)
            WHERE NOT running;
        CREATE INDEX job_queue_running ON job_queue (last_ping) WHERE running;
        CREATE INDEX job_queue_parent ON job_queue (parent_job) WHERE parent_job IS NOT NULL;
        """
    )
    op.execute(
        f"""
        CREATE TABLE job_completed ({JOB_COLUMNS},
            completed_at timestamptz NOT NULL DEFAULT now(),
            duration_ms bigint,
            status text NOT NULL,
            result jsonb
        );
        CREATE INDEX job_completed_created ON job_completed (workspace_id, created_at DESC);
        CREATE INDEX job_completed_path ON job_completed (workspace_id, script_path, created_at DESC);
        CREATE INDEX job_completed_parent ON job_completed (parent_job) WHERE parent_job IS NOT NULL;
        """
    )
    op.execute(
        """
        CREATE TABLE job_logs (
            job_id uuid NOT NULL,
            seq integer NOT NULL,
            chunk text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (job_id, seq)
        );
        CREATE TABLE job_progress (
            job_id uuid PRIMARY KEY,
            percent integer NOT NULL
        );
        CREATE TABLE tokens (
            token_hash text PRIMARY KEY,
            label text NOT NULL DEFAULT '',
            owner text NOT NULL,
            scope text NOT NULL DEFAULT 'admin',
            path_globs text[],
            job_id uuid,
            created_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz,
            last_used_at timestamptz
        );
        CREATE TABLE settings (
            name text PRIMARY KEY,
            value text NOT NULL
        );
        CREATE TABLE workers (
            name text PRIMARY KEY,
            hostname text NOT NULL,
            pid integer NOT NULL,
            tags text[] NOT NULL,
            started_at timestamptz NOT NULL DEFAULT now(),
            last_ping timestamptz NOT NULL DEFAULT now(),
            current_job uuid,
            jobs_done bigint NOT NULL DEFAULT 0
        );
        """
    )


def downgrade() -> None:
    op.execute(
        "DROP TABLE workers, settings, tokens, job_progress, job_logs, job_completed, job_queue, scripts"
    )
