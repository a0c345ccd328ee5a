"""`$var:path` and `$res:path` references: the one resolver.

Windmill resolves an argument that is such a string when the job starts, so
`main(db: postgresql)` receives the resource's value, not its path. The same resolver
serves every place that turns references into values: a job's arguments (the worker), a
flow's `variable()`/`resource()` (flows/scope.py), `resources/get_value_interpolated`
(the API) and the resources a trigger's listener connects with (triggers/listeners.py).

Each reference is resolved *for someone* (`ReadsAs`) and checked against their rights
with the rule every endpoint applies (core/permissions.py): the job's caller, the API's
caller, a trigger's editor. Whether a string is a reference at all is the caller's
decision: arguments whose supplier may not resolve references (an unauthenticated route,
a run-only token, see core/jobs.PLAIN_ARGS) never reach this module.

Inside a resource's value, references are resolved at any depth (objects and lists);
`$res:` chains are followed up to `MAX_DEPTH` and a chain that comes back to a resource
it passed is refused as a cycle. Secret values come from the keyring through
`secret_value`; `on_secret` hears of each secret read first, so a job's logs can mask it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection

from desktop_app.core import permissions
from desktop_app.core.errors import SecretMissing, UsageError
from desktop_app.core.permissions import Action, Principal
from desktop_app.db import users
from desktop_app.db import variables as store

#: (workspace, ref) → the value, or None when missing; blocking (run in a thread). None:
#: no secret store at all.
SecretValue = Callable[[str, str], str | None] | None
OnSecret = Callable[[str], Awaitable[None]]

MAX_DEPTH = 10
_SECRET = "$secret"  # a resource field kept in the keyring: {"$secret": ref}


@dataclass(frozen=True)
class ReadsAs:
    """Whose rights a resolution has. `role` is looked up when not given; `in_job`: for a
    job (or a definition) of theirs rather than them in person (an operator's job may use
    a secret of a folder they hold a grant on; they may not read it themselves)."""

    username: str
    role: str | None = None
    in_job: bool = True

    @classmethod
    def permissioned_as(cls, permissioned_as: str) -> ReadsAs:
        """A job's `permissioned_as` (`u/<name>`)."""
        return cls(permissioned_as.split("/", 1)[-1])


async def _nothing(_ref: str) -> None:
    return None


def is_reference(value: Any) -> bool:
    return isinstance(value, str) and value[:5] in ("$var:", "$res:")


async def resolve(conn: AsyncConnection[Any], ws: str, value: Any, reader: ReadsAs,
                  secret_value: SecretValue, on_secret: OnSecret = _nothing) -> Any:
    """The value a reference string stands for; any other value unchanged."""
    if not is_reference(value):
        return value
    return await _Resolution(conn, ws, reader, secret_value, on_secret).value(value, ())


class _Resolution:
    def __init__(self, conn: AsyncConnection[Any], ws: str, reader: ReadsAs,
                 secret_value: SecretValue, on_secret: OnSecret) -> None:
        self.conn, self.ws, self.reader = conn, ws, reader
        self.secret_value, self.on_secret = secret_value, on_secret
        self._principal: Principal | None = None

    async def value(self, value: Any, chain: tuple[str, ...]) -> Any:
        if isinstance(value, str):
            if value.startswith("$var:"):
                return await self.variable(value[5:])
            if value.startswith("$res:"):
                return await self.resource(value[5:], chain)
            return value
        if isinstance(value, list):
            return [await self.value(v, chain) for v in value]
        if isinstance(value, dict):
            return {k: await self.value(v, chain) for k, v in value.items()}
        return value

    async def variable(self, path: str) -> Any:
        row = await store.get_variable(self.conn, self.ws, path)
        await self.check(Action.READ_SECRET if row["is_secret"] else Action.READ, path, "variable")
        if not row["is_secret"]:
            return row["value"]
        return await self.secret(row["secret_ref"], f"variable {path}")

    async def resource(self, path: str, chain: tuple[str, ...]) -> Any:
        if path in chain:
            raise UsageError(f"resource references form a cycle: {' → '.join([*chain, path])}",
                             hint=f"change one of these resources so that it no longer refers"
                                  f" back to {path}")
        if len(chain) >= MAX_DEPTH:
            raise UsageError(f"resource references nest deeper than {MAX_DEPTH}:"
                             f" {' → '.join([*chain, path])}",
                             hint="refer to the innermost resource directly")
        raw = (await store.get_resource(self.conn, self.ws, path))["value"]
        await self.check(Action.READ_SECRET, path, "resource")
        if isinstance(raw, dict):
            raw = {k: await self.secret(v[_SECRET], f"resource {path} (field {k!r})")
                   if isinstance(v, dict) and set(v) == {_SECRET} else v
                   for k, v in raw.items()}
        return await self.value(raw, (*chain, path))

    async def check(self, action: Action, path: str, what: str) -> None:
        if self._principal is None:
            role = self.reader.role or await users.role_of(self.conn, self.reader.username)
            # someone who is no longer a user has the least rights
            self._principal = Principal(self.reader.username, role or "operator")
        if self._principal.is_admin:
            return
        name = permissions.folder_name(path)
        row = await users.find_folder(self.conn, self.ws, name) if name else None
        permissions.check(self._principal, action, path, users.as_folder(row) if row else None,
                          what, in_job=self.reader.in_job)

    async def secret(self, ref: str, what: str) -> str:
        await self.on_secret(ref)  # before the value exists anywhere: masking comes first
        value = (await asyncio.to_thread(self.secret_value, self.ws, ref)
                 if self.secret_value is not None else None)
        if value is None:
            raise SecretMissing(f"the secret value of {what} is missing from this machine's"
                                " keyring")
        return value
