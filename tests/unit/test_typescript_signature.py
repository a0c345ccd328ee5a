"""parse_typescript: WINDMILL_SCHEMA.md §4 (TypeScript) and WINDMILL.md §4.4.

Expected values are what windmill-parser-wasm-ts 1.695.0 returns for the same code (checked
while writing these tests; the integration test compares the fixtures with it directly).
"""

from __future__ import annotations

from typing import Any

import pytest

from desktop_app.core.errors import ScriptSyntaxError
from desktop_app.parsing import script_metadata, script_schema
from desktop_app.parsing.ts_resolve import snake_case
from desktop_app.parsing.typescript_signature import parse_typescript

STR: dict[str, Any] = {"str": None}


def obj(name: str | None, /, **props: Any) -> dict[str, Any]:
    return {"object": {"name": name, "props": [{"key": k, "typ": v} for k, v in props.items()]}}


def typ_of(annotation: str, prelude: str = "") -> Any:
    return parse_typescript(f"{prelude}export async function main(x: {annotation}) {{}}"
                            )["args"][0]["typ"]


def arg_of(param: str, prelude: str = "") -> tuple[Any, Any, bool]:
    arg = parse_typescript(f"{prelude}export async function main({param}) {{}}")["args"][0]
    return arg["typ"], arg["default"], arg["has_default"]


def test_full_output_shape() -> None:
    assert parse_typescript('export async function main(a: string, b = 2) {}') == {
        "star_args": False, "star_kwargs": False,
        "args": [
            {"name": "a", "otyp": None, "typ": STR, "default": None, "has_default": False,
             "oidx": None},
            {"name": "b", "otyp": None, "typ": "int", "default": 2, "has_default": True,
             "oidx": None},
        ],
        "auto_kind": None, "has_preprocessor": False,
    }


@pytest.mark.parametrize(("annotation", "typ"), [
    ("string", STR), ("number", "float"), ("bigint", "int"), ("boolean", "bool"),
    ("object", obj(None)), ("{}", obj(None)), ("any", "unknown"), ("unknown", "unknown"),
    ("never", "unknown"), ("null", "unknown"), ("void", "unknown"),
    ("Date", "datetime"), ("Base64", "bytes"), ("Email", "email"), ("Sql", "sql"),
    ('Resource<"pg">', {"resource": "pg"}), ("Resource<'pg'>", {"resource": "pg"}),
    ('wmill.Resource<"gh">', {"resource": "gh"}), ("Resource<string>", {"resource": "unknown"}),
    ("RT.Stripe", {"resource": "stripe"}), ("Foo.Bar.Baz", {"resource": "baz"}),
    ("S3Object", {"resource": "s3_object"}), ("IonResource", {"resource": "ion_resource"}),
    ("Record<string, any>", {"resource": "record"}), ("Object", {"resource": "object"}),
    ("Array<string>", {"resource": "array"}),  # Windmill: not a list
    ("Promise<string>", {"resource": "promise"}),
    ("DynSelect_foo", {"dynselect": "foo"}), ("DynMultiselect_x", {"dynmultiselect": "x"}),
    ("string[]", {"list": STR}), ("number[][]", {"list": {"list": "float"}}),
    ("Date[]", {"list": "datetime"}), ("S3Object[]", {"list": {"resource": "s3_object"}}),
    ("{a: string}[]", {"list": obj(None, a=STR)}), ("any[]", {"list": "unknown"}),
    ('"a" | "b"', {"str": ["a", "b"]}), ('"only"', {"str": ["only"]}),
    ('| "a" | "b"', {"str": ["a", "b"]}), ('("a" | "b")[]', {"list": {"str": ["a", "b"]}}),
    ('"a" | "b" | string', {"str": ["a", "b"]}), ("string | string", {"str": []}),
    ("1 | 2", "unknown"), ('"a" | 1', "unknown"), ('"a" | ("b" | "c")', "unknown"),
    ("string | number", "unknown"), ("(string)", STR), ("A & B", "unknown"),
    ("() => void", "unknown"), ("[string, number]", "unknown"), ("readonly string[]", "unknown"),
    ("keyof X", "unknown"), ("typeof y", "unknown"), ("`a`", "unknown"), ("true", "unknown"),
    ("T extends U ? X : Y", "unknown"), ("{[K in keyof T]: string}", "unknown"),
])
def test_annotation_types(annotation: str, typ: Any) -> None:
    assert typ_of(annotation) == typ


@pytest.mark.parametrize(("param", "expected"), [
    ("x?: string", (STR, None, True)),
    ("x: string | null", (STR, None, True)),
    ("x: null | string", (STR, None, True)),
    ("x: string | undefined", (STR, None, True)),
    ('x: "a" | "b" | null', ({"str": ["a", "b"]}, None, True)),
    ("x: string | null | undefined", ({"str": []}, None, True)),  # Windmill's quirk
    ("x: number | null | undefined", ("unknown", None, False)),  # three members: unknown
    ("x: Date | null", ("datetime", None, True)),
    ("x: string | (null)", ("unknown", None, False)),
    ("x: undefined | null", ("unknown", None, True)),
])
def test_optional_forms(param: str, expected: tuple[Any, Any, bool]) -> None:
    assert arg_of(param) == expected


def test_object_types_keep_identifier_members_only() -> None:
    annotation = ('{a: string; b?: number, "c-d": boolean, 1: string, [k: string]: any, '
                  "m(): void, get g(): string, readonly r: bigint, plain}")
    assert typ_of(annotation) == obj(None, a=STR, b="float", r="int", plain="unknown")


def test_one_of_needs_a_kind_or_label_literal_in_every_member() -> None:
    union = '{kind: "circle"; r: number} | {label: "B", kind: "sq"}'
    assert typ_of(union) == {"oneof": [
        {"label": "circle", "properties": [{"key": "kind", "typ": {"str": ["circle"]}},
                                           {"key": "r", "typ": "float"}]},
        {"label": "B", "properties": [{"key": "label", "typ": {"str": ["B"]}},
                                      {"key": "kind", "typ": {"str": ["sq"]}}]},
    ]}
    assert typ_of('{type: "a"} | {type: "b"}') == "unknown"
    assert typ_of('{kind: "a"} | {}') == "unknown"
    assert typ_of('{kind: "a"} | {kind: "b"} | null') == "unknown"
    assert arg_of('x: {kind: "a"} | null') == (obj(None, kind={"str": ["a"]}), None, True)


@pytest.mark.parametrize(("name", "snake"), [
    ("WooCommerce", "woo_commerce"), ("HTTPServer", "http_server"), ("OAuth2Token",
                                                                      "o_auth2_token"),
    ("S3Object", "s3_object"), ("X1Y", "x1_y"), ("Foo12bar", "foo12bar"), ("FOO_BAR", "foo_bar"),
    ("Foo__Bar", "foo_bar"), ("_Foo", "foo"), ("FOo", "f_oo"), ("myABCType", "my_abc_type"),
    ("Foo$Bar", "foo$bar"), ("ÉtéX", "été_x"), ("_", ""),
])
def test_snake_case(name: str, snake: str) -> None:
    assert snake_case(name) == snake


def test_declared_aliases_and_interfaces() -> None:
    prelude = (
        "type Woo = {url: string, key?: string}\n"
        'type Color = "red" | "blue"\n'
        "type Ref = Woo\n"
        'type R = Resource<"pg">\n'
        "type L = {a: string}[]\n"
        "type O = object\n"
        "type N = Woo | null\n"
        "interface Base {id: string}\n"
        "interface Named extends Base, Missing {name: string}\n"
        "type Date = {shadowed: true}\n"
    )
    woo = obj("woo", url=STR, key=STR)
    assert typ_of("Woo", prelude) == woo
    assert typ_of("Color", prelude) == {"str": ["red", "blue"]}
    assert typ_of("Ref", prelude) == woo  # the innermost alias names the object
    assert typ_of("R", prelude) == {"resource": "r"}  # the alias names the resource
    assert typ_of("L", prelude) == {"list": obj("l", a=STR)}
    assert typ_of("O", prelude) == obj("o")
    assert arg_of("x: N", prelude) == (woo, None, True)
    assert typ_of("Named", prelude) == obj("named", id=STR, name=STR)
    assert typ_of("Date", prelude) == "datetime"  # Windmill's names win
    assert typ_of("wmill.Woo", prelude) == woo
    assert typ_of("Undeclared") == {"resource": "undeclared"}


def test_aliases_declared_anywhere_at_top_level_only() -> None:
    code = ("export async function main(a: Later, b: Hidden) {}\n"
            "type Later = {q: string}\n"
            "function f() { type Hidden = {x: string} }\n")
    args = parse_typescript(code)["args"]
    assert [a["typ"] for a in args] == [obj("later", q=STR), {"resource": "hidden"}]


def test_recursive_alias_is_cut() -> None:
    code = "type A = {r: A}\nexport async function main(x: A, y: A) {}"
    x, y = (a["typ"] for a in parse_typescript(code)["args"])
    cut = {"object": {"name": "a", "props": None}}
    assert x == obj("a", r=obj("a", r=cut))
    assert y == obj("a", r=cut)  # the first complete expansion is reused


@pytest.mark.parametrize(("default", "typ", "value"), [
    ('"s"', STR, "s"), ("'s'", STR, "s"), ("1", "int", 1), ("1.0", "int", 1),
    ("1.5", "float", 1.5), ("1e3", "int", 1000), ("0x10", "int", 16), ("1_000", "int", 1000),
    ("1e19", "float", 10**19), ("1e20", "float", 1e20), ("true", "bool", True),
    ("10n", {"list": "int"}, [1, [10]]), ("0n", {"list": "int"}, [0, []]),
    ("-1", "unknown", None), ("null", "unknown", None), ("undefined", "unknown", None),
    ("`t`", "unknown", None), ("DEFAULT", "unknown", None), ("f()", "unknown", None),
    ('"s" as const', "unknown", None), ("(1)", "unknown", None), ("1e400", "unknown", None),
    ("[]", {"list": "unknown"}, []), ("[1, 2]", {"list": "int"}, [1, 2]),
    ("[1.0]", {"list": "float"}, [1.0]),  # read as JSON: the float stays
    ("{a: 1.0}", obj(None, a="int"), {"a": 1}),  # evaluated: a safe integer
    ('{"a": 1.0}', obj(None, a="float"), {"a": 1.0}),
    ('["a", 1]', {"list": STR}, ["a", 1]), ("[[1]]", {"list": {"list": "int"}}, [[1]]),
    ("{a: {b: [1]}}", obj(None, a=obj(None, b={"list": "int"})), {"a": {"b": [1]}}),
    ("[1, , 2]", {"list": "int"}, [1, None, 2]), ("[NaN]", {"list": "unknown"}, [None]),
    ("{a: 1 + 1}", obj(None, a="int"), {"a": 2}), ('["a" + 1.5]', {"list": STR}, ["a1.5"]),
    ("{b: 1, 2: 2, 1: 3}", obj(None, **{"1": "int", "2": "int", "b": "int"}),
     {"1": 3, "2": 2, "b": 1}),
    ("[9007199254740993]", {"list": "int"}, [9007199254740993]),
    ("{a: 2**53}", obj(None, a="float"), {"a": 9007199254740992.0}),
    ("{a: () => 1}", "unknown", None), ("{a}", "unknown", None),
])
def test_defaults(default: str, typ: Any, value: Any) -> None:
    got_typ, got_value, has_default = arg_of(f"x = {default}")
    assert (got_typ, got_value, has_default) == (typ, value, True)
    assert type(got_value) is type(value)


def test_annotation_wins_unless_unknown() -> None:
    assert arg_of("x: number = 1000") == ("float", 1000, True)
    assert arg_of("x: string = 5") == (STR, 5, True)
    assert arg_of("x: any = 5") == ("int", 5, True)
    assert arg_of("x: unknown = [1]") == ({"list": "int"}, [1], True)
    assert arg_of("x: number = -1") == ("float", None, True)
    assert arg_of("x: any[] = [1]") == ({"list": "unknown"}, [1], True)


def test_destructured_parameters_are_anonymous() -> None:
    code = ("export async function main({a}: {a: string}, b: string, {c} = {c: 1}, "
            "{d}?: X) {}")
    args = parse_typescript(code)["args"]
    assert [(a["name"], a["typ"], a["default"], a["has_default"]) for a in args] == [
        ("anon1", obj(None, a=STR), None, False), ("b", STR, None, False),
        ("anon2", obj(None, c="int"), {"c": 1}, True), ("anon3", {"resource": "x"}, None, False)]


@pytest.mark.parametrize("param", ["...rest: string[]", "[a, b]: string[]"])
def test_rest_and_array_patterns_are_refused(param: str) -> None:
    with pytest.raises(ScriptSyntaxError):
        parse_typescript(f"export async function main({param}) {{}}")


@pytest.mark.parametrize(("code", "names"), [
    ("export function main(a) {}", ["a"]),
    ("async function main(a) {}", ["a"]),
    ("export function* main(a) {}", ["a"]),
    ("export async function main(a) {}\nexport async function main(b) {}", ["b"]),
    ("declare function main(a: string): void\nexport function main(b: number) {}", ["b"]),
    ("export function main(a: string): void;\nexport function main(z: any) {}", ["z"]),
    ("const f = function main(a) {}\nexport function main(b) {}", ["b"]),
    ("// export function main(a) {}\nconst s = `function main(c) {}`\nfunction main(b) {}",
     ["b"]),
])
def test_which_main(code: str, names: list[str]) -> None:
    assert [a["name"] for a in parse_typescript(code)["args"]] == names


@pytest.mark.parametrize("code", [
    "export default async function main(a: string) {}",
    "export const main = async (a: string) => {}",
    "namespace X { export async function main(a: string) {} }",
    "class K { main(a: string) {} }",
    "",
])
def test_no_main_is_a_library(code: str) -> None:
    sig = parse_typescript(code)
    assert (sig["args"], sig["auto_kind"]) == ([], "lib")


def test_preprocessor() -> None:
    assert parse_typescript("function preprocessor(e) {}\nexport function main() {}"
                            )["has_preprocessor"] is True
    assert parse_typescript("export const preprocessor = (e) => e\nexport function main() {}"
                            )["has_preprocessor"] is False
    lib = parse_typescript("export async function preprocessor(e) {}")
    assert (lib["auto_kind"], lib["has_preprocessor"]) == ("lib", True)


def test_main_override() -> None:
    code = "export function run(a: number) {}\nexport function main(b: string) {}"
    assert [a["name"] for a in parse_typescript(code, "run")["args"]] == ["a"]


def test_tricky_text_does_not_confuse_the_parameters() -> None:
    code = ('export async function main(a: Array<Map<string, number>>, b = "x, y) {", '
            'c = {close: "}"}, d: (x: number) => string, e = /re,)/) {}')
    args = parse_typescript(code)["args"]
    assert [(a["name"], a["typ"], a["default"]) for a in args] == [
        ("a", {"resource": "array"}, None), ("b", STR, "x, y) {"),
        ("c", obj(None, close=STR), {"close": "}"}), ("d", "unknown", None),
        ("e", "unknown", None)]


@pytest.mark.parametrize(("code", "line"), [
    ('export function main(a = "x) {}\n', 1),
    ("const a = 1\nexport function main(a: string {}\n", 2),
    ("/* never closed\nexport function main() {}", 1),
    ("export function main(a: string)) {}", 1),
])
def test_syntax_errors_name_the_line(code: str, line: int) -> None:
    with pytest.raises(ScriptSyntaxError) as caught:
        parse_typescript(code)
    assert caught.value.line == line


def test_schema_and_metadata() -> None:
    code = ('type Slack = {token: string}\n'
            'export async function main(slack: Slack, channel: string, n = 2, '
            'level: "a" | "b" = "a", tags?: string[]) {}\n')
    assert script_schema(code, "bun") == {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {
            "slack": {"description": "", "type": "object", "format": "resource-slack",
                      "properties": {"token": {"description": "", "type": "string",
                                               "originalType": "string"}},
                      "default": None},
            "channel": {"description": "", "type": "string", "originalType": "string",
                        "default": None},
            "n": {"description": "", "type": "integer", "default": 2},
            "level": {"description": "", "type": "string", "originalType": "enum",
                      "enum": ["a", "b"], "default": "a"},
            "tags": {"description": "", "type": "array", "items": {"type": "string"},
                     "originalType": "string[]", "default": None},
        },
        "required": ["slack", "channel"],
    }
    meta = script_metadata("export const x = 1", "nativets")
    assert (meta["no_main_func"], meta["has_preprocessor"]) == (True, False)


def test_a_typescript_workflows_entry_point_is_main() -> None:
    # Windmill's workflow-as-code form: `export const main = workflow(async (…) => …)`.
    code = ('import { workflow } from "windmill-client";\n'
            'export const main = workflow(async (url: string, times: number = 2) => {\n'
            '  return url;\n});\n')
    sig = parse_typescript(code)
    assert [a["name"] for a in sig["args"]] == ["url", "times"]
    assert sig["args"][1]["default"] == 2 and sig["auto_kind"] is None
