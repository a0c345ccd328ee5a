"""A MySQL script as the runner sends it: statements with PyMySQL placeholders.

Windmill's MySQL signature declares arguments in comments: `-- :name (type) = default`
(the script then uses `:name`) or, the older form, `-- ? name (type) = default` (the
script uses `?`, bound in declaration order within each statement). A statement ends at a
`;` outside strings ('…', "…" with MySQL's backslash escapes), quoted identifiers (`…`)
and comments (`-- `, `#`, `/* */`); placeholders there are left alone. PyMySQL formats a
query with `%`, so every other `%` is doubled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from desktop_app.core.errors import ScriptSyntaxError

_NAMED = re.compile(r":([a-z_][a-z0-9_]*)")


@dataclass
class MysqlStatement:
    source: str  # the statement as written
    line: int  # the script line of its first word (after comments and blank lines)
    text: str = ""  # with %s / %(name)s placeholders and `%` doubled
    params: list[str] = field(default_factory=list)  # "?" or a name, in order


def split_mysql(code: str) -> list[MysqlStatement]:
    out: list[MysqlStatement] = []
    start, line, i, n = 0, 1, 0, len(code)
    parts: list[str] = []
    params: list[str] = []
    meaningful = False
    chunk_from = 0

    first = 1  # the line of the statement's first word

    def begin(at: int) -> None:
        nonlocal meaningful, first
        if not meaningful:
            meaningful, first = True, line + code.count("\n", start, at)

    def close(end: int) -> None:
        nonlocal start, line, parts, params, meaningful, chunk_from
        parts.append(code[chunk_from:end].replace("%", "%%"))
        source = code[start:end]
        if meaningful:
            out.append(MysqlStatement(source, first, "".join(parts), params))
        line += source.count("\n")
        start, parts, params, meaningful = end, [], [], False

    while i < n:
        c = code[i]
        if (c == "-" and code.startswith("--", i) and (i + 2 >= n or code[i + 2].isspace())) \
                or c == "#":
            nl = code.find("\n", i)
            i = n if nl < 0 else nl
        elif c == "/" and code.startswith("/*", i):
            end = code.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif c in "'\"`":
            begin(i)
            i = _skip_quoted(code, i, c)
        elif c == "?" or (c == ":" and _NAMED.match(code, i) and (i == 0 or code[i - 1] != ":")):
            begin(i)
            match = _NAMED.match(code, i) if c == ":" else None
            parts.append(code[chunk_from:i].replace("%", "%%"))
            parts.append("%s" if match is None else f"%({match.group(1)})s")
            params.append("?" if match is None else match.group(1))
            i = i + 1 if match is None else match.end()
            chunk_from = i
        elif c == ";":
            close(i)
            start = chunk_from = i + 1
            i += 1
        else:
            if not c.isspace():
                begin(i)
            i += 1
    close(n)
    return out


def _skip_quoted(code: str, i: int, quote: str) -> int:
    i += 1
    while i < len(code):
        c = code[i]
        if c == "\\" and quote != "`":
            i += 2
        elif c == quote:
            if code.startswith(quote * 2, i):
                i += 2
            else:
                return i + 1
        else:
            i += 1
    return i


def mysql_spec(code: str, args: dict[str, Any], sig_args: list[dict[str, Any]]) -> dict[str, Any]:
    """What sql_runner needs: statements, each with its placeholders' values."""
    from desktop_app.parsing.sql_signature import sql_database_pin
    from desktop_app.runtimes.sql import _value, interpolate

    declared = [a for a in sig_args if a.get("otyp") not in
                ("__sanitized_enum__", "__sanitized_raw_string__") and a["name"] != "database"]
    by_name = {a["name"]: a for a in declared}
    statements = []
    for stmt in split_mysql(interpolate(code, sig_args, args)):
        values: list[Any] | dict[str, Any]
        if any(p == "?" for p in stmt.params):
            if len(stmt.params) > len(declared):
                raise ScriptSyntaxError(
                    f"the statement has {len(stmt.params)} '?' placeholders but the script "
                    f"declares {len(declared)} argument(s) (`-- ? name (type)` lines)",
                    line=stmt.line)
            values = [_value(declared[k], args) for k in range(len(stmt.params))]
        else:
            missing = [p for p in stmt.params if p not in by_name]
            if missing:
                raise ScriptSyntaxError(
                    f":{missing[0]} is used but not declared: add `-- :{missing[0]} (text)`",
                    line=stmt.line)
            values = {p: _value(by_name[p], args) for p in stmt.params}
        statements.append({"text": stmt.text if stmt.params else stmt.source,
                           "source": stmt.source, "line": stmt.line,
                           "values": values if stmt.params else None})
    return {"engine": "mysql", "statements": statements, "database": args.get("database"),
            "pin": sql_database_pin(code)}

