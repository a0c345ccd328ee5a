"""A folder: its sync file (`f/<name>/folder.meta.yaml`: owners and grants) and its row
(db/users.py)."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from desktop_app.core.errors import NotFound
from desktop_app.db import users as user_store

KIND = "folder"


def sync_shape(row: dict[str, Any]) -> dict[str, Any]:
    return {"name": row["name"], "summary": row["summary"], "display_name": row["display_name"],
            "owners": list(row["owners"]), "extra_perms": dict(row["extra_perms"])}


async def read(conn: AsyncConnection[Any], ws: str, name: str) -> dict[str, Any] | None:
    try:
        return sync_shape(await user_store.get_folder(conn, ws, name))
    except NotFound:
        return None


async def read_all(conn: AsyncConnection[Any], ws: str) -> list[dict[str, Any]]:
    return [sync_shape(r) for r in await user_store.list_folders(conn, ws)]


async def apply(conn: AsyncConnection[Any], ctx: Any, ws: str, name: str,
                item: dict[str, Any], who: str) -> bool:
    current = await user_store.find_folder(conn, ws, name)
    if current is not None and sync_shape(current) == {**item, "name": name}:
        return False
    await user_store.upsert_folder(conn, ws, name, display_name=item["display_name"],
                                   summary=item["summary"], owners=item["owners"],
                                   extra_perms=item["extra_perms"], by=who)
    return True


async def delete(conn: AsyncConnection[Any], ws: str, name: str) -> bool:
    try:
        await user_store.delete_folder(conn, ws, name)
        return True
    except NotFound:
        return False
