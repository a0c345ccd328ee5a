"""SQL scripts: PostgreSQL (`.pg.sql`), MySQL/MariaDB (`.my.sql`, `mysql_statements.py`)
and DuckDB (`.duckdb.sql`).

The worker splits the script into statements and maps each parameter to an argument of
the signature (`$1` → the argument with `oidx` 1; DuckDB's `$name` → the argument
`name`); `sql_runner.py` runs them in a child process, so cancel and timeout kill it like
any other script. A missing argument takes its declared default, else NULL.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
from functools import cache
from pathlib import Path
from typing import Any

from desktop_app.core.errors import ArgumentError, ScriptSyntaxError
from desktop_app.runtimes.base import JobContext, Launch, Outcome, outcome_from_files
from desktop_app.runtimes.sql_statements import split_statements, with_named_placeholders

RUNNER = Path(__file__).with_name("sql_runner.py")

# `-- %%name%% a/b/c`: the argument's text is put into the script itself (Windmill's
# "unsafe interpolation"), so only a listed value, or a bare identifier, is accepted.
_INTERPOLATED = ("__sanitized_enum__", "__sanitized_raw_string__")
_SAFE_RAW = re.compile(r"[A-Za-z0-9_]*")


@cache
def runner_path() -> str:
    """Where the runner's drivers (and their own imports) are installed."""
    dirs = []
    for name in ("psycopg", "psycopg_binary", "psycopg_c", "typing_extensions", "duckdb",
                 "pymysql"):
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin:
            origin = Path(spec.origin)
            dirs.append(str(origin.parent.parent if origin.name == "__init__.py" else origin.parent))
    return os.pathsep.join(dict.fromkeys(dirs))


def _signature_args(code: str, language: str) -> list[dict[str, Any]]:
    from desktop_app.parsing import parse_signature

    return [dict(a) for a in parse_signature(code, language)["args"]]


def interpolate(code: str, sig_args: list[dict[str, Any]], args: dict[str, Any]) -> str:
    """The script with each `%%name%%` replaced by its (checked) argument."""
    for arg in sig_args:
        if arg.get("otyp") not in _INTERPOLATED:
            continue
        name, value = arg["name"], _value(arg, args)
        text = "" if value is None else str(value)
        allowed = (arg.get("typ") or {}).get("str") if isinstance(arg.get("typ"), dict) else None
        if allowed and text not in allowed:
            raise ArgumentError(f"{name} must be one of {', '.join(allowed)}, not {text!r}",
                                field=name)
        if not allowed and not _SAFE_RAW.fullmatch(text):
            raise ArgumentError(f"{name} is put into the SQL text, so it may only hold letters, "
                                f"digits and underscores, not {text!r}", field=name)
        code = code.replace(f"%%{name}%%", text)
    return code


def _value(arg: dict[str, Any] | None, args: dict[str, Any]) -> Any:
    if arg is None:
        return None
    if arg["name"] in args:
        return args[arg["name"]]
    return arg.get("default") if arg.get("has_default") else None


def postgres_spec(code: str, args: dict[str, Any]) -> dict[str, Any]:
    """What sql_runner needs for a PostgreSQL script: statements with psycopg
    placeholders (`$1` → `%(p1)s`), the bound values and declared types."""
    from desktop_app.parsing.sql_signature import sql_database_pin

    sig_args = _signature_args(code, "postgresql")
    by_index = {a["oidx"]: a for a in sig_args if a.get("oidx") is not None}
    statements, values, types = [], {}, {}
    for stmt in split_statements(interpolate(code, sig_args, args)):
        keys = []
        for p in stmt.params:
            if not p.key.isdigit():
                raise ScriptSyntaxError(f"${p.key} is not a PostgreSQL parameter: use $1, $2, ...",
                                        line=stmt.line_at(p.start))
            arg = by_index.get(int(p.key))
            key = f"p{p.key}"
            values[key] = _value(arg, args)
            types[key] = (arg or {}).get("otyp")
            keys.append(key)
        text = with_named_placeholders(stmt) if keys else stmt.text
        statements.append({"text": text, "source": stmt.text, "line": stmt.line,
                           "params": list(dict.fromkeys(keys))})
    return {"engine": "postgresql", "statements": statements, "values": values, "types": types,
            "database": args.get("database"), "pin": sql_database_pin(code)}


def duckdb_spec(code: str, args: dict[str, Any]) -> dict[str, Any]:
    sig_args = _signature_args(code, "duckdb")
    by_name = {a["name"]: a for a in sig_args}
    statements, values = [], {}
    for stmt in split_statements(interpolate(code, sig_args, args)):
        keys = list(dict.fromkeys(p.key for p in stmt.params if not p.key.isdigit()))
        for key in keys:
            values[key] = _value(by_name.get(key), args)
        statements.append({"text": stmt.text, "line": stmt.line, "params": keys})
    return {"engine": "duckdb", "statements": statements, "values": values}


class SqlRuntime:
    """PostgreSQL, MySQL or DuckDB, by `language`."""

    def __init__(self, language: str) -> None:
        self.language = language

    async def prepare(self, ctx: JobContext) -> Launch:
        if self.language == "mysql":
            from desktop_app.runtimes.mysql_statements import mysql_spec

            spec = mysql_spec(ctx.code, ctx.args, _signature_args(ctx.code, "mysql"))
        else:
            make_spec = duckdb_spec if self.language == "duckdb" else postgres_spec
            spec = make_spec(ctx.code, ctx.args)
        if not spec["statements"]:
            raise ScriptSyntaxError("the script has no SQL statement to run")
        (ctx.workdir / "sql.json").write_text(json.dumps(spec), encoding="utf-8")
        env = dict(ctx.env)
        env["PYTHONPATH"] = runner_path()
        # -S: no site-packages scan (its .pth files cost ~25 ms a start), PYTHONPATH instead;
        # -P: the runner's own folder (this package) must not shadow a module it imports.
        # DuckDB runs the user's SQL in this process, and DuckDB SQL reads local files: it
        # is sandboxed. The PostgreSQL runner only sends statements to a server, which may
        # be a Unix socket anywhere (a pinned resource is read through the API at run time).
        # The MySQL runner reaches its server over TCP (the network is shared): sandboxed.
        seen = [Path(sys.base_prefix), Path(sys.prefix), RUNNER.parent,
                *(Path(p) for p in env["PYTHONPATH"].split(os.pathsep) if p)]
        # Forked from a zygote that imported the driver once (~100 ms a start otherwise).
        driver = {"duckdb": "duckdb", "mysql": "pymysql"}.get(self.language, "psycopg")
        return Launch([sys.executable, "-S", "-P", str(RUNNER), str(ctx.workdir)], ctx.workdir,
                      env, fork_from=Path(sys.executable), fork_runner=RUNNER,
                      fork_preload=(driver,), fork_path=tuple(env["PYTHONPATH"].split(os.pathsep)),
                      read_only=seen, sandboxed=self.language in ("duckdb", "mysql"))

    def outcome(self, ctx: JobContext, exit_code: int, output_tail: list[str]) -> Outcome:
        return outcome_from_files(ctx, exit_code, output_tail, f"the {self.language} runner")
