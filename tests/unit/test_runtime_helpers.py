"""The pure parts of the TypeScript, SQL and Go runtimes: statement splitting, parameter
binding, bare-import maps, call specs, and a missing Go toolchain."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop_app.core.errors import ArgumentError, RuntimeSetupError
from desktop_app.runtimes import go as go_runtime
from desktop_app.runtimes.base import JobContext, positional_call_spec
from desktop_app.runtimes.deno import bare_import_map
from desktop_app.runtimes.sql import duckdb_spec, postgres_spec
from desktop_app.runtimes.sql_statements import split_statements, with_named_placeholders


def test_split_skips_strings_comments_and_dollar_quotes() -> None:
    code = ("-- $1 name\nSELECT $1::text, '50%; $3' AS s, \"a;b\" FROM t WHERE x = $2 OR y = $2;\n"
            "CREATE FUNCTION f() RETURNS int AS $fn$ SELECT 1; /* $1 */ $fn$ LANGUAGE sql;\n"
            "SELECT E'it\\'s; $9', a$1 /* nested /* ; */ still */ ;\n-- only a comment\n")
    stmts = split_statements(code)
    assert len(stmts) == 3
    assert [p.key for p in stmts[0].params] == ["1", "2", "2"]
    assert stmts[1].params == [] and stmts[2].params == []
    assert [s.line for s in stmts] == [1, 2, 3]
    assert with_named_placeholders(stmts[0]).endswith("x = %(p2)s OR y = %(p2)s")
    assert "'50%%; $3'" in with_named_placeholders(stmts[0])
    assert stmts[1].line_at(stmts[1].text.index("CREATE")) == 3


def test_postgres_spec_binds_by_position_with_defaults_and_pin() -> None:
    code = ("-- database f/x/db\n-- $1 name\n-- $2 n (int) = 3\n"
            "SELECT $2, $1;\nSELECT '100%';\n-- %%tbl%% items/orders\nSELECT * FROM %%tbl%%;\n")
    spec = postgres_spec(code, {"name": "ada", "tbl": "orders"})
    assert spec["pin"] == "f/x/db" and spec["database"] is None
    assert spec["values"] == {"p1": "ada", "p2": 3}
    assert spec["types"]["p2"] == "int"
    first, second, third = spec["statements"]
    assert first["params"] == ["p2", "p1"] and "%(p2)s, %(p1)s" in first["text"]
    assert second["text"].strip() == "SELECT '100%'"  # no parameters: sent as written
    assert third["text"].strip().endswith("FROM orders")
    with pytest.raises(ArgumentError, match="one of items, orders"):
        postgres_spec(code, {"name": "ada", "tbl": "users; drop table x"})


def test_duckdb_spec_binds_named_parameters() -> None:
    spec = duckdb_spec("-- $n (int) = 2\n-- $s (text)\nSELECT $s, range FROM range($n);\n",
                       {"s": "x"})
    assert spec["values"] == {"n": 2, "s": "x"}
    assert spec["statements"][0]["params"] == ["s", "n"]


def test_bare_imports_map_to_npm_and_node() -> None:
    code = ('import _ from "lodash";\nimport { readFile } from "fs/promises";\n'
            'import * as w from "windmill-client";\nimport x from "./local.ts";\n'
            'import y from "npm:zod";\nconst z = await import("@scope/pkg/sub");\n')
    assert bare_import_map(code) == {"imports": {
        "lodash": "npm:lodash", "fs/promises": "node:fs/promises",
        "windmill-client": "npm:windmill-client", "@scope/pkg/sub": "npm:@scope/pkg/sub"}}
    assert bare_import_map('import x from "https://deno.land/x.ts";') is None


def test_positional_order_comes_from_the_code_not_the_stored_schema(tmp_path: Path) -> None:
    # jsonb returns keys sorted by length: {"name", "tags", "when", "times"}
    schema = {"properties": {"name": {"type": "string"}, "tags": {"type": "array"},
                             "when": {"type": "string", "format": "date-time"},
                             "times": {"type": "number"}}}
    ctx = JobContext(job_id="j", language="deno", code="export function main(name: string, "
                     "times = 2, when?: Date, tags: string[] = []) {}", args={"name": "a"},
                     schema=schema, lock=None, workdir=tmp_path, env={}, state_dir=tmp_path)
    assert positional_call_spec(ctx) == {"names": ["name", "times", "when", "tags"],
                                         "args": {"name": "a"}, "dates": ["when"]}


def test_missing_go_toolchain_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(go_runtime, "GO_LOCATIONS", ())
    with pytest.raises(RuntimeSetupError) as info:
        go_runtime.find_go("/nonexistent")
    assert "no Go toolchain" in str(info.value) and "apt-get install golang-go" in str(info.value)


def test_go_script_package_and_third_party_imports() -> None:
    assert go_runtime.as_inner_package("package main\n\nfunc main() {}\n").startswith(
        "package inner\n")
    code = 'package inner\n\nimport (\n\t"fmt"\n\tyaml "gopkg.in/yaml.v3"\n)\n'
    assert go_runtime.third_party_imports(code) == ["gopkg.in/yaml.v3"]


async def test_bash_args_follow_the_code_not_the_stored_schema(tmp_path: Path) -> None:
    from desktop_app.runtimes.bash import BashRuntime

    code = 'b_long="$1"\na="$2"\necho "$b_long $a"\n'
    schema = {"properties": {"a": {"type": "string"}, "b_long": {"type": "string"}}}  # jsonb order
    ctx = JobContext(job_id="j", language="bash", code=code, args={"a": "A", "b_long": "B"},
                     schema=schema, lock=None, workdir=tmp_path, env={}, state_dir=tmp_path)
    launch = await BashRuntime().prepare(ctx)
    assert launch.argv[-2:] == ["B", "A"]
