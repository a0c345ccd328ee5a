"""Job states and the shapes of job results, shared by every part of the engine."""

from __future__ import annotations

import enum
from typing import Any


class JobStatus(enum.StrEnum):
    """Final status of a completed job (Windmill's `status`)."""

    SUCCESS = "success"
    FAILURE = "failure"
    CANCELED = "canceled"
    SKIPPED = "skipped"


class JobKind(enum.StrEnum):
    SCRIPT = "script"
    PREVIEW = "preview"
    FLOW = "flow"
    IDENTITY = "identity"


def error_result(name: str, message: str, stack: str | None = None, **extra: Any) -> dict[str, Any]:
    """The result object of a failed job, as Windmill writes it."""
    err: dict[str, Any] = {"name": name, "message": message}
    if stack is not None:
        err["stack"] = stack
    if extra:
        err.update(extra)
    return {"error": err}


_UNNAMED = {"preview": "(preview)", "flow": "(flow preview)", "identity": "(flow step)"}


def job_title(job: dict[str, Any]) -> str:
    """How the CLI and the desktop app name a job in a list: its path, else what it is
    (an inline flow step or a test run of unsaved code has no path)."""
    if job.get("script_path"):
        return str(job["script_path"])
    if job.get("parent_job"):
        return "(flow step)"
    kind = str(job.get("job_kind") or "job")
    return _UNNAMED.get(kind, f"({kind})")


#: Default tag (worker group) per language, as in Windmill.
LANGUAGE_TAGS: dict[str, str] = {
    "python3": "python3",
    "bash": "bash",
    "deno": "deno",
    "bun": "bun",
    "go": "go",
    "postgresql": "postgresql",
}


def default_tag(language: str | None) -> str:
    return LANGUAGE_TAGS.get(language or "", language or "other")


#: In a job's `extra`: which of its arguments' `$var:`/`$res:` strings are plain text, not
#: references — `True` for all, or a list of names. Set when whoever supplied them may not
#: have them resolved: an unauthenticated HTTP route (or one authenticated by a shared
#: secret), a run-only token, an event trigger's peer; a flow passes it on to what its
#: input flows into (steps' expression inputs, loop iterations, branches).
PLAIN_ARGS = "plain_args"


def is_plain_arg(extra: dict[str, Any] | None, name: str) -> bool:
    plain = (extra or {}).get(PLAIN_ARGS)
    return plain is True or (isinstance(plain, list) and name in plain)


def has_plain_args(extra: dict[str, Any] | None) -> bool:
    return bool((extra or {}).get(PLAIN_ARGS))
