"""The Postgres change listener: logical replication of a publication through a slot with
the built-in `pgoutput` plugin, read by polling.

psycopg 3 has no replication protocol (no START_REPLICATION / COPY BOTH), so the listener
asks the server with SQL: `pg_logical_slot_peek_binary_changes` decodes what the slot holds
(filtered by the publication, as a streaming subscriber would be), each change becomes a
run, and only then `pg_replication_slot_advance` moves the slot past the transactions
whose runs are queued. A crash in between replays them (at least once, never lost).
pgoutput ships with every server, unlike wal2json, and honours the publication's tables,
columns, row filters and `publish` list, which test_decoding does not.
"""

from __future__ import annotations

import asyncio
from typing import Any

from psycopg import AsyncConnection

from desktop_app.core import pgoutput
from desktop_app.core.errors import UsageError

#: Seconds between two looks at the slot.
POLL_S = 0.5
#: At most this many changes per look (a big transaction is read over several looks).
BATCH = 1000


async def replication_session(ctx: Any, conninfo: str, connect_timeout: int) -> str:
    cfg = ctx.config
    slot, pub = cfg["replication_slot_name"], cfg["publication_name"]
    async with await AsyncConnection.connect(conninfo, autocommit=True,
                                             connect_timeout=connect_timeout) as conn:
        await _prepare(conn, slot, pub, cfg.get("publication"))
        await ctx.connected()
        decoder = pgoutput.Decoder()
        wanted = {k.lower() for k in (cfg.get("publication") or {}).get(
            "transaction_to_track") or pgoutput.TRANSACTIONS}
        while True:
            cur = await conn.execute(
                "SELECT lsn, data FROM pg_logical_slot_peek_binary_changes(%s, NULL, %s,"
                " 'proto_version', '1', 'publication_names', %s)", (slot, BATCH, pub))
            rows = await cur.fetchall()
            done = None  # the end of the last whole transaction whose runs are queued
            for lsn, data in rows:
                data = bytes(data)
                change = decoder.decode(data)
                if change is not None and change["transaction_type"] in wanted:
                    await ctx.fire(change)
                if data[:1] == b"C":
                    done = lsn
            if done is not None:
                await conn.execute("SELECT pg_replication_slot_advance(%s, %s)", (slot, done))
            if len(rows) < BATCH:
                await asyncio.sleep(POLL_S)


async def _prepare(conn: AsyncConnection[Any], slot: str, pub: str,
                   publication: dict[str, Any] | None) -> None:
    """Create the publication (from `publication`) and the slot when they are missing; say
    plainly what is wrong when they cannot be."""
    cur = await conn.execute("SELECT current_setting('wal_level')")
    level = (await cur.fetchone() or ("",))[0]
    if level != "logical":
        raise UsageError(f"the database's wal_level is {level!r}: logical replication needs"
                         " wal_level = logical (ALTER SYSTEM SET wal_level = logical, then"
                         " restart the server)")
    cur = await conn.execute("SELECT 1 FROM pg_publication WHERE pubname = %s", (pub,))
    if await cur.fetchone() is None:
        if publication is None:
            raise UsageError(f"the publication {pub!r} does not exist in the database:"
                             " create it (CREATE PUBLICATION … FOR TABLE …) or give the"
                             " trigger a 'publication' to create")
        await conn.execute(pgoutput.create_publication_sql(pub, publication).encode())
    cur = await conn.execute("SELECT plugin FROM pg_replication_slots WHERE slot_name = %s",
                             (slot,))
    found = await cur.fetchone()
    if found is None:
        await conn.execute("SELECT pg_create_logical_replication_slot(%s, 'pgoutput')",
                           (slot,))
    elif found[0] != "pgoutput":
        raise UsageError(f"the replication slot {slot!r} uses the {found[0]!r} plugin;"
                         " Tidemill reads pgoutput slots", hint="pick another slot name")
