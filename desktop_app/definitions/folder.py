"""A folder: its rules (`check`: name, owners and grants, ArgumentError naming the
field), its sync file (`f/<name>/folder.meta.yaml`: owners and grants) and its row
(db/users.py)."""

from __future__ import annotations

import re
from typing import Any

from psycopg import AsyncConnection

from desktop_app.core.errors import ArgumentError, NotFound
from desktop_app.db import users as user_store
from desktop_app.definitions.fields import field_of

KIND = "folder"

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_GRANTEE = re.compile(r"^[ug]/[A-Za-z0-9_.-]{1,64}$")


def check(body: dict[str, Any], *, creating: bool) -> None:
    """A create body's fields (`name` required), or an update's (the name is the URL's);
    `owners` and `extra_perms`, when given, as `check_grants` wants them."""
    if creating:
        name = field_of(body, "name", str, "a string")
        if not name or not _NAME.match(name):
            raise ArgumentError("'name' must be 1-64 letters, digits, '_' or '-'", field="name")
    for name in ("summary", "display_name"):
        field_of(body, name, str, "a string")


def check_grants(owners: Any, extra_perms: Any) -> tuple[list[str], dict[str, bool]]:
    """Owners as a list of `u/<name>`/`g/<name>`; extra_perms as {grantee: bool}."""
    owners = owners if owners is not None else []
    extra_perms = extra_perms if extra_perms is not None else {}
    if not isinstance(owners, list) or not all(isinstance(o, str) and _GRANTEE.match(o)
                                               for o in owners):
        raise ArgumentError("'owners' must be a list like [\"u/alice\"] (u/<user> or"
                            " g/<group>)", field="owners")
    if not isinstance(extra_perms, dict) or not all(
            isinstance(k, str) and _GRANTEE.match(k) and isinstance(v, bool)
            for k, v in extra_perms.items()):
        raise ArgumentError("'extra_perms' must map u/<user> or g/<group> to true (write)"
                            " or false (read), e.g. {\"u/bob\": false}", field="extra_perms")
    return owners, extra_perms


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
