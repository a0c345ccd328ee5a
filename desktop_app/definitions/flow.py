"""A flow: its rules (`check`: the OpenFlow is valid, its path can be a folder, it does not
call itself through subflows), its sync folder (`<path>.flow/flow.yaml` with `!inline`
files) and its versions (db/flows.py)."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from desktop_app.core.errors import ArgumentError, NotFound, UsageError
from desktop_app.db import flows as flow_store
from desktop_app.definitions.fields import field_of, without_request_only
from desktop_app.definitions.paths import check_item_path
from desktop_app.flows.model import iter_modules, validate_flow

KIND = "flow"
KNOWN = ("path", "summary", "description", "value", "schema")


def subflow_paths(value: Any) -> list[tuple[str, str]]:
    """(step id, flow path) of every step of the flow that runs another flow."""
    if not isinstance(value, dict):
        return []
    out = []
    for module, _where in iter_modules(value):
        inner = module.get("value") if isinstance(module, dict) else None
        if isinstance(inner, dict) and inner.get("type") == "flow" and \
                isinstance(inner.get("path"), str):
            out.append((str(module.get("id", "?")), inner["path"]))
    return out


async def check_no_cycle(conn: AsyncConnection[Any], ws: str, path: str,
                         value: dict[str, Any]) -> None:
    """ArgumentError (field 'value') when a step runs this flow again, directly or through
    other flows (it would recurse until the run fails)."""
    seen: set[str] = set()
    todo = [(step, sub, [path, sub]) for step, sub in subflow_paths(value)]
    while todo:
        step, sub, chain = todo.pop()
        if sub == path:
            raise ArgumentError(
                f"'value': step {step!r} runs the flow {path} itself"
                + (f" (through {' → '.join(chain[1:-1])})" if len(chain) > 2 else "")
                + ": it would call itself without end", field="value",
                hint="run another flow there, or loop with a forloopflow/whileloopflow step")
        if sub in seen:
            continue
        seen.add(sub)
        try:
            row = await flow_store.latest(conn, ws, sub)
        except NotFound:
            continue  # a missing subflow fails when run, with its own message
        todo += [(step, inner, [*chain, inner]) for _s, inner in subflow_paths(row["value"])]


async def check(conn: AsyncConnection[Any], ws: str, path: str, body: dict[str, Any]) -> None:
    """A create/update body: ArgumentError or UsageError naming what is wrong."""
    check_item_path(path)
    if not isinstance(body.get("value"), dict):
        raise ArgumentError("'value' (the flow: {modules: [...]}) is required", field="value")
    for name in ("summary", "description"):
        field_of(body, name, str, "a string")
    field_of(body, "schema", dict, "a JSON Schema object")
    validate_flow(body)  # UsageError naming the module id and field
    await check_no_cycle(conn, ws, path, body["value"])


async def save(conn: AsyncConnection[Any], ws: str, path: str, body: dict[str, Any],
               who: str) -> None:
    """Store a checked body as the flow's newest version."""
    await flow_store.insert_version(
        conn, ws, path, body.get("summary") or "", body.get("description") or "",
        body["value"], body.get("schema"), who,
        without_request_only({k: v for k, v in body.items() if k not in KNOWN}))


def sync_shape(row: dict[str, Any]) -> dict[str, Any]:
    return {"path": row["path"], "summary": row["summary"], "description": row["description"],
            "value": row["value"], "schema": row["schema"], "extra": row["extra"] or {}}


async def read(conn: AsyncConnection[Any], ws: str, path: str) -> dict[str, Any] | None:
    try:
        return sync_shape(await flow_store.latest(conn, ws, path))
    except NotFound:
        return None


async def read_all(conn: AsyncConnection[Any], ws: str) -> list[dict[str, Any]]:
    return [sync_shape(f) for f in await flow_store.list_latest(conn, ws)]


async def apply(conn: AsyncConnection[Any], ctx: Any, ws: str, item: dict[str, Any],
                who: str) -> bool:
    current = await read(conn, ws, item["path"])
    known = ("summary", "description", "value", "schema")
    if current is not None and all((current.get(k) or None) == (item.get(k) or None)
                                   for k in known):
        return False
    extra = {k: v for k, v in item.items() if k not in KNOWN}
    await flow_store.insert_version(conn, ws, item["path"], item.get("summary") or "",
                                    item.get("description") or "", item["value"],
                                    item.get("schema"), who, extra)
    return True


def check_file(path: str, item: dict[str, Any]) -> None:
    """What can be checked of a flow read from files, before the database is touched."""
    if not isinstance(item.get("value"), dict):
        raise UsageError(f"flow {path}: 'value' (the flow: {{modules: [...]}}) is missing")
    try:
        validate_flow(item)
    except UsageError as e:
        raise UsageError(f"flow {path}: {e.message}", hint=e.hint) from e


async def delete(conn: AsyncConnection[Any], ws: str, path: str) -> bool:
    try:
        await flow_store.archive(conn, ws, path)
        return True
    except NotFound:
        return False
