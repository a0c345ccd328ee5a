"""Job logs, stored in chunks as they are produced so they can be read while a job runs.

Each chunk row carries `end_pos`, the character offset just after it, so a reader asks
for "from offset N" and gets a bounded page through the `(job_id, end_pos)` index: no
reader ever holds a whole log. Writers keep chunks under `CHUNK_CHARS`, and a job's log
stops growing at its cap (`log_limit`); the worker then says how much it dropped.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

from psycopg import AsyncConnection

from desktop_app.db.jobs import like_pattern

#: A job's log cap when neither its script nor its workspace sets one.
DEFAULT_LOG_MAX_BYTES = 10 * 1024 * 1024
#: Largest chunk row; a page is made of whole rows (the first one possibly cut).
CHUNK_CHARS = 256 * 1024
#: What one read returns at most (plus at most one chunk).
PAGE_CHARS = 1024 * 1024

_APPEND = (
    "INSERT INTO job_logs (job_id, seq, chunk, end_pos)"
    " SELECT %(job)s, %(seq)s, %(chunk)s, %(n)s + COALESCE((SELECT end_pos FROM job_logs"
    "   WHERE job_id = %(job)s ORDER BY end_pos DESC LIMIT 1), 0)"
)


async def append_log(conn: AsyncConnection[Any], job_id: uuid.UUID, seq: int, chunk: str) -> int:
    """Append text as chunk `seq` (and following ones if it is long); the next free seq."""
    if not chunk:
        return seq
    # NUL bytes are not valid in Postgres text; a script printing them must not lose its job.
    chunk = chunk.replace("\x00", "\\0")
    for start in range(0, len(chunk), CHUNK_CHARS):
        piece = chunk[start:start + CHUNK_CHARS]
        await conn.execute(_APPEND, {"job": job_id, "seq": seq, "chunk": piece, "n": len(piece)})
        seq += 1
    return seq


async def read_log_page(conn: AsyncConnection[Any], job_id: uuid.UUID, offset: int = 0,
                        max_chars: int = PAGE_CHARS) -> str:
    """Log text from character `offset` on, about `max_chars` of it (whole chunks)."""
    parts: list[str] = []
    got = 0
    while got < max_chars:
        cur = await conn.execute(
            "SELECT chunk, end_pos FROM job_logs WHERE job_id = %s AND end_pos > %s"
            " ORDER BY end_pos LIMIT 64", (job_id, offset + got))
        rows = await cur.fetchall()
        for chunk, end_pos in rows:
            start = end_pos - len(chunk)
            part = chunk[offset + got - start:] if start < offset + got else chunk
            parts.append(part)
            got += len(part)
            if got >= max_chars:
                break
        if len(rows) < 64:
            break
    return "".join(parts)


async def iter_log(conn_factory: Any, job_id: uuid.UUID, offset: int = 0,
                   page_chars: int = PAGE_CHARS) -> AsyncIterator[str]:
    """The log from `offset` to its current end, page by page; a connection is taken from
    `conn_factory()` (an async context manager, e.g. a pool's `connection`) per page, so a
    slow reader holds none between pages."""
    while True:
        async with conn_factory() as conn:
            page = await read_log_page(conn, job_id, offset, page_chars)
        if not page:
            return
        offset += len(page)
        yield page


async def read_logs(conn: AsyncConnection[Any], job_id: uuid.UUID, offset: int = 0) -> str:
    """All log text of a job, from character `offset` on (bounded by the job's log cap)."""
    parts: list[str] = []
    while page := await read_log_page(conn, job_id, offset):
        parts.append(page)
        offset += len(page)
    return "".join(parts)


async def matching_lines(conn: AsyncConnection[Any], job_ids: list[uuid.UUID],
                         text: str) -> dict[uuid.UUID, str]:
    """The first line of each job's log that contains `text` (any case), cut to 300
    characters; read from around the match, never the whole chunk."""
    if not job_ids:
        return {}
    cur = await conn.execute(
        "SELECT DISTINCT ON (job_id) job_id,"
        "       substring(chunk FROM greatest(1, p - 400) FOR 800 + length(%(t)s))"
        "  FROM (SELECT job_id, seq, chunk, strpos(lower(chunk), lower(%(t)s)) AS p"
        "          FROM job_logs WHERE job_id = ANY(%(ids)s) AND chunk ILIKE %(pat)s) m"
        " ORDER BY job_id, seq",
        {"t": text, "ids": job_ids, "pat": like_pattern(text)})
    found: dict[uuid.UUID, str] = {}
    needle = text.lower()
    for job_id, around in await cur.fetchall():
        lines = around.splitlines() or [""]
        line = next((ln for ln in lines if needle in ln.lower()), lines[0])
        found[job_id] = line if len(line) <= 300 else _cut_around(line, line.lower().find(needle))
    return found


def _cut_around(line: str, at: int) -> str:
    start = max(0, at - 100)
    return ("…" if start else "") + line[start:start + 300] + "…"


async def next_log_seq(conn: AsyncConnection[Any], job_id: uuid.UUID) -> int:
    cur = await conn.execute(
        "SELECT COALESCE(max(seq) + 1, 0) FROM job_logs WHERE job_id = %s", (job_id,)
    )
    row = await cur.fetchone()
    return int(row[0]) if row else 0


#: A job's log cap as an SQL expression of %(ws)s and %(hash)s, NULL for the default: the
#: worker reads it in the statement that marks the job started (`queue.mark_started`).
LOG_LIMIT_SQL = (
    "COALESCE("
    " (SELECT least((extra->>'log_max_bytes')::numeric, 9e18) FROM scripts"
    "   WHERE workspace_id = %(ws)s AND hash = %(hash)s"
    "     AND jsonb_typeof(extra->'log_max_bytes') = 'number'),"
    " (SELECT log_max_bytes FROM workspace_settings WHERE workspace_id = %(ws)s))")


def log_cap(value: Any) -> int:
    """The cap in bytes from `LOG_LIMIT_SQL`'s value (none set, or not positive: the default)."""
    return int(value) if value and value > 0 else DEFAULT_LOG_MAX_BYTES


async def log_limit(conn: AsyncConnection[Any], workspace: str, script_hash: str | None) -> int:
    """A job's log cap in bytes: its script's `log_max_bytes`, else its workspace's, else
    `DEFAULT_LOG_MAX_BYTES`."""
    cur = await conn.execute(f"SELECT {LOG_LIMIT_SQL}", {"ws": workspace, "hash": script_hash})
    row = await cur.fetchone()
    return log_cap(row[0] if row else None)


def truncation_note(dropped_bytes: int, limit: int) -> str:
    """The line that ends a log cut at its cap."""
    return (f"\n[tidemill] log truncated: {_size(dropped_bytes)} ({dropped_bytes} bytes) of output "
            f"dropped after the {_size(limit)} log limit (set log_max_bytes on the script or "
            "the workspace to keep more)\n")


def _size(n: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"
