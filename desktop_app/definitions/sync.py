"""Every kind's sync shape in one place: what an export writes and an import applies.

    read_item(conn, ws, kind, path)   one item as its files show it, None when gone
    all_items(conn, ws)               every item of the workspace, (kind, item) pairs,
                                      in an order an import can apply them
    apply_item(conn, ctx, ws, kind, item, who) / delete_item(conn, ws, kind, path)

An item is a dict shaped like the API's JSON (`path`, or `name` for folders and resource
types); gitsync/layout.py turns it into Windmill's files and back.
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from desktop_app.core import event_triggers
from desktop_app.core.errors import UsageError
from desktop_app.definitions import (
    app,
    event_trigger,
    flow,
    folder,
    http_trigger,
    resource,
    resource_type,
    schedule,
    script,
    variable,
)

TRIGGER_ITEM_KINDS = ("http_trigger", *(f"{k}_trigger" for k in event_triggers.KINDS))
#: In the order an import applies them: folders first (their grants guard what follows),
#: schedules and triggers last (their scripts and flows exist by then).
KINDS = ("folder", "resource_type", "variable", "resource", "script", "flow", "app",
         "schedule", *TRIGGER_ITEM_KINDS)
_BY_PATH = {"script": script, "flow": flow, "app": app, "variable": variable,
            "resource": resource, "schedule": schedule, "http_trigger": http_trigger}
_BY_NAME = {"folder": folder, "resource_type": resource_type}


def key_of(kind: str, item: dict[str, Any]) -> str:
    """The item's path, or its name for the kinds that have one."""
    return str(item["name"] if kind in _BY_NAME else item["path"])


def _event_kind(kind: str) -> str | None:
    if kind.endswith("_trigger") and kind != "http_trigger" and \
            kind.removesuffix("_trigger") in event_triggers.KINDS:
        return kind.removesuffix("_trigger")
    return None


async def read_item(conn: AsyncConnection[Any], ws: str, kind: str,
                    path: str) -> dict[str, Any] | None:
    """The item as it is written to files, or None when it no longer exists."""
    module = _BY_PATH.get(kind) or _BY_NAME.get(kind)
    if module is not None:
        return await module.read(conn, ws, path)
    event_kind = _event_kind(kind)
    if event_kind:
        return await event_trigger.read(conn, ws, event_kind, path)
    raise UsageError(f"unknown item kind {kind!r}")


async def all_items(conn: AsyncConnection[Any], ws: str) -> list[tuple[str, dict[str, Any]]]:
    """Every item of the workspace (the resource types Tidemill ships are left out)."""
    out: list[tuple[str, dict[str, Any]]] = []
    for kind in ("folder", "resource_type", "variable", "resource", "script", "flow",
                 "schedule", "app", "http_trigger"):
        module = _BY_PATH.get(kind) or _BY_NAME[kind]
        out += [(kind, item) for item in await module.read_all(conn, ws)]
    return out + await event_trigger.read_all(conn, ws)


async def apply_item(conn: AsyncConnection[Any], ctx: Any, ws: str, kind: str,
                     item: dict[str, Any], who: str) -> bool:
    """Make the database hold this item (checked by its kind's rules); False when it did.
    `ctx` has `home` (script locks) and `secrets` (the keyring)."""
    if kind in _BY_NAME:
        return await _BY_NAME[kind].apply(conn, ctx, ws, key_of(kind, item), item, who)
    if kind in _BY_PATH:
        return await _BY_PATH[kind].apply(conn, ctx, ws, item, who)
    event_kind = _event_kind(kind)
    if event_kind:
        return await event_trigger.apply(conn, ctx, ws, event_kind, item, who)
    raise UsageError(f"unknown item kind {kind!r}")


async def delete_item(conn: AsyncConnection[Any], ws: str, kind: str, path: str) -> bool:
    """Delete (scripts and flows: archive) the item; False when there was none."""
    event_kind = _event_kind(kind)
    if event_kind:
        return await event_trigger.delete(conn, ws, event_kind, path)
    module = _BY_PATH.get(kind) or _BY_NAME.get(kind)
    if module is None or not hasattr(module, "delete"):
        raise UsageError(f"{kind.replace('_', ' ')} items cannot be deleted by a sync")
    return await module.delete(conn, ws, path)
