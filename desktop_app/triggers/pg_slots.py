"""Replication slots and publications on a user's PostgreSQL database, managed by hand
(Windmill's `postgres_triggers/slot/…` and `…/publication/…`): list, create and delete
them, and read a publication back in Windmill's `publication` shape.

A slot keeps every WAL segment its consumer has not acknowledged: a slot nobody reads (its
trigger deleted) makes the database keep WAL until the disk fills. Listing and dropping
slots is how a user ends that; the listener itself never drops one (a trigger being
re-created would lose the changes in between).
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from desktop_app.core import pgoutput
from desktop_app.core.errors import Conflict, NotFound, UsageError


async def wal_is_logical(conn: AsyncConnection[Any]) -> bool:
    cur = await conn.execute("SELECT current_setting('wal_level')")
    return (await cur.fetchone() or ("",))[0] == "logical"


async def list_slots(conn: AsyncConnection[Any]) -> list[dict[str, Any]]:
    """The logical slots of the resource's database, as Windmill's `SlotList`."""
    cur = await conn.execute(
        "SELECT slot_name, active FROM pg_replication_slots WHERE slot_type = 'logical'"
        " AND database = current_database() ORDER BY slot_name")
    return [{"slot_name": name, "active": active} for name, active in await cur.fetchall()]


async def create_slot(conn: AsyncConnection[Any], name: str) -> None:
    if await _slot(conn, name) is not None:
        raise Conflict(f"the replication slot {name!r} already exists",
                       hint="pick another name, or use the existing slot in the trigger")
    if not await wal_is_logical(conn):
        raise UsageError("the database's wal_level is not logical: a logical replication"
                         " slot needs wal_level = logical",
                         hint="ALTER SYSTEM SET wal_level = logical, then restart the server")
    await conn.execute("SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", (name,))


async def delete_slot(conn: AsyncConnection[Any], name: str, used_by: list[str]) -> None:
    """Drop the slot `name`: refused while a trigger of the workspace reads it (its
    listener would create it again, empty) or a session holds it."""
    row = await _slot(conn, name)
    if row is None:
        raise NotFound(f"there is no replication slot {name!r} in this database",
                       hint="GET …/postgres_triggers/slot/list/<resource> lists them")
    if used_by:
        raise Conflict(f"the replication slot {name!r} is read by the postgres trigger(s)"
                       f" {', '.join(used_by)}",
                       hint="delete those triggers first (or give them another slot)")
    if row[0]:
        raise Conflict(f"the replication slot {name!r} is in use by another session"
                       f" (pid {row[1]})", hint="stop that consumer, then delete the slot")
    await conn.execute("SELECT pg_drop_replication_slot(%s)", (name,))


async def _slot(conn: AsyncConnection[Any], name: str) -> tuple[bool, int | None] | None:
    cur = await conn.execute("SELECT active, active_pid FROM pg_replication_slots"
                             " WHERE slot_name = %s AND database = current_database()", (name,))
    return await cur.fetchone()


async def list_publications(conn: AsyncConnection[Any]) -> list[str]:
    cur = await conn.execute("SELECT pubname FROM pg_publication ORDER BY pubname")
    return [r[0] for r in await cur.fetchall()]


async def get_publication(conn: AsyncConnection[Any], name: str) -> dict[str, Any]:
    """Windmill's `PublicationData`: the kinds it publishes and its tables (None: all)."""
    cur = await conn.execute("SELECT oid, puballtables, pubinsert, pubupdate, pubdelete"
                             " FROM pg_publication WHERE pubname = %s", (name,))
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"there is no publication {name!r} in this database",
                       hint="GET …/postgres_triggers/publication/list/<resource> lists them")
    oid, every, ins, upd, dele = row
    kinds = [k for k, on in zip(pgoutput.TRANSACTIONS, (ins, upd, dele), strict=True) if on]
    if every:
        return {"transaction_to_track": kinds, "table_to_track": None}
    cur = await conn.execute(
        "SELECT n.nspname, c.relname, pg_get_expr(r.prqual, r.prrelid),"
        "       (SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_attribute a"
        "         WHERE a.attrelid = r.prrelid AND a.attnum = ANY(r.prattrs))"
        "  FROM pg_publication_rel r JOIN pg_class c ON c.oid = r.prrelid"
        "  JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE r.prpubid = %s ORDER BY 1, 2", (oid,))
    schemas: dict[str, list[dict[str, Any]]] = {}
    for schema, table, where, columns in await cur.fetchall():
        schemas.setdefault(schema, []).append(
            {"table_name": table, "columns_name": columns, "where_clause": where})
    return {"transaction_to_track": kinds,
            "table_to_track": [{"schema_name": s, "table_to_track": t}
                               for s, t in schemas.items()]}


async def create_publication(conn: AsyncConnection[Any], name: str,
                             publication: dict[str, Any]) -> None:
    cur = await conn.execute("SELECT 1 FROM pg_publication WHERE pubname = %s", (name,))
    if await cur.fetchone() is not None:
        raise Conflict(f"the publication {name!r} already exists",
                       hint="update it (…/publication/update/…) or pick another name")
    await conn.execute(pgoutput.create_publication_sql(name, publication).encode())


async def update_publication(conn: AsyncConnection[Any], name: str,
                             publication: dict[str, Any]) -> None:
    """Replace the publication's tables and kinds: dropped and created again in one
    transaction (a switch between FOR ALL TABLES and a table list cannot be ALTERed)."""
    await get_publication(conn, name)  # NotFound when missing
    async with conn.transaction():
        await conn.execute(f"DROP PUBLICATION {pgoutput.quote_ident(name)}".encode())
        await conn.execute(pgoutput.create_publication_sql(name, publication).encode())


async def delete_publication(conn: AsyncConnection[Any], name: str) -> None:
    await get_publication(conn, name)
    await conn.execute(f"DROP PUBLICATION {pgoutput.quote_ident(name)}".encode())
