"""A variable: its rules (`check`: a NewVariable/EditVariable body, ArgumentError naming
the field), its sync file (`<path>.variable.yaml`; a secret's value stays in this
machine's keyring, never in a file) and its row (db/variables.py)."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from desktop_app.core.errors import ArgumentError, NotFound
from desktop_app.db import variables as var_store
from desktop_app.definitions.fields import field_of
from desktop_app.definitions.paths import check_item_path
from desktop_app.secrets import values as secret_values

KIND = "variable"


def check(body: dict[str, Any], *, current: str | None = None) -> None:
    """A create body's fields (path and value required), or with `current` (the stored
    path) an update's, whose `path` is the new path of a rename."""
    creating = current is None
    path = body.get("path")
    if creating and (not isinstance(path, str) or not path):
        raise ArgumentError("'path' is required", field="path")
    field_of(body, "path", str, "a string")
    if path and path != current:
        check_item_path(path)
    field_of(body, "description", str, "a string")
    if creating:
        value_of(body)


def value_of(body: dict[str, Any]) -> str:
    """The body's `value` as the text stored (Windmill's clients send numbers too)."""
    value = body.get("value")
    if value is None:
        raise ArgumentError("'value' is required", field="value")
    return value if isinstance(value, str) else str(value)


async def read(conn: AsyncConnection[Any], ws: str, path: str) -> dict[str, Any] | None:
    try:
        return dict(await var_store.get_variable(conn, ws, path))
    except NotFound:
        return None


async def read_all(conn: AsyncConnection[Any], ws: str) -> list[dict[str, Any]]:
    return [dict(v) for v in await var_store.list_variables(conn, ws)]


async def apply(conn: AsyncConnection[Any], ctx: Any, ws: str, v: dict[str, Any],
                who: str) -> bool:
    """Make the database hold this sync item (`ctx.secrets`: the keyring a plain secret
    value from an exported folder goes to); False when it already does."""
    path, is_secret, value = v["path"], v["is_secret"], v.get("value") or ""
    row = await read(conn, ws, path)
    if is_secret:
        ref = row["secret_ref"] if row and row["is_secret"] else None
        if value:  # a folder exported with plain secrets: the value goes to the keyring
            ref = await secret_values.store(ctx, ws, value, ref)
        ref = ref or secret_values.new_ref("var")  # no value here yet: listed as missing
        if row is None:
            await var_store.insert_variable(conn, ws, path, None, True, ref,
                                            v["description"], who)
            return True
        if row["is_secret"] and row["secret_ref"] == ref and \
                row["description"] == v["description"]:
            return False
        await var_store.update_variable(conn, ws, path, value=None, is_secret=True,
                                        secret_ref=ref, description=v["description"])
        return True
    if row is None:
        await var_store.insert_variable(conn, ws, path, value, False, None, v["description"], who)
        return True
    if not row["is_secret"] and row["value"] == value and row["description"] == v["description"]:
        return False
    await var_store.update_variable(conn, ws, path, value=value, is_secret=False,
                                    secret_ref=None, description=v["description"])
    return True


async def delete(conn: AsyncConnection[Any], ws: str, path: str) -> bool:
    # The keyring entry is left: the user may still want it, and a database rollback
    # cannot bring a deleted keyring entry back.
    try:
        await var_store.delete_variable(conn, ws, path)
        return True
    except NotFound:
        return False
