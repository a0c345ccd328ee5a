"""What each item's sync file holds, as a dict: the one shape written by both the Git
export (YAML files, layout.py) and the workspace tarball wmill pulls (JSON entries,
tarball.py; wmill turns them into the same YAML itself). Secrets never enter them: a
secret variable has an empty value, a resource loses its secret fields.
"""

from __future__ import annotations

from typing import Any

SECRET_KEY = "$secret"
# Optional script fields written when set (wmill's NewScript keys).
SCRIPT_OPTIONAL = ("tag", "timeout", "envs", "concurrent_limit", "concurrency_time_window_s",
                   "cache_ttl", "dedicated_worker", "priority", "restart_unless_cancelled",
                   "delete_after_secs")
# Fields of a request that describe nothing of the item (rows stored before they were
# filtered at the API may still hold them).
_REQUEST_ONLY = frozenset({"skip_draft_deletion", "auto_parent", "deployment_message",
                           "preserve_on_behalf_of"})


def script_meta(s: dict[str, Any], lock: str | None) -> dict[str, Any]:
    """`<path>.script.yaml`; `lock` is what its `lock` key holds (the lock itself in the
    tarball, `!inline <path>.script.lock` in Git), None for no lock."""
    meta: dict[str, Any] = {"summary": s.get("summary") or "",
                            "description": s.get("description") or ""}
    if lock:
        meta["lock"] = lock
    meta["kind"] = s.get("kind") or "script"
    meta["schema"] = s.get("schema")
    for key in SCRIPT_OPTIONAL:
        if s.get(key) is not None:
            meta[key] = s[key]
    return meta


def flow_body(item: dict[str, Any]) -> dict[str, Any]:
    """The OpenFlow document (inline code still inside `value`)."""
    flow: dict[str, Any] = {k: item[k] for k in ("summary", "description", "value", "schema")
                            if k in item}
    flow.update({k: v for k, v in (item.get("extra") or {}).items() if k not in _REQUEST_ONLY})
    return flow


def variable_body(item: dict[str, Any]) -> dict[str, Any]:
    value = None if item.get("is_secret") else item.get("value")
    return {"description": item.get("description") or "",
            "value": value if value is not None else "",
            "is_secret": bool(item.get("is_secret")), "is_oauth": False, "account": None}


def resource_body(r: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The resource's file and the names of the secret fields left out of it."""
    value = r.get("value")
    secret: list[str] = []
    if isinstance(value, dict):
        secret = sorted(k for k, v in value.items() if is_secret_ref(v))
        value = {k: v for k, v in value.items() if k not in secret}
    return {"description": r.get("description") or "", "value": value,
            "resource_type": r.get("resource_type")}, secret


def resource_type_body(item: dict[str, Any]) -> dict[str, Any]:
    return {"schema": item.get("schema"), "description": item.get("description") or ""}


def plain_body(item: dict[str, Any]) -> dict[str, Any]:
    """Schedules and triggers: their create body without `path` and unset fields."""
    return {k: v for k, v in item.items() if k != "path" and v is not None}


def folder_meta(item: dict[str, Any]) -> dict[str, Any]:
    """A folder's ``folder.meta.yaml``: Windmill's keys, grants as {u/name: write?}."""
    return {"summary": item.get("summary"), "display_name": item.get("display_name") or
            item["name"], "owners": list(item.get("owners") or []),
            "extra_perms": dict(item.get("extra_perms") or {})}


def implicit_folder_meta(name: str) -> dict[str, Any]:
    """The ``folder.meta.yaml`` of a folder that holds items but has no folder row."""
    return {"display_name": name, "owners": [], "extra_perms": {}, "summary": None}


def is_secret_ref(v: Any) -> bool:
    return isinstance(v, dict) and set(v) == {SECRET_KEY}
