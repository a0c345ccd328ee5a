"""`$var:path` and `$res:path` references: the value a job (or a flow expression) gets.

Windmill resolves a top-level argument that is such a string when the job starts, so
`main(db: postgresql)` receives the resource's value, not its path. Secret values come
from the OS keyring through `secret_value`; `on_secret` is told of each secret read so
the job's logs can mask it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from psycopg import AsyncConnection

from desktop_app.core.errors import UsageError
from desktop_app.core.permissions import Action
from desktop_app.db import variables as store
from desktop_app.db.users import check_access

SecretValue = Callable[[str, str], str | None]
OnSecret = Callable[[str], Awaitable[None]]

_MAX_DEPTH = 10


async def _nothing(_ref: str) -> None:
    return None


async def resolve(conn: AsyncConnection[Any], ws: str, value: Any, secret_value: SecretValue,
                  on_secret: OnSecret = _nothing, depth: int = 0, *,
                  permissioned_as: str | None = None) -> Any:
    """The value a reference string stands for (recursively); other values unchanged.
    With `permissioned_as` (a job's caller), each reference is checked against that
    user's rights: a job reads only what its caller may read."""
    if not isinstance(value, str) or depth > _MAX_DEPTH:
        if depth > _MAX_DEPTH:
            raise UsageError("resource references nest too deep (a $res: cycle?)")
        return value
    if value.startswith("$var:"):
        path = value[5:]
        row = await store.get_variable(conn, ws, path)
        if permissioned_as is not None:
            await check_access(conn, ws, permissioned_as, Action.READ_SECRET if row["is_secret"]
                               else Action.READ, path, "variable")
        if not row["is_secret"]:
            return row["value"]
        await on_secret(row["secret_ref"])
        return _secret(secret_value, ws, row["secret_ref"], f"variable {path}")
    if value.startswith("$res:"):
        path = value[5:]
        res = (await store.get_resource(conn, ws, path))["value"]
        if permissioned_as is not None:
            await check_access(conn, ws, permissioned_as, Action.READ_SECRET, path, "resource")
        if isinstance(res, dict):
            out = {}
            for k, v in res.items():
                if isinstance(v, dict) and set(v) == {"$secret"}:
                    await on_secret(v["$secret"])
                    out[k] = _secret(secret_value, ws, v["$secret"], f"resource {path}")
                else:
                    out[k] = await resolve(conn, ws, v, secret_value, on_secret, depth + 1,
                                           permissioned_as=permissioned_as)
            return out
        return await resolve(conn, ws, res, secret_value, on_secret, depth + 1,
                             permissioned_as=permissioned_as)
    return value


def _secret(secret_value: SecretValue, ws: str, ref: str, what: str) -> str:
    value = secret_value(ws, ref)
    if value is None:
        raise UsageError(f"the secret value of {what} is missing from this machine's keyring",
                         hint="set it again on this machine")
    return value
