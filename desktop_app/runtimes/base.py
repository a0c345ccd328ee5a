"""What every language runtime provides to the worker.

A runtime turns a job into a process to start (`prepare`) and, once the process
has exited, reads its outcome (`outcome`). Starting, streaming logs, timeouts and
killing the process tree are the worker's job, the same for every language.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
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
    #: workflow-as-code: the checkpoint the `@workflow` body is replayed with
    wac_checkpoint: dict[str, Any] | None = None
    log_lines: list[str] = field(default_factory=list)  # setup notes to put in the job log


@dataclass
class Launch:
    argv: list[str]
    cwd: Path
    env: dict[str, str]
    #: A Python interpreter whose pre-started zygote may fork this job instead of starting
    #: `argv` afresh (same wrapper, same job dir, same environment; ~13 ms faster).
    fork_from: Path | None = None
    #: With `fork_from`: the standalone runner whose `main()` the forked child runs (argv
    #: [runner, job dir], like a spawn) instead of the Python wrapper, the modules its zygote
    #: imports once for every child (a SQL driver: the import is most of a SQL job's start)
    #: and the folders they are imported from.
    fork_runner: Path | None = None
    fork_preload: tuple[str, ...] = ()
    fork_path: tuple[str, ...] = ()
    #: What the job must see besides its folder when sandboxed (runtime/sandbox.py):
    #: interpreters, venvs, binaries (read-only) and caches it fills (writable).
    read_only: list[Path] = field(default_factory=list)
    writable: list[Path] = field(default_factory=list)
    #: RLIMIT_DATA of the job's processes; set by the worker (None: no limit)
    memory_bytes: int | None = None
    #: False only for a runner that executes none of the user's code on this machine
    sandboxed: bool = True


@dataclass
class Outcome:
    success: bool
    result_json: str  # the JSON text of the result (or of {"error": {...}})
    #: True when this is a workflow-as-code round ({"round", "keys"}), not a final result
    wac: bool = False

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


def outcome_from_files(ctx: JobContext, exit_code: int, output_tail: list[str],
                       program: str) -> Outcome:
    """The outcome a wrapper left in the job folder: error.json ({name, message, ...}),
    else result.json, else a failure naming the exit code and the last output."""
    error_file = ctx.workdir / "error.json"
    if error_file.exists():
        try:
            error = json.loads(error_file.read_text(encoding="utf-8", errors="replace"))
        except ValueError as exc:
            error = {"name": "ExecutionErr", "message": f"unreadable error.json: {exc}"}
        return Outcome(False, json.dumps({"error": error}))
    result = read_result_file(ctx.workdir / "result.json", ctx.max_result_bytes)
    if result is not None:
        return result
    return Outcome.failure(
        "ExecutionErr",
        f"{program} exited with code {exit_code} before returning a result"
        + (f"; last output:\n{tail_text(output_tail)}" if output_tail else ""),
        exit_code=exit_code,
    )


@lru_cache(maxsize=256)
def parameter_names(code: str, language: str) -> tuple[str, ...] | None:
    """main's parameter names in order, from the code; None when it cannot be parsed."""
    from desktop_app.parsing import parse_signature

    try:
        return tuple(a["name"] for a in parse_signature(code, language)["args"])
    except Exception:  # a script the parser cannot read: the schema's order will do
        return None


def positional_call_spec(ctx: JobContext) -> dict[str, Any]:
    """For languages whose main takes positional parameters (TypeScript, Go): the argument
    names in the order of main's parameters, the args, and which of them are date-times
    (a TypeScript `Date` parameter receives a Date, as in Windmill).

    The order comes from parsing the code: a stored schema's property order is not
    reliable (jsonb keeps keys sorted by length, and a user may reorder the form)."""
    props = (ctx.schema or {}).get("properties")
    props = props if isinstance(props, dict) else {}
    names = parameter_names(ctx.code, ctx.language)
    if names is None:
        names = tuple(props) or tuple(ctx.args)
    dates = [n for n, p in props.items()
             if isinstance(p, dict) and p.get("type") == "string" and p.get("format") == "date-time"]
    return {"names": list(names), "args": ctx.args, "dates": dates}
