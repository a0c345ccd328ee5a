"""Channel names. Pushing notifies workers; completing and cancelling notify waiters."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

QUEUE_CHANNEL = "tidemill_queue"  # payload: the tag that got work
DONE_CHANNEL = "tidemill_done"  # payload: see `done_payload_sql`, or "*" (a batch ended)
CANCEL_CHANNEL = "tidemill_cancel"  # payload: the id of a running job to kill

#: The longest result carried in a completion's NOTIFY (PostgreSQL's payload limit is
#: 8000 bytes); a longer one is read from `job_completed` by whoever waits.
DONE_RESULT_MAX_BYTES = 7000


def done_payload_sql(id_: str, workspace: str, status: str, result_text: str) -> str:
    """The SQL expression of a completion's payload: "<id> <workspace> <status> <result
    JSON>", or "<id>" alone when the result is long or NULL. A `run_wait_result` caller
    gets its answer from it without another query."""
    return (f"CASE WHEN octet_length({result_text}) <= {DONE_RESULT_MAX_BYTES}"
            f" THEN {id_}::text || ' ' || {workspace} || ' ' || {status} || ' ' || {result_text}"
            f" ELSE {id_}::text END")


@dataclass(frozen=True)
class Done:
    """A completion as its NOTIFY tells it; `status`/`result` only when it carried them."""

    job_id: uuid.UUID
    workspace: str | None = None
    status: str | None = None
    result: Any = None


def parse_done(payload: str) -> Done:
    """A completion's payload (raises ValueError when it is not one)."""
    head, _, rest = payload.partition(" ")
    job_id = uuid.UUID(head)
    if not rest:
        return Done(job_id)
    workspace, status, result = rest.split(" ", 2)
    return Done(job_id, workspace, status, json.loads(result))
