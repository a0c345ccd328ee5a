"""Bash scripts: arguments are positional (`name="$1"`), the result is ./result.json
when the script writes one, else the last line of its output."""

from __future__ import annotations

import json
import shutil
from typing import Any

from desktop_app.runtimes.base import (
    JobContext,
    Launch,
    Outcome,
    parameter_names,
    read_result_file,
    tail_text,
)


def positional_args(schema: dict[str, Any] | None, args: dict[str, Any],
                    order: tuple[str, ...] | None = None) -> list[str]:
    """Args in signature order (`order`, from the code: a stored schema's keys come back
    from jsonb sorted by length). A missing one becomes "" so `${N:-default}` still
    applies; non-strings are passed as their JSON text (as Windmill does)."""
    names = list(order) if order is not None else list((schema or {}).get("properties", {}))
    values: list[str] = []
    for name in names:
        value = args.get(name)
        if value is None:
            values.append("")
        elif isinstance(value, str):
            values.append(value)
        else:
            values.append(json.dumps(value))
    while values and values[-1] == "" and names[len(values) - 1] not in args:
        values.pop()
    return values


class BashRuntime:
    language = "bash"

    async def prepare(self, ctx: JobContext) -> Launch:
        bash = shutil.which("bash") or "/bin/bash"
        script = ctx.workdir / "main.sh"
        script.write_text(ctx.code, encoding="utf-8")
        args = positional_args(ctx.schema, ctx.args, parameter_names(ctx.code, "bash"))
        return Launch([bash, str(script), *args], ctx.workdir, ctx.env)

    def outcome(self, ctx: JobContext, exit_code: int, output_tail: list[str]) -> Outcome:
        if exit_code != 0:
            return Outcome.failure(
                "ExecutionErr",
                f"bash exited with code {exit_code}"
                + (f"; last output:\n{tail_text(output_tail)}" if output_tail else ""),
                exit_code=exit_code,
            )
        from_file = read_result_file(ctx.workdir / "result.json", ctx.max_result_bytes)
        if from_file is not None:
            return from_file
        last = next((line.strip() for line in reversed(output_tail) if line.strip()), "")
        return Outcome(True, json.dumps(last))
