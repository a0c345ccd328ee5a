"""An app: its rules (`check`: a create/update body → the app document, ArgumentError
naming the field), its sync folder (`<path>.app/app.yaml`: summary, value, policy, other keys)
and its versions (db/apps.py). The app model's own rules are apps/model.py."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from desktop_app.apps.model import AppDefinition
from desktop_app.core.errors import ArgumentError, NotFound, UsageError
from desktop_app.db import apps as app_store
from desktop_app.definitions.fields import field_of

KIND = "app"

#: What an app document keeps in columns; its other top-level keys go to `extra`.
COLUMNS = ("summary", "value", "policy")
#: Fields of a create/update body that steer the request and are not the app's.
API_ONLY = ("path", "deployment_message", "draft_only")


def check(body: dict[str, Any], base: dict[str, Any] | None = None) -> dict[str, Any]:
    """The app document a create/update body describes (an update keeps what it omits
    from `base`), checked: its fields, then the app model's rules (a UsageError naming
    the component)."""
    doc = dict(base or {})
    for key, item in body.items():
        if key not in API_ONLY:
            doc[key] = item
    if not isinstance(doc.get("value"), dict):
        raise ArgumentError("'value' (the app: {components: [...], runnables: [...]}) "
                            "is required and must be an object", field="value")
    field_of(doc, "summary", str, "a string")
    field_of(doc, "policy", dict, "an object")
    field_of(body, "deployment_message", str, "a string")
    AppDefinition(doc).validate()
    return doc


def sync_shape(row: dict[str, Any]) -> dict[str, Any]:
    """An app as its app.yaml holds it (summary, value, policy, other keys), plus its path."""
    item: dict[str, Any] = {"summary": row["summary"], "value": row["value"]}
    if row["policy"] is not None:
        item["policy"] = row["policy"]
    item.update(row["extra"] or {})
    item["path"] = row["path"]
    return item


async def read(conn: AsyncConnection[Any], ws: str, path: str) -> dict[str, Any] | None:
    try:
        return sync_shape(await app_store.latest(conn, ws, path))
    except NotFound:
        return None


async def read_all(conn: AsyncConnection[Any], ws: str) -> list[dict[str, Any]]:
    return [sync_shape(r) for r in await app_store.list_latest(conn, ws)]


async def apply(conn: AsyncConnection[Any], ctx: Any, ws: str, item: dict[str, Any],
                who: str) -> bool:
    if await read(conn, ws, item["path"]) == item:
        return False
    doc = {k: v for k, v in item.items() if k != "path"}
    extra = {k: v for k, v in doc.items() if k not in COLUMNS}
    await app_store.insert_version(conn, ws, item["path"], doc.get("summary") or "",
                                   doc.get("value") or {}, doc.get("policy"), extra, who)
    return True


def check_file(path: str, item: dict[str, Any]) -> None:
    """An app read from a sync folder, by the same rules as the API's body."""
    try:
        check({k: v for k, v in item.items() if k != "path"})
    except UsageError as e:
        raise UsageError(f"app {path}: {e.message}", hint=e.hint) from e


async def delete(conn: AsyncConnection[Any], ws: str, path: str) -> bool:
    try:
        await app_store.delete(conn, ws, path)
        return True
    except NotFound:
        return False
