"""The API pool's check of a connection handed out: a ping only when one could fail.

`AsyncConnectionPool.check_connection` sends an empty query on every checkout: a round
trip (~1 ms quiet, several under load) before each webhook's one-statement push, about a
third of the enqueue path's time (profiled with tests/benchmarks/bench_enqueue.py). What
it guards against is a connection whose server went away (the embedded postmaster killed
and restarted: daemon/db_watch.py). A server that goes away closes the socket or writes a
FATAL message to it, so the socket becomes readable while the connection sits idle in the
pool; a healthy idle connection has nothing to read. So: ping when the socket has
something to read, when psycopg already knows the connection is broken, or when it was
not handed out for a while (a remote server behind a silent network drop); otherwise
hand it out at once.
"""

from __future__ import annotations

import select
import time
import weakref
from typing import Any

from psycopg import AsyncConnection, OperationalError
from psycopg_pool import AsyncConnectionPool

# A connection not handed out for this long is pinged anyway.
IDLE_PING_S = 10.0

_last_out: weakref.WeakKeyDictionary[AsyncConnection[Any], float] = weakref.WeakKeyDictionary()


def _has_input(conn: AsyncConnection[Any]) -> bool:
    try:
        readable, _, _ = select.select([conn.pgconn.socket], [], [], 0)
    except (OSError, ValueError, OperationalError):
        return True  # no usable socket: let the real check say so
    return bool(readable)


async def check_when_needed(conn: AsyncConnection[Any]) -> None:
    """The pool's `check` callback: raise if `conn` is unusable (the pool then discards
    it and hands out another)."""
    if conn.closed or conn.broken:
        raise OperationalError("the connection is closed")
    now = time.monotonic()
    last = _last_out.get(conn)
    _last_out[conn] = now
    if last is None or now - last > IDLE_PING_S or _has_input(conn):
        await AsyncConnectionPool.check_connection(conn)
