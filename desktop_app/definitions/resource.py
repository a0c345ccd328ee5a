"""A resource: its rules (`check`: a CreateResource/EditResource body, ArgumentError
naming the field), its sync file (`<path>.resource.yaml`; secret fields — `password` in the
type's schema — stay in this machine's keyring) and its row (db/variables.py)."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from desktop_app.core.errors import ArgumentError, NotFound
from desktop_app.db import variables as var_store
from desktop_app.definitions.fields import field_of
from desktop_app.definitions.paths import check_item_path
from desktop_app.secrets import values as secret_values

KIND = "resource"


def check(body: dict[str, Any], *, current: str | None = None) -> None:
    """A create body's fields (path and resource_type required), or with `current` (the
    stored path) an update's, whose `path` is the new path of a rename."""
    for name in ("path", "resource_type", "description"):
        field_of(body, name, str, "a string")
    path = body.get("path")
    if current is None:
        if not path or not body.get("resource_type"):
            raise ArgumentError("'path' and 'resource_type' are required", field="path")
        check_item_path(path)
    elif path and path != current:
        check_item_path(path)


async def read(conn: AsyncConnection[Any], ws: str, path: str) -> dict[str, Any] | None:
    try:
        return dict(await var_store.get_resource(conn, ws, path))
    except NotFound:
        return None


async def read_all(conn: AsyncConnection[Any], ws: str) -> list[dict[str, Any]]:
    return [dict(r) for r in await var_store.list_resources(conn, ws, None)]


async def apply(conn: AsyncConnection[Any], ctx: Any, ws: str, r: dict[str, Any],
                who: str) -> bool:
    path = r["path"]
    row = await read(conn, ws, path)
    rt = await var_store.get_resource_type(conn, ws, r["resource_type"])
    fields = secret_values.secret_fields(rt["schema"] if rt else None)
    old = row["value"] if row else None
    value = await secret_values.split_secrets(ctx, ws, r["value"], fields, old)
    if isinstance(value, dict) and isinstance(old, dict):
        # Secret fields are not in the files: this machine's keyring refs stay.
        for name in fields:
            if name not in value and isinstance(old.get(name), dict) and \
                    set(old[name]) == {secret_values.SECRET_KEY}:
                value[name] = old[name]
    if row is not None and row["value"] == value and row["resource_type"] == r["resource_type"] \
            and row["description"] == r["description"]:
        return False
    await var_store.upsert_resource(conn, ws, path, value, r["resource_type"], r["description"],
                                    who, update_if_exists=True)
    return True


async def delete(conn: AsyncConnection[Any], ws: str, path: str) -> bool:
    try:
        await var_store.delete_resource(conn, ws, path)
        return True
    except NotFound:
        return False
