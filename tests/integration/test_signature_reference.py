"""Our signature parsers and schema inference against Windmill's own published code.

The oracle (tests/reference/parse.mjs, run with node) is Windmill's real code from npm:
windmill-parser-wasm-py 1.782.0 (parse_python), windmill-parser-wasm-regex 1.764.0 (parse_bash)
and windmill-utils-internal 1.7.0 (argSigToJsonSchemaType, the per-property conversion of the
CLI's inferSchema). Every script of tests/fixtures/signatures goes through both sides.

Known, deliberate differences (asserted below, not hidden):
* an "unknown" type becomes ``type: "object"`` for us where the CLI leaves ``type: ""``;
* Windmill lists the keys of a dict default (and the props typed from it) in hash order, which
  changes from run to run; we keep source order, so those are compared ignoring order;
* a syntax error in the body is reported by us (Windmill does not parse past the signature).
"""

from __future__ import annotations

import copy
import json
import random
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from desktop_app.core.errors import ScriptSyntaxError
from desktop_app.parsing import parse_signature
from desktop_app.parsing.python_signature import parse_python
from desktop_app.parsing.schema import infer_schema, set_property_type
from desktop_app.parsing.signature import MainArgSignature

TESTS = Path(__file__).resolve().parents[1]
REFERENCE_DIR = TESTS / "reference"
FIXTURES = TESTS / "fixtures" / "signatures"
SCRIPTS = sorted(p for p in FIXTURES.iterdir() if p.suffix in (".py", ".sh"))
Oracle = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]


@pytest.fixture(scope="session")
def oracle() -> Oracle:
    node = shutil.which("node")
    assert node, "node (20+) is needed: Windmill's reference parsers run in it"
    if not (REFERENCE_DIR / "node_modules").is_dir():
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
    return "python3" if path.suffix == ".py" else "bash"


def code_of(path: Path) -> str:
    return path.read_bytes().decode()  # keep \r\n as written


@pytest.fixture(scope="session")
def reference_signatures(oracle: Oracle) -> dict[str, dict[str, Any]]:
    answers = oracle([{"language": language(p), "code": code_of(p)} for p in SCRIPTS])
    return {p.name: a for p, a in zip(SCRIPTS, answers, strict=True)}


def test_corpus_covers_both_languages() -> None:
    assert sum(p.suffix == ".py" for p in SCRIPTS) >= 25
    assert sum(p.suffix == ".sh" for p in SCRIPTS) >= 6


# --- comparison helpers ------------------------------------------------------------------------


def same_json(a: Any, b: Any) -> bool:
    """Equal as JSON, telling 1 from 1.0 and true from 1; object key order ignored."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def ordered(value: Any) -> Any:
    """Sort what Windmill emits in hash order: anonymous object props and dict defaults."""
    if isinstance(value, dict):
        if "object" in value and isinstance(value["object"], dict) \
                and value["object"].get("name") is None and value["object"].get("props"):
            props = sorted(value["object"]["props"], key=lambda p: p["key"])
            return {"object": {"name": None, "props": [ordered(p) for p in props]}}
        return {k: ordered(v) for k, v in value.items()}
    if isinstance(value, list):
        return [ordered(v) for v in value]
    return value


def normalised(sig: dict[str, Any]) -> MainArgSignature:
    out = copy.deepcopy(sig)
    for arg in out["args"]:
        arg["typ"] = ordered(arg["typ"])
        arg["default"] = sort_keys(arg["default"])
    return out  # type: ignore[return-value]


def sort_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: sort_keys(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [sort_keys(v) for v in value]
    return value


def unknown_as_object(prop: Any) -> Any:
    """The CLI's ``type: ""`` for unknown types is our ``type: "object"``."""
    if isinstance(prop, dict):
        if prop.get("type") == "":
            prop["type"] = "object"
        for key in ("properties",):
            if isinstance(prop.get(key), dict):
                for sub in prop[key].values():
                    unknown_as_object(sub)
        if isinstance(prop.get("items"), dict):
            unknown_as_object(prop["items"])
        for variant in prop.get("oneOf") or []:
            unknown_as_object(variant)
    return prop


# --- parsers -----------------------------------------------------------------------------------


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_parser_matches_windmill(script: Path,
                                 reference_signatures: dict[str, dict[str, Any]]) -> None:
    theirs = reference_signatures[script.name]
    assert "args" in theirs, f"Windmill's parser failed on {script.name}: {theirs}"
    ours = parse_signature(code_of(script), language(script))
    assert [a["name"] for a in ours["args"]] == [a["name"] for a in theirs["args"]]
    for mine, ref in zip(ours["args"], theirs["args"], strict=True):
        where = f"{script.name}: {mine['name']}"
        assert ordered(mine["typ"]) == ordered(ref["typ"]), where
        assert same_json(mine["default"], ref["default"]), where
        assert mine["has_default"] is ref["has_default"], where
        assert mine["otyp"] == ref["otyp"], where
    for key in ("star_args", "star_kwargs", "auto_kind", "has_preprocessor"):
        assert ours[key] == theirs[key], f"{script.name}: {key}"
    assert json.dumps(normalised(dict(ours))) == json.dumps(normalised(theirs))


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_schema_matches_windmill(script: Path,
                                 reference_signatures: dict[str, dict[str, Any]]) -> None:
    ours = normalised(dict(parse_signature(code_of(script), language(script))))
    theirs = normalised(reference_signatures[script.name])
    fresh = infer_schema(ours)
    assert json.dumps(fresh) == json.dumps(infer_schema(theirs))
    # Re-inferring over a schema the user edited keeps the edits, identically.
    edited = copy.deepcopy(fresh)
    for index, prop in enumerate(edited["properties"].values()):
        prop["description"] = f"edited {index}"
        prop["title"] = f"Title {index}"
        if prop["type"] in ("integer", "number"):
            prop["min"] = 0
    edited["properties"]["vanished"] = {"description": "", "type": "string"}
    again = infer_schema(ours, edited)
    assert json.dumps(again) == json.dumps(infer_schema(theirs, edited))
    assert "vanished" not in again["properties"]
    assert all(p["description"].startswith("edited") for p in again["properties"].values())


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
        assert json.dumps(ours) == json.dumps(unknown_as_object(answer)), arg["name"]


# --- property merge: randomised, deterministic ------------------------------------------------

SIMPLE = ["int", "float", "bool", "bytes", "datetime", "date", "email", "sql", "yaml", "unknown"]
OLD_KEYS = ["description", "type", "format", "enum", "originalType", "items", "contentEncoding",
            "default", "min", "max", "title", "placeholder", "pattern", "password",
            "customErrorMessage", "showExpr", "properties", "oneOf", "required", "order",
            "dateFormat", "nullable", "currency", "x-custom"]


def random_typ(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(10)
    if kind < 4 or depth > 2:
        return rng.choice(SIMPLE)
    if kind == 4:
        return {"str": rng.choice([None, None, ["a", "b"], ["x"]])}
    if kind == 5:
        return {"resource": rng.choice(["postgresql", "s3_object", "X"])}
    if kind == 6:
        props = rng.choice([None, [], [{"key": rng.choice("abc"), "typ": random_typ(rng, depth + 1)}
                                       for _ in range(rng.randrange(3))]])
        return {"object": {"name": rng.choice([None, "N", None]), "props": props}}
    if kind == 7:
        return {"list": random_typ(rng, depth + 1)}
    if kind == 8:
        return {rng.choice(["dynselect", "dynmultiselect"]): "f"}
    return {"oneof": [{"label": rng.choice(["V1", "V2"]),
                       "properties": [{"key": rng.choice("ab"), "typ": random_typ(rng, depth + 1)}]}
                      for _ in range(rng.randrange(1, 3))]}


def random_old(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    values: dict[str, Callable[[], Any]] = {
        # Never "": that is the fresh property, where the unknown rule differs on purpose.
        "type": lambda: rng.choice(["string", "integer", "number", "boolean", "object", "array"]),
        "format": lambda: rng.choice(["date", "date-time", "email", "sql", "resource-x", "x", ""]),
        "enum": lambda: rng.choice([["a"], [], None, ["q", "r"]]),
        "originalType": lambda: rng.choice(["string", "enum", "bytes", "number[]", "string[]"]),
        "items": lambda: rng.choice([
            {"type": "string"}, {"type": "number"}, {"type": "string", "enum": ["z"]}, {},
            {"type": "object", "properties": {"a": {"type": "integer", "min": 1}}},
            {"type": "resource", "resourceType": "y", "extra": 1}, {"type": None, "enum": [1]}]),
        "properties": lambda: {rng.choice("abc"): random_old(rng, depth + 1)
                               for _ in range(rng.randrange(3))} if depth < 2 else {},
        "oneOf": lambda: [{"type": "object", "title": rng.choice(["V1", "V2"]),
                           "properties": {rng.choice("ab"): random_old(rng, depth + 1)}}]
        if depth < 2 else [],
    }
    keys = rng.sample(OLD_KEYS, rng.randrange(0, 7))
    return {k: values.get(k, lambda: rng.choice(["v", 1, True, ["l"], None]))() for k in keys}


def test_property_merge_matches_windmill(oracle: Oracle) -> None:
    rng = random.Random(20240501)
    cases = [(random_typ(rng), rng.choice([{"description": "", "type": ""}, random_old(rng),
                                           random_old(rng)])) for _ in range(3000)]
    answers = oracle([{"property": typ, "old": old} for typ, old in cases])
    mismatches = []
    for (typ, old), answer in zip(cases, answers, strict=True):
        if set(answer) == {"error"}:
            continue  # Windmill threw (e.g. a null nested property): nothing to compare
        ours = copy.deepcopy(old)
        set_property_type(typ, ours)
        if json.dumps(ours) != json.dumps(unknown_as_object(answer)):
            mismatches.append((typ, old, answer, ours))
    assert not mismatches, json.dumps(mismatches[:3], indent=1)


# --- behaviours where we deliberately differ ---------------------------------------------------


def test_body_syntax_error_is_ours_alone(oracle: Oracle) -> None:
    code = "def main(a: int):\n    x = (\n"
    (theirs,) = oracle([{"language": "python3", "code": code}])
    assert theirs["args"][0]["typ"] == "int"  # Windmill stops reading at the signature
    with pytest.raises(ScriptSyntaxError) as caught:
        parse_python(code)
    assert caught.value.line == 2


def test_main_override_matches(oracle: Oracle) -> None:
    code = "def run(a: int):\n    pass\ndef main(b: str):\n    pass\n"
    (theirs,) = oracle([{"language": "python3", "code": code, "main_override": "run"}])
    assert json.dumps(parse_python(code, "run")) == json.dumps(theirs)
