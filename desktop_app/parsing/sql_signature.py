"""SQL scripts: arguments declared by comment lines, as windmill-parser-wasm-regex reads them.

    -- $1 name (type) = default      PostgreSQL: names the positional parameter $1 of the body
    -- ? name (type) = default       MySQL, Snowflake (positional "?")
    -- :name (type) = default        MySQL (named), OracleDB
    -- @name (type) = default        BigQuery
    -- @P1 name (type) = default     MS SQL Server
    -- $name (type) = default        DuckDB
    -- %%name%% a/b/c = a            any dialect: a value interpolated into the text (unsafe),
                                     an enum when values are listed, else a raw string
    -- database f/path/to/db         pins the database resource (see sql_database_pin)

PostgreSQL arguments are ordered by N: each comment with a ``(type)`` declares one (even for a
``$N`` the body does not use, and two comments for the same N give two arguments); every other
``$N`` found in the body (outside comments, quoted strings and dollar-quoted strings) is one
more, named by the last untyped comment for it, typed by its first ``$N::TYPE`` cast, else
``text`` with an extra ``"otyp_inferred": true`` (Windmill's marker: the executor leaves that
type to the server). The other dialects take their arguments from the comment lines alone, in
line order (duplicates kept), and there the ``(type)`` is required. Each dialect maps SQL type
names to form types with its own table; ``otyp`` keeps the lowercased SQL type and ``oidx``
the position of a PostgreSQL argument.

Defaults are read according to the type: an integer, a float (non-finite → null), ``true`` /
``false``, a string with one pair of surrounding single quotes removed; any other type keeps
the text as written. ``null`` (any case) and a value that does not parse give null, still
counting as a default.

Windmill's forms then get a first argument ``database`` (the dialect's resource type; none for
DuckDB). Windmill's CLI always adds it; its web UI leaves it out when the script pins a
database with ``-- database <path>`` — we follow the web UI, since the pinned database is the
one the script runs against.
"""

from __future__ import annotations

import math
import re
from typing import Any, cast

from desktop_app.parsing.signature import (
    BOOL,
    BYTES,
    DATETIME,
    FLOAT,
    INT,
    Arg,
    MainArgSignature,
    Typ,
    list_typ,
    make_arg,
    make_signature,
    object_typ,
    resource_typ,
    str_typ,
)

DIALECTS = ("postgresql", "mysql", "bigquery", "snowflake", "mssql", "oracledb", "duckdb")
_DATABASE_RESOURCE = {
    "postgresql": "postgresql", "mysql": "mysql", "bigquery": "bigquery",
    "snowflake": "snowflake", "mssql": "ms_sql_server", "oracledb": "oracledb",
}

_INTS = ("int", "integer")
_TYPE_NAMES: dict[str, dict[str, tuple[str, ...]]] = {
    "postgresql": {
        INT: (*_INTS, "int2", "int4", "bigint", "smallint", "serial", "serial2", "serial4",
              "serial8", "smallserial", "bigserial", "oid"),
        FLOAT: ("numeric", "decimal", "real", "float4", "float8", "double"),
        BOOL: ("bool", "boolean"),
        DATETIME: ("date", "time", "timetz", "timestamp", "timestamptz"),
        BYTES: ("bytea",),
        "json": ("json", "jsonb"),
    },
    "mysql": {
        INT: _INTS, FLOAT: ("dec", "fixed", "real", "float"), BOOL: ("bool", "bit"),
        DATETIME: ("date", "time", "timestamp", "datetime"),
    },
    "oracledb": {
        INT: (*_INTS, "long", "rowid", "urowid"),
        FLOAT: ("number", "float", "binary_float", "binary_double"), BOOL: ("bool",),
        DATETIME: ("date", "time", "timestamp", "datetime"),
    },
    "snowflake": {
        INT: ("int",), FLOAT: ("float",), BOOL: ("boolean",),
        DATETIME: ("date", "time", "timestamp"), BYTES: ("binary",),
    },
    "bigquery": {
        INT: ("integer", "int64"), FLOAT: ("numeric", "float", "float64", "bignumeric"),
        BOOL: ("bool", "boolean"), DATETIME: ("date", "time", "timestamp", "datetime"),
        BYTES: ("bytes",), "json": ("json",),
    },
    "mssql": {
        INT: ("int", "bigint", "smallint", "tinyint"),
        FLOAT: ("numeric", "decimal", "real", "float"), BOOL: ("bit",),
        DATETIME: ("date", "time", "datetime", "datetime2", "datetimeoffset", "smalldatetime"),
        BYTES: ("binary", "varbinary", "image"),
    },
    "duckdb": {
        INT: (*_INTS, "int1", "int2", "int4", "int8", "bigint", "smallint", "tinyint",
              "uinteger", "ubigint", "usmallint", "utinyint", "uhugeint", "long", "short",
              "signed"),
        FLOAT: ("numeric", "decimal", "real", "float", "float4", "float8", "double"),
        BOOL: ("bool", "boolean", "bit", "logical"),
        DATETIME: ("date", "time", "timestamp", "timestamptz", "datetime"),
        BYTES: ("bytea", "blob", "binary", "varbinary", "bitstring"),
    },
}
_TYPE_MAPS: dict[str, dict[str, str]] = {
    dialect: {name: kind for kind, names in table.items() for name in names}
    for dialect, table in _TYPE_NAMES.items()
}

_NAME = r"([A-Za-z0-9_]+)"
_LOWER_NAME = r"([a-z_][a-z0-9_]*)"
_DEFAULT = r"(?: ?= ?(.+))?\s*$"
_PLAIN_TYPE = r" \(([A-Za-z0-9_]+)\)"
_ARRAY_TYPE = r" \(([A-Za-z0-9_]+(?:\[\])*)\)"
_PG_COMMENT = re.compile(r"^-- \$(\d+) " + _NAME + r"(?:" + _ARRAY_TYPE + r")?" + _DEFAULT)
_POSITIONAL = re.compile(r"^-- \? " + _NAME + _PLAIN_TYPE + _DEFAULT)
_NAMED = re.compile(r"^-- :" + _LOWER_NAME + r" \(([A-Za-z0-9_]+(?:\([^)]*\))?)\)" + _DEFAULT)
_COMMENT_ARGS: dict[str, re.Pattern[str]] = {
    "snowflake": _POSITIONAL,
    "oracledb": _NAMED,
    "bigquery": re.compile(r"^-- @" + _NAME + r" \(([A-Za-z0-9_]+(?:\[\])?)\)" + _DEFAULT),
    "mssql": re.compile(r"^-- @[Pp]\d+ " + _NAME + _PLAIN_TYPE + _DEFAULT),
    "duckdb": re.compile(r"^-- \$" + _NAME + _ARRAY_TYPE + _DEFAULT),
}
_INTERPOLATION = re.compile(
    r"^--\s*%%([a-z_][a-z0-9_]*)%%\s*([A-Za-z0-9_][A-Za-z0-9_ /]*?)?\s*(?:=\s?(.+))?\s*$")
_PIN = re.compile(r"^-- database (\S+)\s*$")

# PostgreSQL body: what hides a "$N" (comments, strings, quoted identifiers, dollar quotes).
_PG_HIDDEN = re.compile(
    r"--[^\n]*|/\*.*?(?:\*/|\Z)|'[^']*(?:'|\Z)|\"[^\"]*(?:\"|\Z)"
    r"|(\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$).*?(?:\1|\Z)", re.S)
_PG_PARAM = re.compile(r"\$(\d+)")
_PG_CAST = re.compile(
    r"\$(\d+)::(?:(double\s*precision)|(character\s+varying)|(time\s+with\s+time\s+zone)"
    r"|(timestamp\s+with\s+time\s+zone)|(\w+))(\[\])?", re.I)
_CAST_SPELLINGS = (None, "double", "varchar", "timetz", "timestamptz")
_RAW_STRING = "__sanitized_raw_string__"
_ENUM = "__sanitized_enum__"


def parse_sql(code: str, dialect: str) -> MainArgSignature:
    """The arguments of a SQL script in ``dialect`` (a Windmill language name), the injected
    ``database`` argument first (see the module docstring)."""
    if dialect not in DIALECTS:
        raise ValueError(f"not a SQL dialect: {dialect}")
    lines = code.split("\n")  # a "\r" stays on the line, and in a default, as in Windmill
    args = _postgres_args(code, lines) if dialect == "postgresql" else _comment_args(lines,
                                                                                       dialect)
    args.extend(_interpolated_args(lines))
    resource = database_resource(code, dialect)
    if resource is not None:
        args.insert(0, make_arg("database", resource_typ(resource)))
    return make_signature(args, has_preprocessor=None)


def sql_database_pin(code: str) -> str | None:
    """The database path pinned by a ``-- database f/path`` line (the first), or None."""
    for line in code.split("\n"):
        match = _PIN.match(line)
        if match:
            return match.group(1)
    return None


def database_resource(code: str, dialect: str) -> str | None:
    """The resource type of the ``database`` argument parse_sql puts first, or None (DuckDB,
    or a script that pins its database)."""
    if sql_database_pin(code) is not None:
        return None
    return _DATABASE_RESOURCE.get(dialect)


# --- PostgreSQL ---------------------------------------------------------------------------------


def _postgres_args(code: str, lines: list[str]) -> list[Arg]:
    body = _PG_HIDDEN.sub(lambda m: " " * len(m.group()), code)
    casts: dict[int, str] = {}
    for match in _PG_CAST.finditer(body):
        index = int(match.group(1))
        if index not in casts:
            spelled = next((_CAST_SPELLINGS[g - 1] for g in range(2, 6) if match.group(g)), None)
            casts[index] = (spelled or match.group(6).lower()) + (match.group(7) or "")
    typed: list[Arg] = []
    named: dict[int, re.Match[str]] = {}
    for line in lines:
        found = _PG_COMMENT.match(line)
        if found and found.group(3):
            # A comment with a type declares an argument by itself, each one kept.
            typed.append(_arg(found.group(2), found.group(3).lower(), found.group(4),
                              "postgresql", oidx=int(found.group(1))))
        elif found:
            named[int(found.group(1))] = found  # the last one names $N
    declared = {arg["oidx"] for arg in typed}
    args = list(typed)
    for index in sorted({int(m.group(1)) for m in _PG_PARAM.finditer(body)} - declared):
        comment = named.get(index)
        name = comment.group(2) if comment else f"${index}"
        raw_default = comment.group(4) if comment else None
        arg = _arg(name, casts.get(index, "text"), raw_default, "postgresql", oidx=index)
        if index not in casts:
            # Windmill marks a type it did not read ("text" by default) so that the executor
            # lets PostgreSQL infer the parameter's type instead of binding text.
            cast(dict[str, Any], arg)["otyp_inferred"] = True
        args.append(arg)
    args.sort(key=lambda arg: arg["oidx"] or 0)  # stable: declarations keep their line order
    return args


# --- the other dialects -------------------------------------------------------------------------


def _comment_args(lines: list[str], dialect: str) -> list[Arg]:
    if dialect == "mysql":
        # Named parameters as soon as one comment declares one; "?" ones otherwise.
        named = any(_NAMED.match(line) for line in lines)
        pattern = _NAMED if named else _POSITIONAL
    else:
        pattern = _COMMENT_ARGS[dialect]
    args: list[Arg] = []
    for line in lines:
        match = pattern.match(line)
        if match:
            name, sql_type, raw_default = match.groups()
            args.append(_arg(name, sql_type.lower(), raw_default, dialect))
    return args


def _interpolated_args(lines: list[str]) -> list[Arg]:
    args: list[Arg] = []
    for line in lines:
        match = _INTERPOLATION.match(line)
        if not match:
            continue
        name, listed, default = match.groups()
        values = [v.strip() for v in (listed or "").split("/") if v.strip()]
        typ = str_typ(values) if values else str_typ()
        args.append(make_arg(name, typ, default=default, has_default=default is not None,
                             otyp=_ENUM if values else _RAW_STRING))
    return args


def _arg(name: str, sql_type: str, raw_default: str | None, dialect: str,
         oidx: int | None = None) -> Arg:
    typ = _typ(sql_type, dialect)
    default = None if raw_default is None else _default(raw_default, typ)
    return make_arg(name, typ, default=default, has_default=raw_default is not None,
                    otyp=sql_type, oidx=oidx)


def _typ(sql_type: str, dialect: str) -> Typ:
    if sql_type.endswith("[]"):
        return list_typ(_typ(sql_type[:-2], dialect))
    if sql_type == "s3object" and dialect != "oracledb":
        return resource_typ("S3Object")
    kind = _TYPE_MAPS[dialect].get(sql_type)
    if kind is None:
        return str_typ()
    return object_typ(None, []) if kind == "json" else kind


def _default(raw: str, typ: Typ) -> Any:
    if raw.lower() == "null":
        return None
    if typ == INT:
        if re.fullmatch(r"[+-]?\d+", raw) and -(2**63) <= int(raw) < 2**63:
            return int(raw)
        return None
    if typ == FLOAT:
        if not re.fullmatch(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", raw):
            return None  # inf/NaN parse in Rust but have no JSON form: null as well
        value = float(raw)
        return value if math.isfinite(value) else None
    if typ == BOOL:
        return {"true": True, "false": False}.get(raw)
    if typ == str_typ():
        if len(raw) >= 2 and raw.startswith("'") and raw.endswith("'"):
            return raw[1:-1]
        return raw
    return raw
