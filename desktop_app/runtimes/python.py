"""Python scripts: `main(**args)` in a venv built from the script's lock.

The lock (pinned requirements) is resolved at deploy time and stored with the
script version; a job without one (a preview, or a version whose resolution was
deferred) resolves it here. The venv is keyed by the lock's hash and shared.
"""

from __future__ import annotations

import asyncio
import base64
import json
import marshal
from pathlib import Path
from typing import Any

from desktop_app.runtimes import python_env, sandbox
from desktop_app.runtimes.base import JobContext, Launch, Outcome, read_result_file, tail_text

WRAPPER = Path(__file__).with_name("python_wrapper.py")
ZYGOTE = Path(__file__).with_name("python_zygote.py")

# Schema shapes whose JSON value main() receives as a Python object.
_CONVERT_FORMATS = {"date-time": "datetime", "date": "date"}

# How many requirement-free scripts' locks a worker remembers (oldest dropped first).
_PLAIN_LOCKS_KEPT = 512


def conversions(schema: dict[str, Any] | None) -> dict[str, str]:
    """Which args the wrapper must decode: base64 → bytes, ISO text → datetime/date."""
    out: dict[str, str] = {}
    for name, prop in ((schema or {}).get("properties") or {}).items():
        if not isinstance(prop, dict) or prop.get("type") != "string":
            continue
        if prop.get("contentEncoding") == "base64":
            out[name] = "bytes"
        elif prop.get("format") in _CONVERT_FORMATS:
            out[name] = _CONVERT_FORMATS[prop["format"]]
    return out


class PythonRuntime:
    language = "python3"

    def __init__(self) -> None:
        # lock text → interpreter path; venvs never change once built.
        self._pythons: dict[str, Path] = {}
        # code → its lock, for code that imports nothing to install (a flow's inline step,
        # run once per flow run): its lock is the interpreter's header alone, so parsing the
        # code and asking uv again each time gives the same answer. Code with requirements
        # is resolved each time (a new release may have come out).
        self._plain_locks: dict[str, str] = {}

    async def python_for(self, ctx: JobContext) -> Path:
        lock = ctx.lock
        cache_dir = ctx.state_dir / "cache"
        if lock is None:
            lock = self._plain_locks.get(ctx.code)
            if lock is not None:
                ctx.log_lines.append("resolving requirements: (none)")
        if lock is None:
            from desktop_app.parsing.python_requirements import infer_requirements

            requirements = infer_requirements(ctx.code)
            ctx.log_lines.append(f"resolving requirements: {', '.join(requirements) or '(none)'}")
            lock = await asyncio.to_thread(
                python_env.resolve_lock, requirements, cache_dir=cache_dir
            )
            if not requirements:
                if len(self._plain_locks) >= _PLAIN_LOCKS_KEPT:
                    self._plain_locks.pop(next(iter(self._plain_locks)))
                self._plain_locks[ctx.code] = lock
        ctx.lock = lock
        cached = self._pythons.get(lock)
        if cached is not None:
            return cached
        python = await asyncio.to_thread(
            python_env.ensure_venv, lock, envs_dir=ctx.state_dir / "envs", cache_dir=cache_dir
        )
        self._pythons[lock] = python
        return python

    async def prepare(self, ctx: JobContext) -> Launch:
        python = await self.python_for(ctx)
        (ctx.workdir / "main.py").write_text(ctx.code, encoding="utf-8")
        spec: dict[str, Any] = {"args": ctx.args, "convert": conversions(ctx.schema)}
        if ctx.wac_checkpoint is not None:
            spec["wac_checkpoint"] = ctx.wac_checkpoint
        (ctx.workdir / "args.marshal").write_bytes(marshal.dumps(spec, 4))
        env = dict(ctx.env)
        env["PYTHONUNBUFFERED"] = "1"
        return Launch([str(python), "-X", "frozen_modules=on", str(WRAPPER), str(ctx.workdir)],
                      ctx.workdir, env, fork_from=python,
                      read_only=[*sandbox.python_paths(python), WRAPPER.parent])

    def outcome(self, ctx: JobContext, exit_code: int, output_tail: list[str]) -> Outcome:
        wac_round = ctx.workdir / "wac_round.json"
        if wac_round.exists():
            return Outcome(True, wac_round.read_text(encoding="utf-8"), wac=True)
        error_file = ctx.workdir / "error.json"
        if error_file.exists():
            return Outcome(False, json.dumps({"error": json.loads(error_file.read_text())}))
        marshalled = ctx.workdir / "result.marshal"
        if marshalled.exists():
            return _json_outcome(marshal.loads(marshalled.read_bytes()), ctx.max_result_bytes)
        result = read_result_file(ctx.workdir / "result.json", ctx.max_result_bytes)
        if result is not None:
            return result
        return Outcome.failure(
            "ExecutionErr",
            f"python exited with code {exit_code} before returning a result"
            + (f"; last output:\n{tail_text(output_tail)}" if output_tail else ""),
            exit_code=exit_code,
        )


def _plain_default(value: Any) -> Any:
    """The few non-JSON types marshal carries: bytes as base64, sets as lists."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    if isinstance(value, set | frozenset):
        return list(value)
    raise TypeError(f"main returned a value of type {type(value).__name__} that cannot be "
                    f"turned into JSON: {value!r:.200}")


def _json_outcome(value: Any, limit: int) -> Outcome:
    try:
        text = json.dumps(value, default=_plain_default, allow_nan=False)
    except (TypeError, ValueError) as exc:
        return Outcome.failure("ResultNotSerializable", str(exc))
    if len(text) > limit:
        return Outcome.failure(
            "ResultTooLarge",
            f"the result is {len(text) / 1e6:.1f} MB, over the limit of {limit / 1e6:.1f} MB; "
            "write large outputs to a file or object storage and return a reference instead")
    return Outcome(True, text)
