"""The doctor's checks: one function per thing that can be wrong, registered in order.

A check gets the `Context` (home, ports, database URL, the running daemon if any) and
returns one or more `Finding`s. A check never raises: an unexpected exception becomes a
failed finding that names the check, so one broken probe cannot hide the others. To add a
check, decorate a function with `@check("name")` in a module imported by `all_checks()`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

Status = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class Finding:
    check: str
    status: Status
    detail: str
    #: what to do about it (empty when all is well)
    fix: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class Context:
    home: Path
    api_port: int = 8765
    smtp_port: int | None = 2525
    database_url: str | None = None
    #: the running daemon's `daemon.json` (pid, url) when one answers, else None
    daemon: dict[str, Any] | None = None
    options: dict[str, Any] = field(default_factory=dict)


CheckFn = Callable[[Context], "Finding | Iterable[Finding]"]
_CHECKS: list[tuple[str, CheckFn]] = []


def check(name: str) -> Callable[[CheckFn], CheckFn]:
    def register(fn: CheckFn) -> CheckFn:
        _CHECKS.append((name, fn))
        return fn
    return register


def all_checks() -> list[tuple[str, CheckFn]]:
    # Importing the modules registers their checks, in this order.
    from desktop_app.doctor import (
        cluster_checks,  # noqa: F401
        sandbox_checks,  # noqa: F401
        storage_checks,  # noqa: F401
        system_checks,  # noqa: F401
    )

    return list(_CHECKS)


def run_checks(ctx: Context, only: Iterable[str] = ()) -> list[Finding]:
    wanted = set(only)
    findings: list[Finding] = []
    for name, fn in all_checks():
        if wanted and name not in wanted:
            continue
        try:
            got = fn(ctx)
            findings.extend([got] if isinstance(got, Finding) else got)
        except Exception as exc:  # a broken probe is a finding, not the end of the report
            findings.append(Finding(name, "fail", f"the check itself failed: {exc!r}",
                                    "report this as a bug, with the line above"))
    return findings


def context_from_env(home: Path, daemon: dict[str, Any] | None,
                     api_port: int | None = None) -> Context:
    """The ports and database the daemon would use, read as the daemon reads them."""
    from urllib.parse import urlsplit

    from desktop_app.core.errors import TidemillError
    from desktop_app.core.event_triggers import smtp_port_from_env

    try:
        smtp = smtp_port_from_env()
        smtp_error = ""
    except TidemillError as exc:
        smtp, smtp_error = None, exc.message
    if daemon and daemon.get("url"):
        api_port = urlsplit(str(daemon["url"])).port or api_port
    return Context(home=home, api_port=api_port or 8765, smtp_port=smtp,
                   database_url=os.environ.get("TIDEMILL_DATABASE_URL") or None, daemon=daemon,
                   options={"smtp_error": smtp_error} if smtp_error else {})
