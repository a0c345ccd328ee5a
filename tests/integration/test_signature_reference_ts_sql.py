"""Our TypeScript, SQL and Go signature parsers against Windmill's own published parsers.

The oracle (tests/reference/parse.mjs, run with node) is Windmill's real code from npm:
windmill-parser-wasm-ts 1.695.0 (parse_deno, used for deno, bun and nativets),
windmill-parser-wasm-regex 1.764.0 (parse_sql, parse_mysql, … and parse_db_resource),
windmill-parser-wasm-go 1.761.0 (parse_go) and windmill-utils-internal 1.7.0
(argSigToJsonSchemaType). Every .ts, .sql and .go script of tests/fixtures/signatures goes
through both sides and must give the same MainArgSignature, key for key.

Known, deliberate differences (asserted below, not hidden):
* the ``database`` argument Windmill's forms add to SQL scripts is not part of the wasm
  parser's output; ours puts it first (parse_sql), so it is removed before comparing;
* a syntax error in a TypeScript body is not ours to find (we read tokens and brackets, not
  statements); Windmill, which parses the whole file, rejects the script;
* a default Windmill would evaluate as real JavaScript but we cannot (a variable, a call) has no
  value for us, where Windmill gets one or fails the whole parse;
* a recursive type alias below other aliases is expanded less deeply than Windmill does.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from desktop_app.parsing import language_from_filename, parse_signature, script_schema
from desktop_app.parsing.schema import infer_schema
from desktop_app.parsing.sql_signature import DIALECTS, database_resource, sql_database_pin
from desktop_app.parsing.typescript_signature import parse_typescript

TESTS = Path(__file__).resolve().parents[1]
REFERENCE_DIR = TESTS / "reference"
FIXTURES = TESTS / "fixtures" / "signatures"
SCRIPTS = sorted(p for p in FIXTURES.iterdir() if p.suffix in (".ts", ".sql", ".go"))
TS_LANGUAGES = ("deno", "bun", "nativets")
Oracle = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]


@pytest.fixture(scope="session")
def oracle() -> Oracle:
    node = shutil.which("node")
    assert node, "node (20+) is needed: Windmill's reference parsers run in it"
    if not (REFERENCE_DIR / "node_modules" / "windmill-parser-wasm-ts").is_dir():
        npm = shutil.which("npm")
        assert npm, "npm is needed to install Windmill's reference parsers"
        subprocess.run([npm, "ci", "--prefix", str(REFERENCE_DIR), "--no-audit", "--no-fund"],
                       check=True, capture_output=True, timeout=600)

    def ask(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        lines = "".join(json.dumps(r) + "\n" for r in requests)
        done = subprocess.run([node, str(REFERENCE_DIR / "parse.mjs")], input=lines,
                              capture_output=True, text=True, timeout=300, check=True)
        answers = [json.loads(line) for line in done.stdout.splitlines()]
        assert len(answers) == len(requests), done.stderr
        return answers

    return ask


def language(path: Path) -> str:
    found = language_from_filename(path.name)
    assert found, path.name
    return found


def code_of(path: Path) -> str:
    return path.read_bytes().decode()  # keep \r\n as written


def parser_output(code: str, lang: str) -> dict[str, Any]:
    """Our signature without the injected ``database`` argument (not the parser's)."""
    sig = dict(parse_signature(code, lang))
    if lang in DIALECTS and database_resource(code, lang) is not None:
        first = sig["args"][0]
        assert first["name"] == "database" and not first["has_default"]
        sig["args"] = sig["args"][1:]
    return sig


@pytest.fixture(scope="session")
def reference_signatures(oracle: Oracle) -> dict[str, dict[str, Any]]:
    answers = oracle([{"language": language(p), "code": code_of(p)} for p in SCRIPTS])
    return {p.name: a for p, a in zip(SCRIPTS, answers, strict=True)}


def test_corpus_covers_the_languages() -> None:
    languages = [language(p) for p in SCRIPTS]
    assert sum(lang in TS_LANGUAGES for lang in languages) >= 20
    assert {"deno", "bun", "nativets"} <= set(languages)
    assert sum(lang in DIALECTS for lang in languages) >= 12
    assert set(DIALECTS) <= set(languages)
    assert languages.count("go") >= 3


# --- parsers -----------------------------------------------------------------------------------


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_parser_matches_windmill(script: Path,
                                 reference_signatures: dict[str, dict[str, Any]]) -> None:
    theirs = reference_signatures[script.name]
    assert "args" in theirs, f"Windmill's parser failed on {script.name}: {theirs}"
    ours = parser_output(code_of(script), language(script))
    assert [a["name"] for a in ours["args"]] == [a["name"] for a in theirs["args"]]
    for mine, ref in zip(ours["args"], theirs["args"], strict=True):
        assert json.dumps(mine) == json.dumps(ref), f"{script.name}: {mine['name']}"
    # Key for key, 1 told from 1.0, key order included.
    assert json.dumps(ours) == json.dumps(theirs)


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_schema_matches_windmill(script: Path,
                                 reference_signatures: dict[str, dict[str, Any]]) -> None:
    ours = parser_output(code_of(script), language(script))
    theirs = reference_signatures[script.name]
    assert json.dumps(infer_schema(ours)) == json.dumps(infer_schema(theirs))  # type: ignore[arg-type]


def test_schema_properties_are_windmills_conversion(
        oracle: Oracle, reference_signatures: dict[str, dict[str, Any]]) -> None:
    """Every argument of the corpus: our property == argSigToJsonSchemaType's, key order too."""
    args = [arg for sig in reference_signatures.values() for arg in sig["args"]]
    answers = oracle([{"property": arg["typ"]} for arg in args])
    for arg, answer in zip(args, answers, strict=True):
        sig = {"star_args": False, "star_kwargs": False, "args": [arg], "auto_kind": None,
               "has_preprocessor": None}
        ours = infer_schema(sig)["properties"][arg["name"]]  # type: ignore[arg-type]
        ours.pop("default")
        if answer.get("type") == "":
            answer["type"] = "object"  # the CLI's "" for unknown types is our "object"
        assert json.dumps(ours) == json.dumps(answer), arg["name"]


@pytest.mark.parametrize("script", [p for p in SCRIPTS if p.suffix == ".sql"],
                         ids=[p.name for p in SCRIPTS if p.suffix == ".sql"])
def test_database_pin_matches_windmill(script: Path, oracle: Oracle) -> None:
    (answer,) = oracle([{"db_resource": code_of(script)}])
    assert sql_database_pin(code_of(script)) == answer["pin"]


@pytest.mark.parametrize("code", [
    "-- database f/x/db\nselect 1", "--database f/x", "-- database  f/x ", "-- database f/x ",
    "  -- database f/x", "-- database f/x extra", "-- database f/a\n-- database f/b",
    "-- DATABASE f/x", "-- database f/x\r\nselect 1", "select 1\n-- database u/a/b",
])
def test_database_pin_forms(code: str, oracle: Oracle) -> None:
    (answer,) = oracle([{"db_resource": code}])
    assert sql_database_pin(code) == answer["pin"]


def test_injected_database_argument() -> None:
    code = "-- $1 id (int)\nSELECT $1"
    schema = script_schema(code, "postgresql")
    assert list(schema["properties"]) == ["database", "id"]
    assert schema["properties"]["database"] == {
        "description": "", "type": "object", "format": "resource-postgresql"}
    assert schema["required"] == ["database", "id"]
    kept = script_schema(code, "postgresql",
                         {"properties": {"database": {"description": "db", "type": "object",
                                                      "default": "$res:f/db"}}})
    # Windmill sets the default to undefined: even a chosen default disappears.
    assert kept["properties"]["database"] == {
        "description": "db", "type": "object", "format": "resource-postgresql"}
    formats = {dialect: script_schema("select 1", dialect)["properties"].get("database")
               for dialect in DIALECTS}
    assert {d: (p or {}).get("format") for d, p in formats.items()} == {
        "postgresql": "resource-postgresql", "mysql": "resource-mysql",
        "bigquery": "resource-bigquery", "snowflake": "resource-snowflake",
        "mssql": "resource-ms_sql_server", "oracledb": "resource-oracledb", "duckdb": None}
    pinned = script_schema("-- database f/x/db\n" + code, "postgresql")
    assert list(pinned["properties"]) == ["id"]


# --- behaviours where we deliberately differ ---------------------------------------------------


def test_typescript_body_syntax_error_is_windmills_alone(oracle: Oracle) -> None:
    code = "export async function main(a: string) { const x = }"
    (theirs,) = oracle([{"language": "deno", "code": code}])
    assert "args" not in theirs
    assert parse_typescript(code)["args"][0]["name"] == "a"


def test_defaults_we_cannot_evaluate(oracle: Oracle) -> None:
    code = "export async function main(a = {x: Math.PI}, b = {y}) {}"
    (theirs,) = oracle([{"language": "deno", "code": code.replace(", b = {y}", "")}])
    assert theirs["args"][0]["default"] == {"x": 3.141592653589793}
    (failed,) = oracle([{"language": "deno", "code": code}])
    assert "args" not in failed  # {y}: a ReferenceError in Windmill's evaluation
    ours = parse_typescript(code)["args"]
    assert [(a["typ"], a["default"], a["has_default"]) for a in ours] == [
        ("unknown", None, True), ("unknown", None, True)]


def test_recursive_alias_depth(oracle: Oracle) -> None:
    direct = "type A = {r: A}\nexport async function main(x: A, y: A) {}"
    (theirs,) = oracle([{"language": "deno", "code": direct}])
    assert json.dumps(parse_typescript(direct)["args"]) == json.dumps(theirs["args"])
    below = "type A = {r: A}\ntype B = {a: A}\nexport async function main(x: B) {}"
    (theirs,) = oracle([{"language": "deno", "code": below}])

    def depth(typ: Any) -> int:
        props = typ["object"]["props"]
        return 1 + max((depth(p["typ"]) for p in props), default=0) if props else 0

    assert depth(theirs["args"][0]["typ"]) == 4
    assert depth(parse_typescript(below)["args"][0]["typ"]) == 3
