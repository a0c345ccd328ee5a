"""parse_go: Go scripts' ``func main`` as windmill-parser-wasm-go 1.761.0 reads it."""

from __future__ import annotations

from typing import Any

import pytest

from desktop_app.core.errors import ScriptSyntaxError
from desktop_app.parsing import script_schema
from desktop_app.parsing.go_signature import parse_go

STR: dict[str, Any] = {"str": None}
OBJ: dict[str, Any] = {"object": {"name": None, "props": []}}


def args_of(params: str) -> list[tuple[str, Any, str | None]]:
    sig = parse_go(f"package inner\n\nfunc main({params}) (interface{{}}, error) {{\n"
                   "\treturn nil, nil\n}\n")
    return [(a["name"], a["typ"], a["otyp"]) for a in sig["args"]]


def test_output_shape() -> None:
    assert parse_go("package inner\nfunc main(a string) {}\n") == {
        "star_args": False, "star_kwargs": False,
        "args": [{"name": "a", "otyp": "string", "typ": STR, "default": None,
                  "has_default": False, "oidx": None}],
        "auto_kind": None, "has_preprocessor": None,
    }


@pytest.mark.parametrize(("go_type", "typ", "otyp"), [
    ("string", STR, "string"), ("int", "int", "int"), ("int16", "int", "int16"),
    ("int32", "int", "int32"), ("int64", "int", "int64"), ("bool", "bool", "bool"),
    ("int8", "unknown", "int8"), ("uint", "unknown", "uint"), ("float64", "unknown", "float64"),
    ("byte", "unknown", "byte"), ("any", "unknown", "any"), ("MyStruct", "unknown", "MyStruct"),
    ("[]string", {"list": STR}, "[]string"), ("[3]int", {"list": "int"}, "[]int"),
    ("[][]int", {"list": {"list": "int"}}, "[][]int"),
    ("[]float64", {"list": "unknown"}, "[]float64"),
    ("map[string]int", OBJ, "map[string]interface{}"),
    ("[]map[string]string", {"list": OBJ}, "[]map[string]interface{}"),
    ("interface{}", OBJ, "interface{}"), ("interface{ M() }", OBJ, "interface{}"),
    ("*string", "unknown", None), ("time.Time", "unknown", None), ("[]*int", {"list": "unknown"},
                                                                   None),
    ("chan int", "unknown", None), ("func(int) int", "unknown", None),
    ("...string", "unknown", None),
])
def test_types(go_type: str, typ: Any, otyp: str | None) -> None:
    assert args_of(f"x {go_type}") == [("x", typ, otyp)]


def test_structs_use_json_tags_and_the_first_name() -> None:
    params = ('s struct { A, B string; C int `json:"cc,omitempty"`; D struct{ E bool }; '
              'P *int; Y int `yaml:"y" json:"z"`; Embedded }')
    ((name, typ, otyp),) = args_of(params)
    assert name == "s"
    assert typ == {"object": {"name": None, "props": [
        {"key": "A", "typ": STR}, {"key": "cc", "typ": "int"},
        {"key": "D", "typ": {"object": {"name": None, "props": [{"key": "E", "typ": "bool"}]}}},
        {"key": "P", "typ": "unknown"}, {"key": "Y", "typ": "int"},
        {"key": "", "typ": "unknown"}]}}
    assert otyp == ('struct { A string `json:"A"`; C int `json:"cc"`; '
                    'D struct { E bool `json:"E"` } `json:"D"`; P interface{} `json:"P"`; '
                    'Y int `json:"Y"`;  Embedded `json:""` }')
    assert args_of("e struct{}") == [("e", OBJ, "struct {  }")]


def test_grouped_names_and_multiline_parameters() -> None:
    assert args_of("first, last string,\n\tage int, // the age\n") == [
        ("first", STR, "string"), ("last", STR, "string"), ("age", "int", "int")]


def test_the_first_line_starting_with_func_main_wins() -> None:
    code = ("package inner\n// func main(a int)\nvar s = `\nfunc main(b int) {}\n`\n"
            "func main(c string) {}\n")
    assert [a["name"] for a in parse_go(code)["args"]] == ["b"]  # even inside a raw string


@pytest.mark.parametrize("code", [
    "package inner\nfunc notmain(a string) {}", "package inner\nfunc  main(a string) {}",
    "package inner\n  func main(a string) {}", "package inner\nfunc main(a string, b) {}",
    "package inner\nfunc main(a string",
])
def test_errors(code: str) -> None:
    with pytest.raises(ScriptSyntaxError):
        parse_go(code)


def test_schema() -> None:
    code = "package inner\nfunc main(name string, n int, tags []string, f float64) {}\n"
    assert script_schema(code, "go") == {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {
            "name": {"description": "", "type": "string", "originalType": "string",
                     "default": None},
            "n": {"description": "", "type": "integer", "default": None},
            "tags": {"description": "", "type": "array", "items": {"type": "string"},
                     "originalType": "string[]", "default": None},
            "f": {"description": "", "type": "object", "default": None},
        },
        "required": ["name", "n", "tags", "f"],
    }
