"""The runtime settings that read past jobs stay cheap on a long history: a `cache_ttl`
lookup and a windowed concurrency count use their partial indexes, not a scan of every
completed job (queue/limits.py; migrations 0006 and 0016)."""

from __future__ import annotations

import psycopg

from desktop_app.queue import limits

ROWS = 30_000  # enough history that the planner would rather use an index than scan


def _history(conn: psycopg.Connection) -> None:
    conn.execute(
        "INSERT INTO job_completed (id, kind, tag, created_by, permissioned_as, status, extra,"
        "                           started_at)"
        " SELECT gen_random_uuid(), 'script', 'python3', 'u', 'u', 'success',"
        "        CASE WHEN n %% 1000 = 0"
        "             THEN jsonb_build_object('cache_key', 'k' || n, 'cache_ttl', 60,"
        "                                     'concurrency_key', 'c' || (n %% 7))"
        "             ELSE '{}'::jsonb END, now()"
        "   FROM generate_series(1, %s) n", (ROWS,))
    conn.execute("ANALYZE job_completed")


def _plan(conn: psycopg.Connection, sql: str, params: dict[str, object]) -> str:
    rows = conn.execute("EXPLAIN " + sql, params).fetchall()
    return "\n".join(r[0] for r in rows)


def test_cache_and_window_lookups_use_their_indexes(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        _history(conn)
        cache = _plan(conn, limits.CACHED_RESULT_SQL, {"key": "k1000", "ttl": 60.0})
        assert "job_completed_cache_key" in cache, cache
        window = _plan(conn, limits.WINDOW_COUNT_SQL, {"k": "c3", "w": 30})
        assert "job_completed_concurrency_key" in window, window
        # And they still answer: the one job with this key is found.
        hit = conn.execute(limits.CACHED_RESULT_SQL, {"key": "k1000", "ttl": 60.0}).fetchone()
        assert hit is not None
