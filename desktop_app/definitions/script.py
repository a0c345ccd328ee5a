"""A script: deploying a version (check the path and fields, parse its signature, resolve
its requirements, store it) and its sync files (`<path>.script.yaml`, the code file and
`<path>.script.lock`)."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

from psycopg import AsyncConnection

from desktop_app.core.errors import ArgumentError, NotFound
from desktop_app.core.ids import script_hash
from desktop_app.core.languages import require_runnable
from desktop_app.db import scripts as script_store
from desktop_app.definitions.fields import without_request_only
from desktop_app.definitions.paths import check_item_path
from desktop_app.parsing import script_metadata
from desktop_app.runtimes import python_env

log = logging.getLogger(__name__)

# Fields of Windmill's NewScript body that we keep in `extra` so nothing is lost.
_KNOWN = {"path", "content", "language", "summary", "description", "schema", "lock",
          "parent_hash", "kind", "tag", "timeout", "is_template", "draft_only"}


async def resolve_python_lock(code: str, cache_dir: Path) -> tuple[str | None, str | None]:
    """(lock, error): uv's message is kept so every job of this version can show it."""
    from desktop_app.parsing.python_requirements import infer_requirements

    requirements = infer_requirements(code)
    try:
        lock = await asyncio.to_thread(python_env.resolve_lock, requirements, cache_dir=cache_dir)
        return lock, None
    except Exception as exc:  # uv failed: the version is stored, its jobs fail with this text
        return None, str(exc)


def check(body: dict[str, Any]) -> tuple[str, str, str, dict[str, Any]]:
    """A NewScript body's fields (ArgumentError naming the field), then its code parsed:
    (path, content, language, the parsed signature and metadata). A syntax error is a
    ScriptSyntaxError naming the line."""
    path = body.get("path")
    content = body.get("content")
    language = body.get("language")
    if not isinstance(path, str) or not path.strip("/"):
        raise ArgumentError("'path' is required (e.g. f/folder/name or u/user/name)",
                            field="path")
    if not isinstance(content, str):
        raise ArgumentError("'content' (the script's code) is required", field="content")
    language = require_runnable(language)
    check_item_path(path)
    _check_types(body)
    return path, content, language, script_metadata(content, language)


async def deploy_script(
    conn: AsyncConnection[Any], workspace: str, body: dict[str, Any], created_by: str, home: Path
) -> script_store.ScriptVersion:
    path, content, language, meta = check(body)
    supplied = body.get("schema")
    schema = supplied or meta["schema"]
    if not supplied and isinstance(schema, dict) and isinstance(schema.get("properties"), dict) \
            and "order" not in schema:
        # jsonb keeps keys sorted, not in the signature's order: Windmill's `order` keeps it.
        # Only for a schema we parsed: one a client sent (wmill sync push) is kept as sent,
        # or the next pull would show a change nobody made.
        schema = {**schema, "order": list(schema["properties"])}
    lock = body.get("lock") or None
    lock_error = None
    if language == "python3" and lock is None:
        lock, lock_error = await resolve_python_lock(content, home / "cache")
    version = script_store.ScriptVersion(
        path=path,
        hash=script_hash(workspace, path, language, content, json.dumps(schema, sort_keys=True),
                         body.get("summary") or "", body.get("description") or "", lock or ""),
        language=language,
        content=content,
        created_by=created_by,
        schema=schema,
        summary=body.get("summary") or "",
        description=body.get("description") or "",
        lock=lock,
        lock_error=lock_error,
        kind=body.get("kind") or "script",
        tag=body.get("tag"),
        timeout_s=body.get("timeout"),
        has_preprocessor=bool(meta.get("has_preprocessor")),
        no_main_func=bool(meta.get("no_main_func")),
        parent_hash=body.get("parent_hash"),
        workspace_id=workspace,
        extra=without_request_only({k: v for k, v in body.items() if k not in _KNOWN}),
    )
    await script_store.insert_version(conn, version)
    return version


_TYPES: dict[str, tuple[type, str]] = {
    "summary": (str, "a string"), "description": (str, "a string"), "lock": (str, "a string"),
    "parent_hash": (str, "a string"), "kind": (str, "a string"), "tag": (str, "a string"),
    "schema": (dict, "a JSON Schema object"), "timeout": (int, "a whole number of seconds"),
    "delete_after_secs": (int, "a whole number of seconds"),
    "log_max_bytes": (int, "a whole number of bytes (the most log kept per job)"),
    "concurrent_limit": (int, "a whole number of jobs"),
    "concurrency_time_window_s": (int, "a whole number of seconds"),
    "concurrency_key": (str, "a string (e.g. \"$workspace/$args[user]\")"),
    "cache_ttl": (int, "a whole number of seconds"),
    "priority": (int, "a whole number (higher runs first)"),
}

# The least value each runtime setting accepts (0 = off, where off makes sense).
_LEAST = {"timeout": 1, "concurrent_limit": 0, "concurrency_time_window_s": 0,
          "cache_ttl": 0, "priority": 0, "delete_after_secs": 0}


def _check_types(body: dict[str, Any]) -> None:
    for name, (kind, what) in _TYPES.items():
        value = body.get(name)
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
            raise ArgumentError(f"'{name}' must be {what}", field=name)
    for name, least in _LEAST.items():
        value = body.get(name)
        if value is not None and value < least:
            raise ArgumentError(f"'{name}' must be at least {least}, not {value}", field=name)
    tag = body.get("tag")
    if tag is not None and (not tag.strip() or any(c in tag for c in ", \t\n")):
        raise ArgumentError(f"'tag' must be one word naming a worker group, not {tag!r}",
                            field="tag", hint="workers take tags given as `tidemill worker"
                            " --tags a,b`; a script has one")


KIND = "script"
_COMPARED = ("language", "content", "summary", "description", "lock", "kind")


def sync_shape(s: script_store.ScriptVersion) -> dict[str, Any]:
    """The script as its sync files hold it, plus its path."""
    return {"path": s.path, "language": s.language, "content": s.content,
            "summary": s.summary, "description": s.description, "schema": s.schema,
            "kind": s.kind, "lock": s.lock, "tag": s.tag, "timeout": s.timeout_s}


async def read(conn: AsyncConnection[Any], ws: str, path: str) -> dict[str, Any] | None:
    try:
        return sync_shape(await script_store.latest(conn, ws, path))
    except NotFound:
        return None


async def read_all(conn: AsyncConnection[Any], ws: str) -> list[dict[str, Any]]:
    out = []
    for s in await script_store.list_latest(conn, ws):
        item = await read(conn, ws, s.path)
        if item:
            out.append(item)
    return out


async def apply(conn: AsyncConnection[Any], ctx: Any, ws: str, item: dict[str, Any],
                who: str) -> bool:
    """Deploy this sync item as a new version; False when the newest version is it."""
    current = await read(conn, ws, item["path"])
    if current is not None and all(current.get(k) == item.get(k) or
                                   (not current.get(k) and not item.get(k))
                                   for k in _COMPARED) \
            and (item.get("schema") is None or current.get("schema") == item.get("schema")):
        return False
    body = {k: v for k, v in item.items() if v is not None}
    await deploy_script(conn, ws, body, who, ctx.home)
    return True


async def delete(conn: AsyncConnection[Any], ws: str, path: str) -> bool:
    """Archive the script (its versions stay, as Windmill keeps them)."""
    try:
        await script_store.archive(conn, ws, path)
        return True
    except NotFound:
        return False
