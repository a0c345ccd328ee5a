"""Items between the database and a Snapshot: read one item as the files show it, and
apply a parsed folder to the database (validated first, then one transaction)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from desktop_app.api import secret_values
from desktop_app.api.deploy import deploy_script
from desktop_app.api.state import ApiState
from desktop_app.core.errors import NotFound, UsageError
from desktop_app.core.languages import require_runnable
from desktop_app.db import apps as app_store
from desktop_app.db import flows as flow_store
from desktop_app.db import scripts as script_store
from desktop_app.db import users as user_store
from desktop_app.db import variables as var_store
from desktop_app.gitsync.layout import SECRET_KEY, TRIGGER_ITEM_KINDS, Snapshot
from desktop_app.parsing import script_metadata

KINDS = ("folder", "resource_type", "variable", "resource", "script", "flow", "schedule", "app",
         *TRIGGER_ITEM_KINDS)
# A schedule's file: its NewSchedule body (WINDMILL.md §2.4), without the run statistics.
_SCHEDULE_KEYS = ("schedule", "timezone", "script_path", "is_flow", "args", "enabled",
                  "paused_until", "no_flow_overlap", "retry", "tag", "on_failure",
                  "on_failure_times", "on_failure_exact", "on_failure_extra_args", "on_recovery",
                  "on_recovery_times", "on_recovery_extra_args", "on_success",
                  "on_success_extra_args", "ws_error_handler_muted", "catch_up",
                  "dead_man_intervals", "summary", "description")


def folder_item(row: dict[str, Any]) -> dict[str, Any]:
    return {"name": row["name"], "summary": row["summary"], "display_name": row["display_name"],
            "owners": list(row["owners"]), "extra_perms": dict(row["extra_perms"])}


def schedule_item(row: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {"path": row["path"]}
    for key in _SCHEDULE_KEYS:
        value = row.get(key)
        item[key] = value.isoformat() if isinstance(value, datetime) else value
    item.update(row.get("extra") or {})
    return item


async def read_item(conn: AsyncConnection[Any], ws: str, kind: str,
                    path: str) -> dict[str, Any] | None:
    """The item as it is written to files, or None when it no longer exists."""
    try:
        if kind == "script":
            s = await script_store.latest(conn, ws, path)
            return {"path": s.path, "language": s.language, "content": s.content,
                    "summary": s.summary, "description": s.description, "schema": s.schema,
                    "kind": s.kind, "lock": s.lock, "tag": s.tag, "timeout": s.timeout_s}
        if kind == "flow":
            row = await flow_store.latest(conn, ws, path)
            return {"path": path, "summary": row["summary"], "description": row["description"],
                    "value": row["value"], "schema": row["schema"], "extra": row["extra"] or {}}
        if kind == "variable":
            return dict(await var_store.get_variable(conn, ws, path))
        if kind == "resource":
            return dict(await var_store.get_resource(conn, ws, path))
        if kind == "resource_type":
            rt = await var_store.get_resource_type(conn, ws, path)
            return dict(rt) if rt else None
        if kind == "schedule":
            from desktop_app.scheduler import store as schedule_store

            return schedule_item(await schedule_store.get(conn, ws, path))
        if kind == "app":
            return app_item(await app_store.latest(conn, ws, path))
        if kind in TRIGGER_ITEM_KINDS:
            return await _trigger_item(conn, ws, kind, path)
        if kind == "folder":
            return folder_item(await user_store.get_folder(conn, ws, path))
    except NotFound:
        return None
    raise UsageError(f"unknown item kind {kind!r}")


async def all_items(conn: AsyncConnection[Any], ws: str) -> list[tuple[str, dict[str, Any]]]:
    """Every item of the workspace (the types Tidemill ships are left out)."""
    out: list[tuple[str, dict[str, Any]]] = [
        ("folder", folder_item(r)) for r in await user_store.list_folders(conn, ws)]
    for rt in await var_store.list_resource_types(conn, ws):
        if rt["created_by"] != "tidemill":
            out.append(("resource_type", dict(rt)))
    out += [("variable", dict(v)) for v in await var_store.list_variables(conn, ws)]
    out += [("resource", dict(r)) for r in await var_store.list_resources(conn, ws, None)]
    for s in await script_store.list_latest(conn, ws):
        item = await read_item(conn, ws, "script", s.path)
        if item:
            out.append(("script", item))
    for f in await flow_store.list_latest(conn, ws):
        out.append(("flow", {"path": f["path"], "summary": f["summary"],
                             "description": f["description"], "value": f["value"],
                             "schema": f["schema"], "extra": f["extra"] or {}}))
    from desktop_app.scheduler import store as schedule_store

    out += [("schedule", schedule_item(r)) for r in await schedule_store.list_all(conn, ws)]
    out += [("app", app_item(r)) for r in await app_store.list_latest(conn, ws)]
    out += await _all_triggers(conn, ws)
    return out


def app_item(row: dict[str, Any]) -> dict[str, Any]:
    """An app as its app.yaml holds it (summary, value, policy, other keys), plus its path."""
    item: dict[str, Any] = {"summary": row["summary"], "value": row["value"]}
    if row["policy"] is not None:
        item["policy"] = row["policy"]
    item.update(row["extra"] or {})
    item["path"] = row["path"]
    return item


# -- triggers ------------------------------------------------------------------------------

# An HTTP trigger's file: its NewHttpTrigger body (WINDMILL.md §2.4).
_HTTP_KEYS = ("route_path", "http_method", "script_path", "is_flow", "request_type",
              "authentication_method", "authentication_resource_path", "wrap_body",
              "raw_string", "mode", "summary", "description")


def _http_item(row: dict[str, Any]) -> dict[str, Any]:
    return {"path": row["path"], **{k: row[k] for k in _HTTP_KEYS}, **(row["extra"] or {})}


async def _trigger_item(conn: AsyncConnection[Any], ws: str, kind: str,
                        path: str) -> dict[str, Any] | None:
    from psycopg.rows import dict_row

    from desktop_app.api.routes_event_triggers import trigger_body
    from desktop_app.triggers import store as trigger_store

    if kind == "http_trigger":
        cur = conn.cursor(row_factory=dict_row)
        await cur.execute("SELECT * FROM http_triggers WHERE workspace_id = %s AND path = %s",
                          (ws, path))
        row = await cur.fetchone()
        return _http_item(row) if row else None
    row = await trigger_store.get(conn, ws, kind.removesuffix("_trigger"), path)
    return {"path": path, **trigger_body(row)}


async def _all_triggers(conn: AsyncConnection[Any], ws: str) -> list[tuple[str, dict[str, Any]]]:
    from psycopg.rows import dict_row

    from desktop_app.api.routes_event_triggers import trigger_body
    from desktop_app.triggers import store as trigger_store

    cur = conn.cursor(row_factory=dict_row)
    await cur.execute("SELECT * FROM http_triggers WHERE workspace_id = %s ORDER BY path", (ws,))
    out = [("http_trigger", _http_item(r)) for r in await cur.fetchall()]
    out += [(f"{r['kind']}_trigger", {"path": r["path"], **trigger_body(r)})
            for r in await trigger_store.list_all(conn, ws)]
    return out


async def _apply_trigger(conn: AsyncConnection[Any], ws: str, kind: str, item: dict[str, Any],
                         who: str) -> bool:
    """Create or update one trigger from its file; False when the database has it already."""
    import json

    from fastapi import HTTPException

    from desktop_app.api.routes_event_triggers import check_values
    from desktop_app.api.routes_http_triggers import check_fields
    from desktop_app.triggers import store as trigger_store

    path = item["path"]
    current = await read_item(conn, ws, kind, path)
    if current is not None and all(current.get(k) == v for k, v in item.items()):
        return False
    body = {k: v for k, v in item.items() if k != "path"}
    try:
        if kind == "http_trigger":
            from psycopg.rows import dict_row

            cur = conn.cursor(row_factory=dict_row)
            await cur.execute("SELECT * FROM http_triggers WHERE workspace_id = %s AND path = %s",
                              (ws, path))
            old = await cur.fetchone()
            fields = await check_fields(conn, ws, body, old)
            extra = {k: v for k, v in body.items() if k not in (*_HTTP_KEYS, "is_async")}
            cols = [*fields, "extra", "edited_by", "permissioned_as"]
            vals = [*fields.values(), json.dumps(extra), who, f"u/{who}"]
            if old is None:
                await conn.execute(
                    f"INSERT INTO http_triggers (workspace_id, path, {', '.join(cols)}) VALUES"
                    f" (%s, %s, {', '.join(['%s'] * len(cols))})", [ws, path, *vals])
            else:
                sets = ", ".join(f"{c} = %s" for c in cols)
                await conn.execute(f"UPDATE http_triggers SET {sets}, edited_at = now()"
                                   " WHERE workspace_id = %s AND path = %s", [*vals, ws, path])
            return True
        event_kind = kind.removesuffix("_trigger")
        old = await trigger_store.get(conn, ws, event_kind, path) if current else None
        values = await check_values(conn, ws, event_kind, path, body, old)
    except UsageError as e:
        raise UsageError(f"{kind.replace('_', ' ')} {path}: {e.message}", hint=e.hint) from e
    except HTTPException as e:
        raise UsageError(f"{kind.replace('_', ' ')} {path}: {e.detail}") from e
    if old is None:
        await trigger_store.create(conn, ws, event_kind, path, values, who, f"u/{who}")
    else:
        await trigger_store.update(conn, ws, event_kind, path, path, values, who, f"u/{who}")
    return True


async def _delete_trigger(conn: AsyncConnection[Any], ws: str, kind: str, path: str) -> bool:
    from desktop_app.triggers import store as trigger_store

    if kind == "http_trigger":
        cur = await conn.execute("DELETE FROM http_triggers WHERE workspace_id = %s AND"
                                 " path = %s", (ws, path))
        return cur.rowcount > 0
    try:
        await trigger_store.delete(conn, ws, kind.removesuffix("_trigger"), path)
        return True
    except NotFound:
        return False


def validate(snap: Snapshot) -> None:
    """Everything that can be checked without the database, before anything is applied."""
    from desktop_app.flows.model import validate_flow

    for path, s in snap.scripts.items():
        try:
            require_runnable(s["language"])
            script_metadata(s["content"], s["language"])
        except UsageError as e:
            raise UsageError(f"script {path}: {e.message}", hint=e.hint) from e
    for path, flow in snap.flows.items():
        if not isinstance(flow.get("value"), dict):
            raise UsageError(f"flow {path}: 'value' (the flow: {{modules: [...]}}) is missing")
        try:
            validate_flow(flow)
        except UsageError as e:
            raise UsageError(f"flow {path}: {e.message}", hint=e.hint) from e
    from desktop_app.apps.model import AppDefinition

    for path, app in snap.apps.items():
        try:
            AppDefinition({k: v for k, v in app.items() if k != "path"}).validate()
        except UsageError as e:
            raise UsageError(f"app {path}: {e.message}", hint=e.hint) from e


@dataclass
class Applied:
    changed: list[tuple[str, str]] = field(default_factory=list)  # (kind, path)
    deleted: list[tuple[str, str]] = field(default_factory=list)
    missing_secrets: list[dict[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"changed": [f"{k} {p}" for k, p in self.changed],
                "deleted": [f"{k} {p}" for k, p in self.deleted],
                "missing_secrets": self.missing_secrets}


async def apply_snapshot(conn: AsyncConnection[Any], state: ApiState, ws: str,
                         new: Snapshot, who: str, *, old: Snapshot | None = None) -> Applied:
    """Make the database hold `new`'s items; with `old` (the files before a pull), items
    only `old` had are deleted. Run inside a transaction: on error nothing stays."""
    done = Applied()
    for name, f in new.folders.items():  # first: their grants guard what follows
        current = await user_store.find_folder(conn, ws, name)
        if current is None or folder_item(current) != {**f, "name": name}:
            await user_store.upsert_folder(conn, ws, name, display_name=f["display_name"],
                                           summary=f["summary"], owners=f["owners"],
                                           extra_perms=f["extra_perms"], by=who)
            done.changed.append(("folder", name))
    for name, rt in new.resource_types.items():
        current = await var_store.get_resource_type(conn, ws, name)
        if current is None or current["schema"] != rt.get("schema") or \
                current["description"] != rt.get("description"):
            await var_store.upsert_resource_type(conn, ws, name, rt.get("schema"),
                                                 rt.get("description") or "", who, replace=True)
            done.changed.append(("resource_type", name))
    for path, v in new.variables.items():
        if await _apply_variable(conn, state, ws, v, who):
            done.changed.append(("variable", path))
    for path, r in new.resources.items():
        if await _apply_resource(conn, state, ws, r, who):
            done.changed.append(("resource", path))
    for path, s in new.scripts.items():
        if await _apply_script(conn, state, ws, s, who):
            done.changed.append(("script", path))
    for path, f in new.flows.items():
        if await _apply_flow(conn, ws, f, who):
            done.changed.append(("flow", path))
    for path, app in new.apps.items():
        if await _apply_app(conn, ws, app, who):
            done.changed.append(("app", path))
    for path, sch in new.schedules.items():  # last: their scripts and flows exist by now
        if await _apply_schedule(conn, ws, sch, who):
            done.changed.append(("schedule", path))
    for kind, found in new.triggers.items():
        for path, trig in found.items():
            if await _apply_trigger(conn, ws, kind, trig, who):
                done.changed.append((kind, path))
    if old is not None:
        await _delete_missing(conn, ws, old, new, done)
    done.missing_secrets = await missing_secrets(conn, state, ws, new)
    return done


async def _apply_variable(conn: AsyncConnection[Any], state: ApiState, ws: str,
                          v: dict[str, Any], who: str) -> bool:
    path, is_secret, value = v["path"], v["is_secret"], v.get("value") or ""
    try:
        row = await var_store.get_variable(conn, ws, path)
    except NotFound:
        row = None
    if is_secret:
        ref = row["secret_ref"] if row and row["is_secret"] else None
        if value:  # a folder exported with plain secrets: the value goes to the keyring
            ref = await secret_values.store(state, ws, value, ref)
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


async def _apply_resource(conn: AsyncConnection[Any], state: ApiState, ws: str,
                          r: dict[str, Any], who: str) -> bool:
    path = r["path"]
    try:
        row = await var_store.get_resource(conn, ws, path)
    except NotFound:
        row = None
    rt = await var_store.get_resource_type(conn, ws, r["resource_type"])
    fields = secret_values.secret_fields(rt["schema"] if rt else None)
    old = row["value"] if row else None
    value = await secret_values.split_secrets(state, ws, r["value"], fields, old)
    if isinstance(value, dict) and isinstance(old, dict):
        # Secret fields are not in the files: this machine's keyring refs stay.
        for name in fields:
            if name not in value and isinstance(old.get(name), dict) and \
                    set(old[name]) == {SECRET_KEY}:
                value[name] = old[name]
    if row is not None and row["value"] == value and row["resource_type"] == r["resource_type"] \
            and row["description"] == r["description"]:
        return False
    await var_store.upsert_resource(conn, ws, path, value, r["resource_type"], r["description"],
                                    who, update_if_exists=True)
    return True


async def _apply_script(conn: AsyncConnection[Any], state: ApiState, ws: str,
                        s: dict[str, Any], who: str) -> bool:
    current = await read_item(conn, ws, "script", s["path"])
    if current is not None and all(current.get(k) == s.get(k) or (not current.get(k) and
                                                                   not s.get(k))
                                   for k in ("language", "content", "summary", "description",
                                             "lock", "kind")) \
            and (s.get("schema") is None or current.get("schema") == s.get("schema")):
        return False
    body = {k: v for k, v in s.items() if v is not None}
    await deploy_script(conn, ws, body, who, state.home)
    return True


async def _apply_flow(conn: AsyncConnection[Any], ws: str, f: dict[str, Any], who: str) -> bool:
    current = await read_item(conn, ws, "flow", f["path"])
    known = ("summary", "description", "value", "schema")
    if current is not None and all((current.get(k) or None) == (f.get(k) or None)
                                   for k in known):
        return False
    extra = {k: v for k, v in f.items() if k not in (*known, "path")}
    await flow_store.insert_version(conn, ws, f["path"], f.get("summary") or "",
                                    f.get("description") or "", f["value"], f.get("schema"),
                                    who, extra)
    return True


async def _apply_app(conn: AsyncConnection[Any], ws: str, app: dict[str, Any], who: str) -> bool:
    current = await read_item(conn, ws, "app", app["path"])
    if current == app:
        return False
    doc = {k: v for k, v in app.items() if k != "path"}
    extra = {k: v for k, v in doc.items() if k not in ("summary", "value", "policy")}
    await app_store.insert_version(conn, ws, app["path"], doc.get("summary") or "",
                                   doc.get("value") or {}, doc.get("policy"), extra, who)
    return True


async def _apply_schedule(conn: AsyncConnection[Any], ws: str, sch: dict[str, Any],
                          who: str) -> bool:
    from datetime import UTC

    from desktop_app.api.routes_schedules import _values
    from desktop_app.scheduler import store as schedule_store

    current = await read_item(conn, ws, "schedule", sch["path"])
    if current is not None and all(current.get(k) == sch.get(k) for k in _SCHEDULE_KEYS
                                   if k in sch):
        return False
    body = {k: v for k, v in sch.items() if k != "path"}
    try:
        old = await schedule_store.get(conn, ws, sch["path"]) if current else None
        values = await _values(conn, ws, body, old)
    except UsageError as e:
        raise UsageError(f"schedule {sch['path']}: {e.message}", hint=e.hint) from e
    now = datetime.now(UTC)
    if old is None:
        await schedule_store.create(conn, ws, sch["path"], values, who, f"u/{who}", now)
    else:
        await schedule_store.update(conn, ws, sch["path"], values, who, f"u/{who}", now)
    return True


async def _delete_missing(conn: AsyncConnection[Any], ws: str, old: Snapshot, new: Snapshot,
                          done: Applied) -> None:
    from desktop_app.scheduler import store as schedule_store

    for kind, found in old.triggers.items():  # first: they name scripts
        for path in found.keys() - new.triggers.get(kind, {}).keys():
            if await _delete_trigger(conn, ws, kind, path):
                done.deleted.append((kind, path))
    for path in old.schedules.keys() - new.schedules.keys():
        try:
            await schedule_store.delete(conn, ws, path)
            done.deleted.append(("schedule", path))
        except NotFound:
            pass
    for path in old.scripts.keys() - new.scripts.keys():
        try:
            await script_store.archive(conn, ws, path)
            done.deleted.append(("script", path))
        except NotFound:
            pass
    for path in old.apps.keys() - new.apps.keys():
        try:
            await app_store.delete(conn, ws, path)
            done.deleted.append(("app", path))
        except NotFound:
            pass
    for path in old.flows.keys() - new.flows.keys():
        try:
            await flow_store.archive(conn, ws, path)
            done.deleted.append(("flow", path))
        except NotFound:
            pass
    # Keyring entries of deleted secrets are left: the user may still want them, and a
    # database rollback cannot bring a deleted keyring entry back.
    for path in old.variables.keys() - new.variables.keys():
        try:
            await var_store.delete_variable(conn, ws, path)
            done.deleted.append(("variable", path))
        except NotFound:
            pass
    for path in old.resources.keys() - new.resources.keys():
        try:
            await var_store.delete_resource(conn, ws, path)
            done.deleted.append(("resource", path))
        except NotFound:
            pass
    for name in old.folders.keys() - new.folders.keys():
        try:
            await user_store.delete_folder(conn, ws, name)
            done.deleted.append(("folder", name))
        except NotFound:
            pass


async def missing_secrets(conn: AsyncConnection[Any], state: ApiState, ws: str,
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
