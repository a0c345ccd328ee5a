"""A resource type: its rules (`check`: name and schema, ArgumentError naming the field),
its name (one file name), its sync file
(`<name>.resource-type.yaml`: schema and description) and its row (db/variables.py)."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from desktop_app.core.errors import ArgumentError
from desktop_app.db import variables as var_store
from desktop_app.definitions.fields import field_of
from desktop_app.definitions.paths import check_name

KIND = "resource_type"


def check(body: dict[str, Any]) -> None:
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise ArgumentError("'name' is required", field="name")
    check_name(name, "name", "resource type")
    field_of(body, "schema", dict, "a JSON Schema object")
    field_of(body, "description", str, "a string")


async def read(conn: AsyncConnection[Any], ws: str, name: str) -> dict[str, Any] | None:
    rt = await var_store.get_resource_type(conn, ws, name)
    return dict(rt) if rt else None


async def read_all(conn: AsyncConnection[Any], ws: str) -> list[dict[str, Any]]:
    """The workspace's own types (the ones Tidemill ships are left out)."""
    return [dict(rt) for rt in await var_store.list_resource_types(conn, ws)
            if rt["created_by"] != "tidemill"]


async def apply(conn: AsyncConnection[Any], ctx: Any, ws: str, name: str,
                item: dict[str, Any], who: str) -> bool:
    current = await var_store.get_resource_type(conn, ws, name)
    if current is not None and current["schema"] == item.get("schema") and \
            current["description"] == item.get("description"):
        return False
    await var_store.upsert_resource_type(conn, ws, name, item.get("schema"),
                                         item.get("description") or "", who, replace=True)
    return True
