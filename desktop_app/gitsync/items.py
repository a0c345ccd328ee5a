"""A parsed folder applied to the database: validated first (what needs no database),
then every item through its kind's definition (desktop_app/definitions), in one
transaction the caller holds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from psycopg import AsyncConnection

from desktop_app.core.errors import UsageError
from desktop_app.db import variables as var_store
from desktop_app.definitions import app as app_definition
from desktop_app.definitions import changes
from desktop_app.definitions import flow as flow_definition
from desktop_app.definitions import folder as folder_definition
from desktop_app.definitions import resource as resource_definition
from desktop_app.definitions import resource_type as type_definition
from desktop_app.definitions import script as script_definition
from desktop_app.definitions import variable as variable_definition
from desktop_app.definitions.fields import in_item
from desktop_app.definitions.sync import KINDS, apply_item, delete_item
from desktop_app.gitsync.layout import SECRET_KEY, Snapshot
from desktop_app.secrets import values as secret_values


def validate(snap: Snapshot) -> None:
    """Everything that can be checked without the database, before anything is applied:
    each item by its kind's own `check`, the one the API calls for the same body."""
    checks: list[tuple[str, dict[str, Any], Callable[[dict[str, Any]], Any]]] = [
        ("folder", snap.folders, _check_folder),
        ("resource type", snap.resource_types, type_definition.check),
        ("variable", snap.variables, variable_definition.check),
        ("resource", snap.resources, resource_definition.check),
        ("script", snap.scripts, script_definition.check),
    ]
    for what, found, check in checks:
        for key, item in found.items():
            try:
                check(item)
            except UsageError as e:
                raise in_item(e, f"{what} {key}") from None
    for path, flow in snap.flows.items():
        flow_definition.check_file(path, flow)
    for path, app in snap.apps.items():
        app_definition.check_file(path, app)


def _check_folder(item: dict[str, Any]) -> None:
    folder_definition.check(item, creating=True)
    folder_definition.check_grants(item.get("owners"), item.get("extra_perms"))


@dataclass
class Applied:
    changed: list[tuple[str, str]] = field(default_factory=list)  # (kind, path)
    deleted: list[tuple[str, str]] = field(default_factory=list)
    missing_secrets: list[dict[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"changed": [f"{k} {p}" for k, p in self.changed],
                "deleted": [f"{k} {p}" for k, p in self.deleted],
                "missing_secrets": self.missing_secrets}


def _by_kind(snap: Snapshot) -> dict[str, dict[str, dict[str, Any]]]:
    found = {"folder": snap.folders, "resource_type": snap.resource_types,
             "variable": snap.variables, "resource": snap.resources, "script": snap.scripts,
             "flow": snap.flows, "app": snap.apps, "schedule": snap.schedules}
    found.update(snap.triggers)
    return found


async def apply_snapshot(conn: AsyncConnection[Any], state: Any, ws: str,
                         new: Snapshot, who: str, *, old: Snapshot | None = None,
                         action: str = "import") -> Applied:
    """Make the database hold `new`'s items; with `old` (the files before a pull), items
    only `old` had are deleted. Run inside a transaction: on error nothing stays. Each
    item changed writes its change-log row (`action`: "pull" or "import", which record
    their own commit). `state` has `home` and `secrets` (the daemon's ApiState)."""
    done = Applied()
    items = _by_kind(new)
    for kind in KINDS:
        for key, item in items.get(kind, {}).items():
            if kind in ("folder", "resource_type"):
                item = {**item, "name": key}
            if await apply_item(conn, state, ws, kind, item, who):
                done.changed.append((kind, key))
                await changes.record_item(conn, ws, who, f"sync.{action}", kind, key, action)
    if old is not None:
        before = _by_kind(old)
        # Triggers first (they name scripts), folders last (they hold the rest); resource
        # types are never deleted by a pull.
        for kind in reversed(KINDS):
            if kind == "resource_type":
                continue
            for key in before.get(kind, {}).keys() - items.get(kind, {}).keys():
                if await delete_item(conn, ws, kind, key):
                    done.deleted.append((kind, key))
                    await changes.record_item(conn, ws, who, f"sync.{action}", kind, key,
                                              action, action_kind="Delete")
    done.missing_secrets = await missing_secrets(conn, state, ws, new)
    return done


async def missing_secrets(conn: AsyncConnection[Any], state: Any, ws: str,
                          snap: Snapshot) -> list[dict[str, str]]:
    """Secrets the items need that this machine's keyring lacks, with the command to set
    each."""
    import asyncio

    async def absent(ref: str | None) -> bool:
        if not ref or state.secrets is None:
            return True
        return await asyncio.to_thread(state.secrets.get, ws, ref) is None

    out: list[dict[str, str]] = []
    for path, v in sorted(snap.variables.items()):
        if not v["is_secret"]:
            continue
        row = await var_store.get_variable(conn, ws, path)
        if await absent(row["secret_ref"]):
            out.append({"path": path, "kind": "variable",
                        "command": f"tidemill secret set {path}"})
    for path in sorted(snap.resources):
        row = await var_store.get_resource(conn, ws, path)
        rt_row = await var_store.get_resource_type(conn, ws, row["resource_type"])
        value = row["value"] if isinstance(row["value"], dict) else {}
        for name in sorted(secret_values.secret_fields(rt_row["schema"] if rt_row else None)):
            field_value = value.get(name)
            if isinstance(field_value, str):
                continue  # a $var: reference, or a plain value
            ref = field_value.get(SECRET_KEY) if isinstance(field_value, dict) else None
            if await absent(ref):
                out.append({"path": path, "kind": "resource", "field": name,
                            "command": f"tidemill secret set {path} --field {name}"})
    return out
