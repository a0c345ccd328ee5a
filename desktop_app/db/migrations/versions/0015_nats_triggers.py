"""NATS triggers: `nats` joins the event trigger kinds (and the kinds whose failed runs go
to the trigger's failure handler).

Revision ID: 0015
Revises: 0014
"""

from alembic import op

revision = "0015"
down_revision = "0014"


def _kinds(kinds: str) -> None:
    op.execute(
        f"""
        ALTER TABLE event_triggers DROP CONSTRAINT event_triggers_kind;
        ALTER TABLE event_triggers ADD CONSTRAINT event_triggers_kind
            CHECK (kind IN ({kinds}, 'email'));
        DROP TRIGGER job_completed_trigger_outcome ON job_completed;
        CREATE TRIGGER job_completed_trigger_outcome AFTER INSERT ON job_completed
            FOR EACH ROW WHEN (NEW.status = 'failure' AND NEW.parent_job IS NULL
                               AND NEW.trigger_path IS NOT NULL
                               AND NEW.trigger_kind IN ({kinds}, 'email', 'http'))
            EXECUTE FUNCTION tidemill_trigger_outcome();
        """
    )


def upgrade() -> None:
    _kinds("'websocket', 'postgres', 'mqtt', 'nats'")


def downgrade() -> None:
    op.execute("DELETE FROM event_triggers WHERE kind = 'nats'")
    _kinds("'websocket', 'postgres', 'mqtt'")
