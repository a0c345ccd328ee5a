"""Who may do what to which path: the one rule every endpoint and the worker apply.

Pure (no database): callers look up the principal's role and the folder's grants and ask
`check`. Roles, as in Windmill:

* **admin** — everything.
* **developer** — reads, writes and runs under their own ``u/<name>/`` and in folders they
  own or hold a write grant on; reads and runs where they hold a read grant.
* **operator** — only *runs* (and sees the summary and form of) what they can read; never
  writes, never sees code or secret values. Their *jobs* run with their grants: a job they
  started may read the secrets and resources of folders they hold a grant on (a "rotate
  the key" script works for them), never anything outside those grants.

A folder's grants: ``owners`` (``u/alice``) write; ``extra_perms`` maps ``u/<name>`` or
``g/all`` (everyone) to ``true`` (write) or ``false`` (read).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any

from desktop_app.core.errors import Forbidden, UsageError

ROLES = ("admin", "developer", "operator")
EVERYONE = "g/all"


class Action(StrEnum):
    READ = "read"  # see that it exists, its summary and form (schema)
    RUN = "run"
    WRITE = "write"  # create, update, delete
    READ_CODE = "read the code of"
    READ_SECRET = "read the secret value of"


class Access(IntEnum):
    NONE = 0
    READ = 1
    WRITE = 2


@dataclass(frozen=True)
class Principal:
    username: str
    role: str  # admin | developer | operator

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def keys(self) -> tuple[str, str]:
        """The names a grant may use for this user."""
        return f"u/{self.username}", EVERYONE


@dataclass(frozen=True)
class Folder:
    name: str
    owners: tuple[str, ...] = ()
    extra_perms: dict[str, bool] = field(default_factory=dict)

    def access_of(self, who: Principal) -> Access:
        keys = who.keys
        if any(o in keys for o in self.owners) or any(self.extra_perms.get(k) is True
                                                      for k in keys):
            return Access.WRITE
        if any(k in self.extra_perms for k in keys):
            return Access.READ
        return Access.NONE


def check_role(role: Any) -> str:
    if role not in ROLES:
        raise UsageError(f"unknown role {role!r}", hint="a role is admin, developer or operator")
    return str(role)


def folder_name(path: str) -> str | None:
    """`x` for `f/x/...`, else None."""
    parts = path.split("/", 2)
    return parts[1] if len(parts) >= 2 and parts[0] == "f" and parts[1] else None


def path_owner(path: str) -> str | None:
    """`alice` for `u/alice/...`, else None."""
    parts = path.split("/", 2)
    return parts[1] if len(parts) >= 2 and parts[0] == "u" and parts[1] else None


def path_access(who: Principal, path: str, folder: Folder | None) -> Access:
    """The access a principal holds on an item path (given the folder it lies in)."""
    if who.is_admin:
        return Access.WRITE
    if path_owner(path) == who.username:
        return Access.WRITE
    if folder is not None and folder_name(path) == folder.name:
        return folder.access_of(who)
    return Access.NONE


_NEEDS_EDITOR = {Action.WRITE, Action.READ_CODE, Action.READ_SECRET}


def denial(who: Principal, action: Action, path: str, access: Access,
           what: str = "item", *, in_job: bool = False) -> str | None:
    """Why `who` may not do `action` on `path`, or None when allowed. `in_job`: asked by a
    job `who` started (its token, its `$var:` arguments), not by `who` in person."""
    if who.is_admin:
        return None
    if who.role == "operator" and in_job and action == Action.READ_SECRET:
        action = Action.READ  # the job uses the secret; the operator never sees it
    if who.role == "operator" and action in _NEEDS_EDITOR:
        verb = "change" if action == Action.WRITE else action.value
        return (f"{who.username} is an operator: operators may run {what}s shared with them but"
                f" not {verb} the {what} {path}; that needs the developer or admin role")
    needed = Access.WRITE if action == Action.WRITE else Access.READ
    if access >= needed:
        return None
    level = "write" if needed == Access.WRITE else "read"
    folder = folder_name(path)
    where = (f"a {level} grant on folder {folder}" if folder
             else f"to own it (only u/{path_owner(path)} owns {path})" if path_owner(path)
             else "the admin role")
    return f"{who.username} ({who.role}) may not {action.value} the {what} {path}: that needs {where}"


def check(who: Principal, action: Action, path: str, folder: Folder | None,
          what: str = "item", *, in_job: bool = False) -> None:
    reason = denial(who, action, path, path_access(who, path, folder), what, in_job=in_job)
    if reason is not None:
        raise Forbidden(reason, hint=_hint(who, path))


def _hint(who: Principal, path: str) -> str:
    folder = folder_name(path)
    if who.role == "operator":
        return "ask an admin for the developer role (tidemill user role NAME developer)"
    if folder:
        return (f"an owner of folder {folder} or an admin can grant it: add u/{who.username}"
                f" to extra_perms in f/{folder}/folder.meta.yaml or POST folders/update/{folder}")
    return "work under your own u/<you>/ space or in a folder you hold a grant on"


def require_role(who: Principal, least: str, doing: str) -> None:
    """At least `least` (operator < developer < admin) to do `doing`."""
    rank = {"operator": 0, "developer": 1, "admin": 2}
    if rank.get(who.role, -1) < rank[least]:
        needed = "the admin role" if least == "admin" else "the developer or admin role"
        raise Forbidden(f"{who.username} is {'an' if who.role[0] in 'aeiou' else 'a'}"
                        f" {who.role}: {doing} needs {needed}")


def readable_folders(who: Principal, folders: list[Folder]) -> list[str]:
    return [f.name for f in folders if f.access_of(who) >= Access.READ]
