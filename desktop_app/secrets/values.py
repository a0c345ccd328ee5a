"""Secret values of variables and resource fields: kept in the OS keyring, referenced
from the database by an opaque ref. Resource fields marked `password: true` in their
resource type's schema are secret; in the database such a field is {"$secret": ref}."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, Protocol

from desktop_app.core.errors import Conflict, Unavailable

SECRET_KEY = "$secret"


class HasSecrets(Protocol):
    """What these functions need of the daemon's state: its secret store (or None)."""

    secrets: Any


def new_ref(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex}"


# Keyring calls block for ~10 ms (D-Bus round trips): they run in a thread so the
# API's event loop keeps serving other requests meanwhile.

async def store(state: HasSecrets, ws: str, value: str, ref: str | None = None,
                kind: str = "var") -> str:
    ref = ref or new_ref(kind)
    if state.secrets is None:
        raise Unavailable("no secret store is configured on this daemon",
                          hint="start the daemon where a keyring is available, or opt in to"
                               " the encrypted file store")
    await asyncio.to_thread(state.secrets.set, ws, ref, value)
    return ref


async def read(state: HasSecrets, ws: str, ref: str, what: str) -> str:
    value = (await asyncio.to_thread(state.secrets.get, ws, ref)
             if state.secrets is not None else None)
    if value is None:
        raise Conflict(
            f"the secret value of {what} is missing from this machine's keyring "
                 f"({state.secrets.describe() if state.secrets else 'no store'}); set it again "
                 "(e.g. after a Git pull, secrets must be entered on each machine)",
            hint="tidemill secret set <path> (add --field <name> for a resource field)")
    return value


async def forget(state: HasSecrets, ws: str, ref: str | None) -> None:
    if ref and state.secrets is not None:
        await asyncio.to_thread(state.secrets.delete, ws, ref)


def secret_fields(type_schema: dict[str, Any] | None) -> set[str]:
    props = type_schema.get("properties") if isinstance(type_schema, dict) else None
    if not isinstance(props, dict):
        return set()
    return {name for name, p in props.items()
            if isinstance(p, dict) and (p.get("password") is True or p.get("format") == "password")}


async def split_secrets(state: HasSecrets, ws: str, value: Any, fields: set[str],
                  old: Any = None) -> Any:
    """Move secret fields of a resource value into the keyring; returns what the DB keeps.
    A field whose new value is a `$var:` reference stays a reference (not a copy)."""
    if not isinstance(value, dict) or not fields:
        return value
    kept = dict(value)
    for name in fields:
        v = kept.get(name)
        if not isinstance(v, str) or v.startswith("$var:") or v.startswith("$res:"):
            continue
        old_ref = old.get(name, {}).get(SECRET_KEY) if isinstance(old, dict) and \
            isinstance(old.get(name), dict) else None
        kept[name] = {SECRET_KEY: await store(state, ws, v, old_ref, kind="res")}
    return kept


async def join_secrets(state: HasSecrets, ws: str, value: Any, what: str) -> tuple[Any, list[str]]:
    """The resource value with its secret fields read back; also the refs read."""
    refs: list[str] = []
    if not isinstance(value, dict):
        return value, refs
    out = dict(value)
    for name, v in value.items():
        if isinstance(v, dict) and set(v) == {SECRET_KEY}:
            refs.append(v[SECRET_KEY])
            out[name] = await read(state, ws, v[SECRET_KEY], f"{what} (field {name!r})")
    return out, refs


def secret_refs_in(value: Any) -> list[str]:
    if not isinstance(value, dict):
        return []
    return [v[SECRET_KEY] for v in value.values() if isinstance(v, dict) and set(v) == {SECRET_KEY}]
