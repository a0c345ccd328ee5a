"""What every language runtime provides to the worker.

A runtime turns a job into a process to start (`prepare`) and, once the process
has exited, reads its outcome (`outcome`). Starting, streaming logs, timeouts and
killing the process tree are the worker's job, the same for every language.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


@dataclass
class JobContext:
    """Everything a runtime may need to know about the job it prepares."""

    job_id: str
    language: str
    code: str
    args: dict[str, Any]
    schema: dict[str, Any] | None
    lock: str | None
    workdir: Path
    env: dict[str, str]
    state_dir: Path  # $TIDEMILL_HOME: caches (venvs, uv cache) live below it
    max_result_bytes: int = 8 * 1024 * 1024
    log_lines: list[str] = field(default_factory=list)  # setup notes to put in the job log


@dataclass
class Launch:
    argv: list[str]
    cwd: Path
    env: dict[str, str]


@dataclass
class Outcome:
    success: bool
    result_json: str  # the JSON text of the result (or of {"error": {...}})

    @classmethod
    def failure(cls, name: str, message: str, **extra: Any) -> Outcome:
        return cls(False, json.dumps({"error": {"name": name, "message": message, **extra}}))


class Runtime(Protocol):
    language: str

    async def prepare(self, ctx: JobContext) -> Launch: ...

    def outcome(self, ctx: JobContext, exit_code: int, output_tail: list[str]) -> Outcome: ...


def read_result_file(path: Path, limit: int) -> Outcome | None:
    """A result file's JSON, checked for size and validity; None when there is none."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    if size > limit:
        return Outcome.failure(
            "ResultTooLarge",
            f"the result is {size / 1e6:.1f} MB, over the limit of {limit / 1e6:.1f} MB; write "
            "large outputs to a file or object storage and return a reference instead",
        )
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        json.loads(text)
    except ValueError as exc:
        return Outcome.failure("ResultNotJson", f"{path.name} is not valid JSON: {exc}")
    return Outcome(True, text)


def tail_text(lines: list[str], n: int = 20) -> str:
    return "\n".join(lines[-n:]).strip()
