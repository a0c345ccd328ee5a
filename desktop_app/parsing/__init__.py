"""Script parsing: a script's language, the signature of its ``main`` and its JSON Schema.

    language_from_filename("job.py")          → "python3"
    script_schema(code, "python3")            → the form's JSON Schema (Windmill's exact shape)
    script_metadata(code, "python3")          → {schema, has_preprocessor, no_main_func}

Languages read: python3, bash, deno/bun/nativets (TypeScript), go, and the SQL dialects
postgresql, mysql, bigquery, snowflake, mssql, oracledb and duckdb.

Pure functions over the code text: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from desktop_app.core.errors import UsageError
from desktop_app.parsing.bash_signature import parse_bash
from desktop_app.parsing.go_signature import parse_go
from desktop_app.parsing.python_signature import parse_python
from desktop_app.parsing.schema import infer_schema
from desktop_app.parsing.signature import MainArgSignature
from desktop_app.parsing.sql_signature import DIALECTS, database_resource, parse_sql
from desktop_app.parsing.typescript_signature import parse_typescript

__all__ = ["language_from_filename", "parse_signature", "script_metadata", "script_schema"]

# Windmill CLI's file suffixes, longest first so ".bun.ts" wins over ".ts".
_SUFFIXES: tuple[tuple[str, str], ...] = (
    (".playbook.yml", "ansible"),
    (".duckdb.sql", "duckdb"),
    (".deno.ts", "deno"), (".bun.ts", "bun"), (".fetch.ts", "nativets"), (".native.ts", "nativets"),
    (".pg.sql", "postgresql"), (".my.sql", "mysql"), (".bq.sql", "bigquery"),
    (".sf.sql", "snowflake"), (".ms.sql", "mssql"), (".odb.sql", "oracledb"),
    (".py", "python3"), (".ts", "deno"), (".sh", "bash"), (".go", "go"), (".ps1", "powershell"),
    (".gql", "graphql"), (".php", "php"), (".rs", "rust"), (".cs", "csharp"), (".nu", "nu"),
    (".java", "java"), (".rb", "ruby"), (".r", "rlang"),
)
_PARSERS: dict[str, Callable[[str], MainArgSignature]] = {
    "python3": parse_python, "bash": parse_bash, "go": parse_go,
    "deno": parse_typescript, "bun": parse_typescript, "nativets": parse_typescript,
    **{dialect: partial(parse_sql, dialect=dialect) for dialect in DIALECTS},
}


def language_from_filename(name: str) -> str | None:
    """Windmill's language name for a script file, or None (a bare ``.sql`` is ambiguous)."""
    lowered = name.lower()
    for suffix, language in _SUFFIXES:
        if lowered.endswith(suffix) and len(lowered) > len(suffix):
            return language
    return None


def parse_signature(code: str, language: str) -> MainArgSignature:
    """The parsed signature of ``code``; UsageError for a language we cannot parse yet."""
    parser = _PARSERS.get(language)
    if parser is None:
        raise UsageError(
            f"reading the signature of {language} scripts is not supported yet",
            hint=f"supported: {', '.join(sorted(_PARSERS))}",
        )
    return parser(code)


def script_schema(code: str, language: str, existing: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON Schema of the script's arguments, merged over ``existing`` when given."""
    return _schema(code, language, parse_signature(code, language), existing)


def script_metadata(code: str, language: str,
                    existing: dict[str, Any] | None = None) -> dict[str, Any]:
    """What deploying a script records: ``{schema, has_preprocessor, no_main_func}``."""
    sig = parse_signature(code, language)
    return {
        "schema": _schema(code, language, sig, existing),
        "has_preprocessor": bool(sig["has_preprocessor"]),
        "no_main_func": sig["auto_kind"] == "lib",
    }


def _schema(code: str, language: str, sig: MainArgSignature,
            existing: dict[str, Any] | None) -> dict[str, Any]:
    schema = infer_schema(sig, existing)
    if language in DIALECTS and database_resource(code, language) is not None \
            and [a["name"] for a in sig["args"]].count("database") == 1:
        # Windmill injects `database` without a default (JavaScript's undefined), so the
        # property has no "default" key, not even one the user set.
        schema["properties"]["database"].pop("default", None)
    return schema
