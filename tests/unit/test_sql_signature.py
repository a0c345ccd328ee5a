"""parse_sql / sql_database_pin: WINDMILL_SCHEMA.md §4 (SQL) and WINDMILL.md §4.5.

Expected values are what windmill-parser-wasm-regex 1.764.0 returns (the ``database`` argument
aside, which Windmill's forms add); the integration test checks the fixtures against it.
"""

from __future__ import annotations

from typing import Any

import pytest

from desktop_app.parsing import script_schema
from desktop_app.parsing.sql_signature import DIALECTS, parse_sql, sql_database_pin

STR: dict[str, Any] = {"str": None}


def args_of(code: str, dialect: str = "postgresql") -> list[tuple[Any, ...]]:
    """(name, typ, default, has_default, otyp) of each argument after ``database``."""
    sig = parse_sql(code, dialect)
    args = sig["args"]
    if args and args[0]["name"] == "database" and "-- database " not in code \
            and dialect != "duckdb":
        args = args[1:]
    return [(a["name"], a["typ"], a["default"], a["has_default"], a["otyp"]) for a in args]


def test_output_shape_with_the_database_argument() -> None:
    assert parse_sql("-- $1 name\nSELECT $1::text, $2", "postgresql") == {
        "star_args": False, "star_kwargs": False,
        "args": [
            {"name": "database", "otyp": None, "typ": {"resource": "postgresql"},
             "default": None, "has_default": False, "oidx": None},
            {"name": "name", "otyp": "text", "typ": STR, "default": None, "has_default": False,
             "oidx": 1},
            {"name": "$2", "otyp": "text", "typ": STR, "default": None, "has_default": False,
             "oidx": 2, "otyp_inferred": True},
        ],
        "auto_kind": None, "has_preprocessor": None,
    }


@pytest.mark.parametrize(("dialect", "resource"), [
    ("postgresql", "postgresql"), ("mysql", "mysql"), ("bigquery", "bigquery"),
    ("snowflake", "snowflake"), ("mssql", "ms_sql_server"), ("oracledb", "oracledb"),
    ("duckdb", None),
])
def test_database_argument_per_dialect(dialect: str, resource: str | None) -> None:
    args = parse_sql("select 1", dialect)["args"]
    assert args == ([] if resource is None else [
        {"name": "database", "otyp": None, "typ": {"resource": resource}, "default": None,
         "has_default": False, "oidx": None}])
    assert parse_sql("-- database f/x/db\nselect 1", dialect)["args"] == []


@pytest.mark.parametrize(("code", "pin"), [
    ("-- database f/x/db\nselect 1", "f/x/db"), ("select 1\n-- database u/a/b", "u/a/b"),
    ("-- database $res:f/x", "$res:f/x"), ("-- database f/x ", "f/x"),
    ("-- database f/a\n-- database f/b", "f/a"), ("--database f/x", None),
    ("-- database  f/x", None), ("  -- database f/x", None), ("-- database f/x y", None),
    ("-- DATABASE f/x", None), ("-- database", None),
])
def test_database_pin(code: str, pin: str | None) -> None:
    assert sql_database_pin(code) == pin


def test_postgres_arguments_come_from_the_body_ordered_by_position() -> None:
    code = ("-- $3 third\n-- $9 unused\nSELECT $3::int, $1, '$4', \"c$5\", $$ $6 $$, "
            "$t$ $7 $t$, /* $8 */ $2::bool -- $10\n")
    assert [(name, otyp) for name, _, _, _, otyp in args_of(code)] == [
        ("$1", "text"), ("$2", "bool"), ("third", "int")]


def test_postgres_typed_comments_declare_arguments() -> None:
    code = "-- $1 a (int)\n-- $1 b (text) = x\n-- $4 d (bool)\n-- $2 c\nSELECT $1::date, $2"
    assert args_of(code) == [("a", "int", None, False, "int"), ("b", STR, "x", True, "text"),
                             ("c", STR, None, False, "text"), ("d", "bool", None, False, "bool")]


@pytest.mark.parametrize(("cast", "otyp", "typ"), [
    ("int", "int", "int"), ("INTEGER", "integer", "int"), ("bigint", "bigint", "int"),
    ("int8", "int8", STR), ("serial", "serial", "int"), ("oid", "oid", "int"),
    ("real", "real", "float"), ("double precision", "double", "float"),
    ("numeric(10,2)", "numeric", "float"), ("float", "float", STR),
    ("bool", "bool", "bool"), ("boolean", "boolean", "bool"),
    ("date", "date", "datetime"), ("timestamp with time zone", "timestamptz", "datetime"),
    ("time with time zone", "timetz", "datetime"), ("json", "json", {"object": {
        "name": None, "props": []}}), ("bytea", "bytea", "bytes"),
    ("character varying(20)", "varchar", STR), ("uuid", "uuid", STR),
    ("text[]", "text[]", {"list": STR}), ("int[][]", "int[]", {"list": "int"}),
    ("jsonb[]", "jsonb[]", {"list": {"object": {"name": None, "props": []}}}),
    ("s3object", "s3object", {"resource": "S3Object"}), ("public.t", "public", STR),
])
def test_postgres_cast_types(cast: str, otyp: str, typ: Any) -> None:
    assert args_of(f"SELECT $1::{cast}") == [("$1", typ, None, False, otyp)]


@pytest.mark.parametrize(("comment", "expected"), [
    ("-- $1 n (int) = 5", ("n", "int", 5, True, "int")),
    ("-- $1 n (int)=5", ("n", "int", 5, True, "int")),
    ("-- $1 n (int) = abc", ("n", "int", None, True, "int")),
    ("-- $1 n (int) = 99999999999999999999", ("n", "int", None, True, "int")),
    ("-- $1 n (real) = 2", ("n", "float", 2.0, True, "real")),
    ("-- $1 n (real) = inf", ("n", "float", None, True, "real")),
    ("-- $1 n (bool) = true", ("n", "bool", True, True, "bool")),
    ("-- $1 n (bool) = TRUE", ("n", "bool", None, True, "bool")),
    ("-- $1 n (text) = 'it''s'", ("n", STR, "it''s", True, "text")),
    ('-- $1 n (text) = "dq"', ("n", STR, '"dq"', True, "text")),
    ("-- $1 n = hello world ", ("n", STR, "hello world ", True, "text")),
    ("-- $1 n (text) = NULL", ("n", STR, None, True, "text")),
    ("-- $1 n (date) = '2024-01-01'", ("n", "datetime", "'2024-01-01'", True, "date")),
    ("-- $1 n (int[]) = {1,2}", ("n", {"list": "int"}, "{1,2}", True, "int[]")),
    ("-- $1 n (int) = 5\r", ("n", "int", None, True, "int")),  # the \r stays in the value
])
def test_postgres_comment_defaults(comment: str, expected: tuple[Any, ...]) -> None:
    assert args_of(comment + "\nSELECT $1") == [expected]


@pytest.mark.parametrize("comment", [
    "-- $1 my-name", "--$1 n", "-- $1  n", "  -- $1 n", "-- $1 n =", "-- $1 n (int) x",
    "-- $1 n (double precision)", "-- $1 n(int)", "-- $1 é",
])
def test_postgres_comments_that_do_not_name(comment: str) -> None:
    assert args_of(comment + "\nSELECT $1")[0][0] == "$1"


@pytest.mark.parametrize(("dialect", "code", "expected"), [
    ("mysql", "-- ? name (varchar) = 'x'\n-- ? n (int) = 3\n-- ? untyped\nSELECT ?, ?",
     [("name", STR, "x", True, "varchar"), ("n", "int", 3, True, "int")]),
    ("mysql", "-- ? skipped (int)\n-- :name (varchar(20)) = y\n-- :Bad (int)\nSELECT :name",
     [("name", STR, "y", True, "varchar(20)")]),
    ("oracledb", "-- :id (number) = 1\n-- ? no (int)\n-- :big (long)",
     [("id", "float", 1.0, True, "number"), ("big", "int", None, False, "long")]),
    ("snowflake", "-- ? a (int) = 1\n-- ? a (int) = 2\n-- ? b (boolean)",
     [("a", "int", 1, True, "int"), ("a", "int", 2, True, "int"),
      ("b", "bool", None, False, "boolean")]),
    ("bigquery", "-- @n (int64) = 5\n-- @i (int) = 5\n-- @t (string[])\n-- @j (json)",
     [("n", "int", 5, True, "int64"), ("i", STR, "5", True, "int"),
      ("t", {"list": STR}, None, False, "string[]"),
      ("j", {"object": {"name": None, "props": []}}, None, False, "json")]),
    ("mssql", "-- @P1 a (int) = 5\n-- @p2 b (bit) = true\n-- @P3 c\n-- @d (int)",
     [("a", "int", 5, True, "int"), ("b", "bool", True, True, "bit")]),
    ("duckdb", "-- $name (varchar) = 'duck'\n-- $ids (int[])\n-- $f (s3object)",
     [("name", STR, "duck", True, "varchar"), ("ids", {"list": "int"}, None, False, "int[]"),
      ("f", {"resource": "S3Object"}, None, False, "s3object")]),
])
def test_comment_dialects(dialect: str, code: str, expected: list[tuple[Any, ...]]) -> None:
    assert args_of(code, dialect) == expected


@pytest.mark.parametrize(("dialect", "sql_type", "typ"), [
    ("mysql", "bit", "bool"), ("mysql", "bigint", STR), ("mysql", "dec", "float"),
    ("oracledb", "rowid", "int"), ("oracledb", "s3object", STR),
    ("snowflake", "integer", STR), ("snowflake", "binary", "bytes"),
    ("bigquery", "bignumeric", "float"), ("mssql", "timestamp", STR),
    ("mssql", "datetimeoffset", "datetime"), ("duckdb", "uhugeint", "int"),
    ("duckdb", "hugeint", STR), ("duckdb", "logical", "bool"),
])
def test_dialect_type_tables(dialect: str, sql_type: str, typ: Any) -> None:
    prefix = {"mysql": "? a", "oracledb": ":a", "snowflake": "? a", "bigquery": "@a",
              "mssql": "@P1 a", "duckdb": "$a"}[dialect]
    assert args_of(f"-- {prefix} ({sql_type})", dialect)[0][1] == typ


def test_interpolated_arguments_come_last() -> None:
    code = ("-- %%table%% users/orders = users\n-- %%col%%\n-- %%raw%% = x y \n"
            "-- %%Bad%%\n-- $1 id (int)\nSELECT * FROM %%table%% WHERE id = $1")
    assert args_of(code) == [
        ("id", "int", None, False, "int"),
        ("table", {"str": ["users", "orders"]}, "users", True, "__sanitized_enum__"),
        ("col", STR, None, False, "__sanitized_raw_string__"),
        ("raw", STR, "x y ", True, "__sanitized_raw_string__"),
    ]
    for dialect in DIALECTS:
        assert args_of("-- %%t%% a/b\nselect 1", dialect)[-1][0] == "t"


def test_unknown_dialect() -> None:
    with pytest.raises(ValueError):
        parse_sql("select 1", "graphql")


def test_schema() -> None:
    code = "-- ? name (varchar) = bob\n-- ? age (int)\nSELECT * FROM p WHERE name = ? AND age = ?"
    assert script_schema(code, "mysql") == {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {
            "database": {"description": "", "type": "object", "format": "resource-mysql"},
            "name": {"description": "", "type": "string", "originalType": "string",
                     "default": "bob"},
            "age": {"description": "", "type": "integer", "default": None},
        },
        "required": ["database", "age"],
    }
