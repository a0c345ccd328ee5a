"""Job logs, stored in chunks as they are produced so they can be read while a job runs."""

from __future__ import annotations

import uuid
from typing import Any

from psycopg import AsyncConnection


async def append_log(conn: AsyncConnection[Any], job_id: uuid.UUID, seq: int, chunk: str) -> None:
    if not chunk:
        return
    # NUL bytes are not valid in Postgres text; a script printing them must not lose its job.
    await conn.execute(
        "INSERT INTO job_logs (job_id, seq, chunk) VALUES (%s, %s, %s)",
        (job_id, seq, chunk.replace("\x00", "\\0")),
    )


async def read_logs(conn: AsyncConnection[Any], job_id: uuid.UUID, offset: int = 0) -> str:
    """All log text of a job, from character `offset` on."""
    cur = await conn.execute(
        "SELECT string_agg(chunk, '' ORDER BY seq) FROM job_logs WHERE job_id = %s", (job_id,)
    )
    row = await cur.fetchone()
    text = (row[0] if row else None) or ""
    return text[offset:]


async def next_log_seq(conn: AsyncConnection[Any], job_id: uuid.UUID) -> int:
    cur = await conn.execute(
        "SELECT COALESCE(max(seq) + 1, 0) FROM job_logs WHERE job_id = %s", (job_id,)
    )
    row = await cur.fetchone()
    return int(row[0]) if row else 0
