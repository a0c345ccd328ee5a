"""infer_schema: WINDMILL_SCHEMA.md §2 (assembly), §3 (per-type rules) and §5 (worked examples).

Properties are compared as JSON text so key order is checked too: it is Windmill's.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from desktop_app.parsing.schema import SCHEMA_URL, infer_schema, property_for, set_property_type
from desktop_app.parsing.signature import Arg, MainArgSignature, make_arg, make_signature

STR = {"str": None}


def dumps(value: Any) -> str:
    return json.dumps(value)


def sig(*args: Arg) -> MainArgSignature:
    return make_signature(list(args), has_preprocessor=False)


# §5: one row per typ shape, the property Windmill CLI 1.819.0 writes (description omitted
# there; every new property starts with "description": "").
WORKED_EXAMPLES: list[tuple[str, Any, Any, dict[str, Any]]] = [
    ("bool", "bool", None, {"type": "boolean", "default": None}),
    ("bytes", "bytes", None, {"type": "string", "contentEncoding": "base64",
                              "originalType": "bytes", "default": None}),
    ("datetime", "datetime", None, {"type": "string", "format": "date-time", "default": None}),
    ("float", "float", 0.7, {"type": "number", "default": 0.7}),
    ("int", "int", 1234, {"type": "integer", "default": 1234}),
    ("list<int>", {"list": "int"}, None,
     {"type": "array", "items": {"type": "number"}, "originalType": "number[]", "default": None}),
    ("list<list<float>>", {"list": {"list": "float"}}, None,
     {"type": "array", "items": {"type": "object"}, "originalType": "object[]", "default": None}),
    ("list<object(anon,noprops)>", {"list": {"object": {"name": None, "props": []}}}, None,
     {"type": "array", "items": {"type": "object"}, "originalType": "record[]", "default": None}),
    ("list<object(anon,props)>",
     {"list": {"object": {"name": None, "props": [
         {"key": "op", "typ": {"str": ["update", "create"]}}, {"key": "ionCustId", "typ": STR}]}}},
     None,
     {"type": "array", "items": {"type": "object", "properties": {
         "op": {"description": "", "type": "string", "originalType": "enum",
                "enum": ["update", "create"]},
         "ionCustId": {"description": "", "type": "string", "originalType": "string"}}},
      "originalType": "record[]", "default": None}),
    ("list<resource>", {"list": {"resource": "ForStatusResult"}}, None,
     {"type": "array", "items": {"type": "resource", "resourceType": "ForStatusResult"},
      "originalType": "resource[]", "default": None}),
    ("list<str>", {"list": STR}, ["or", "lists!"],
     {"type": "array", "items": {"type": "string"}, "originalType": "string[]",
      "default": ["or", "lists!"]}),
    ("list<unknown>", {"list": "unknown"}, [],
     {"type": "array", "items": {"type": "object"}, "originalType": "object[]", "default": []}),
    ("object(anon,noprops)", {"object": {"name": None, "props": []}}, None,
     {"type": "object", "properties": {}, "default": None}),
    ("object(anon,props)", {"object": {"name": None, "props": [{"key": "nested", "typ": STR}]}},
     {"nested": "object"},
     {"type": "object", "properties": {"nested": {"description": "", "type": "string",
                                                  "originalType": "string"}},
      "default": {"nested": "object"}}),
    ("object(named,noprops)", {"object": {"name": "mailgun", "props": []}}, None,
     {"type": "object", "format": "resource-mailgun", "properties": {}, "default": None}),
    ("object(named,props)", {"object": {"name": "User", "props": [{"key": "id", "typ": "int"}]}},
     None,
     {"type": "object", "format": "resource-User",
      "properties": {"id": {"description": "", "type": "integer"}}, "default": None}),
    ("oneof", {"oneof": [{"label": "Variant 1", "properties": [
        {"key": "label", "typ": {"str": ["Variant 1"]}}, {"key": "foo", "typ": STR}]}]}, None,
     {"type": "object", "oneOf": [{"type": "object", "title": "Variant 1", "properties": {
         "label": {"description": "", "type": "string", "originalType": "enum",
                   "enum": ["Variant 1"]},
         "foo": {"description": "", "type": "string", "originalType": "string"}}}],
      "default": None}),
    ("resource", {"resource": "postgresql"}, "$res:f/examples/demodb",
     {"type": "object", "format": "resource-postgresql", "default": "$res:f/examples/demodb"}),
    ("sql", "sql", "SELECT * FROM demo",
     {"type": "string", "format": "sql", "default": "SELECT * FROM demo"}),
    ("str(enum)", {"str": ["utci", "wind"]}, None,
     {"type": "string", "originalType": "enum", "enum": ["utci", "wind"], "default": None}),
    ("str", STR, "Nicolas Bourbaki",
     {"type": "string", "originalType": "string", "default": "Nicolas Bourbaki"}),
    # The CLI writes {"type": ""} here; we write what the web UI and real metadata show.
    ("unknown", "unknown", None, {"type": "object", "default": None}),
]


@pytest.mark.parametrize(("shape", "typ", "default", "expected"), WORKED_EXAMPLES,
                         ids=[row[0] for row in WORKED_EXAMPLES])
def test_worked_examples(shape: str, typ: Any, default: Any, expected: dict[str, Any]) -> None:
    schema = infer_schema(sig(make_arg("x", typ, default=default, has_default=True)))
    assert dumps(schema["properties"]["x"]) == dumps({"description": "", **expected})


@pytest.mark.parametrize(("typ", "expected"), [
    ("email", {"type": "string", "format": "email"}),
    ("yaml", {"type": "string", "format": "yaml"}),
    ("date", {"type": "string", "format": "date"}),
    ({"dynselect": "f"}, {"type": "object", "format": "dynselect-f"}),
    ({"dynmultiselect": "g"}, {"type": "object", "format": "dynmultiselect-g"}),
    ({"list": "float"}, {"type": "array", "items": {"type": "number"}, "originalType": "number[]"}),
    ({"list": "bytes"}, {"type": "array", "items": {"type": "string", "contentEncoding": "base64"},
                         "originalType": "bytes[]"}),
    ({"list": {"str": ["a"]}}, {"type": "array", "items": {"type": "string", "enum": ["a"]},
                                "originalType": "enum[]"}),
    ({"list": {"object": {"name": "N", "props": [{"key": "a", "typ": "int"}]}}},
     {"type": "array", "format": "resource-N", "items": {"type": "object", "properties": {
         "a": {"description": "", "type": "integer"}}}, "originalType": "record[]"}),
    ({"list": "bool"}, {"type": "array", "items": {"type": "object"}, "originalType": "object[]"}),
    ({"list": "datetime"}, {"type": "array", "items": {"type": "object"},
                            "originalType": "object[]"}),
    ({"object": {"name": "R", "props": None}}, {"type": "object", "format": "resource-R"}),
])
def test_other_type_rules(typ: Any, expected: dict[str, Any]) -> None:
    assert dumps(property_for(typ)) == dumps({"description": "", **expected})


def test_new_schema_shape_required_and_defaults() -> None:
    schema = infer_schema(sig(
        make_arg("a", "int"),
        make_arg("b", STR, default="x", has_default=True),
        make_arg("c", "int", default=None, has_default=True),  # Optional / | None
        make_arg("d", "bool"),
    ))
    assert list(schema) == ["$schema", "type", "properties", "required"]
    assert schema["$schema"] == SCHEMA_URL and schema["type"] == "object"
    assert list(schema["properties"]) == ["a", "b", "c", "d"]  # parser order
    assert schema["required"] == ["a", "d"]
    assert schema["properties"]["a"] == {"description": "", "type": "integer", "default": None}
    assert schema["properties"]["c"]["default"] is None  # written even when null
    assert infer_schema(sig()) == {"$schema": SCHEMA_URL, "type": "object", "properties": {},
                                   "required": []}


def test_existing_schema_keeps_user_edits_and_drops_vanished_args() -> None:
    existing = {
        "$schema": SCHEMA_URL, "type": "object", "order": ["b", "a"],
        "properties": {
            "a": {"description": "How many", "type": "integer", "min": 1, "max": 9,
                  "default": 3, "title": "Count"},
            "gone": {"description": "", "type": "string"},
            "b": {"description": "Name", "type": "string", "originalType": "string",
                  "pattern": "^[a-z]+$", "placeholder": "joe", "password": True},
        },
        "required": ["gone"],
    }
    before = copy.deepcopy(existing)
    schema = infer_schema(sig(make_arg("b", STR, default="x", has_default=True),
                              make_arg("a", "int")), existing)
    assert existing == before  # the caller's schema is not modified
    assert list(schema) == ["$schema", "type", "order", "properties", "required"]
    assert list(schema["properties"]) == ["b", "a"]
    assert dumps(schema["properties"]["a"]) == dumps(
        {"description": "How many", "type": "integer", "min": 1, "max": 9, "default": None,
         "title": "Count"})
    assert schema["properties"]["b"]["pattern"] == "^[a-z]+$"
    assert schema["properties"]["b"]["default"] == "x"
    assert schema["required"] == ["a"]


@pytest.mark.parametrize(("typ", "old", "expected"), [
    # A type change: what the new type defines replaces the old; user edits survive, in
    # Windmill's order; stale keys stay.
    ("int", {"description": "d", "type": "string", "format": "email", "pattern": "x",
             "password": True, "placeholder": "p", "title": "T", "originalType": "string"},
     {"description": "d", "originalType": "string", "type": "integer", "pattern": "x",
      "password": True, "title": "T", "placeholder": "p"}),
    ("int", {"type": "array", "items": {"type": "number"}, "originalType": "number[]"},
     {"items": {"type": "number"}, "originalType": "number[]", "type": "integer"}),
    # A plain string keeps an enum the user added; an enum becoming a plain string loses it.
    (STR, {"type": "string", "originalType": "string", "enum": ["x", "y"]},
     {"type": "string", "originalType": "string", "enum": ["x", "y"]}),
    (STR, {"type": "string", "originalType": "enum", "enum": ["x", "y"]},
     {"type": "string", "originalType": "string"}),
    ({"str": ["a"]}, {"type": "string", "originalType": "enum", "enum": ["b"]},
     {"type": "string", "originalType": "enum", "enum": ["a"]}),
    # A string keeps its chosen format; date/date-time are not imposed on a string.
    (STR, {"type": "string", "format": "date"}, {"type": "string", "format": "date",
                                                 "originalType": "string"}),
    ("sql", {"type": "string", "format": "email"}, {"type": "string", "format": "email"}),
    ("datetime", {"type": "string", "originalType": "string"},
     {"type": "string", "originalType": "string"}),
    ("email", {"type": "string"}, {"type": "string", "format": "email"}),
    ("sql", {"type": "string", "format": "email", "items": {"type": "number"}},
     {"type": "string", "format": "sql"}),
    # format goes when the new type is not a string and defines none.
    ("int", {"type": "number", "format": "x"}, {"type": "integer"}),
    ({"resource": "y"}, {"type": "object", "format": "resource-x"},
     {"type": "object", "format": "resource-y"}),
    ({"object": {"name": None, "props": []}}, {"type": "object", "format": "resource-x"},
     {"type": "object", "properties": {}}),
    # items are replaced when the item type changes, kept in place otherwise.
    ({"list": "int"}, {"type": "array", "items": {"type": "string"}, "originalType": "string[]"},
     {"type": "array", "originalType": "number[]", "items": {"type": "number"}}),
    ({"list": STR}, {"type": "array", "items": {"type": "string", "enum": ["a"]},
                     "originalType": "enum[]"},
     {"type": "array", "items": {"type": "string", "enum": ["a"]}, "originalType": "string[]"}),
    # An untyped list keeps the item type picked in the form editor.
    ({"list": "unknown"}, {"type": "array", "items": {"type": "resource", "resourceType": "y",
                                                      "foo": 1}},
     {"type": "array", "items": {"type": "resource", "resourceType": "y"},
      "originalType": "object[]"}),
    # Object properties are merged by key; oneOf variants by title.
    ({"object": {"name": None, "props": [{"key": "a", "typ": "int"}]}},
     {"type": "object", "properties": {"a": {"description": "pa", "type": "integer", "min": 3},
                                       "b": {"type": "string"}}},
     {"type": "object", "properties": {"a": {"description": "pa", "type": "integer", "min": 3}}}),
    ({"oneof": [{"label": "V1", "properties": [{"key": "a", "typ": "int"}]},
                {"label": "V2", "properties": [{"key": "b", "typ": "int"}]}]},
     {"type": "object", "oneOf": [{"type": "object", "title": "V2",
                                   "properties": {"b": {"description": "x", "type": "integer",
                                                        "min": 4}}}]},
     {"type": "object", "oneOf": [
         {"type": "object", "title": "V1", "properties": {"a": {"description": "",
                                                                "type": "integer"}}},
         {"type": "object", "title": "V2", "properties": {"b": {"description": "x",
                                                                "type": "integer", "min": 4}}}]}),
    # unknown keeps the type the user chose; a property without one becomes an object.
    ("unknown", {"description": "d", "type": "integer", "title": "T", "min": 3},
     {"description": "d", "type": "integer", "title": "T", "min": 3}),
    ("unknown", {"description": "d", "title": "T", "min": 3},
     {"description": "d", "type": "object", "min": 3, "title": "T"}),
])
def test_merge_rules(typ: Any, old: dict[str, Any], expected: dict[str, Any]) -> None:
    set_property_type(typ, old)
    assert dumps(old) == dumps(expected)


def test_declared_union_type_becomes_original_type() -> None:
    # Windmill CLI: an otyp with both "[" and "|" overwrites originalType (an SQL quirk that
    # also applies to a Python docstring description).
    schema = infer_schema(sig(make_arg("x", {"list": "int"}, otyp="int[] | null")))
    assert schema["properties"]["x"]["originalType"] == "int[] | null"
    plain = infer_schema(sig(make_arg("y", "int", otyp="how many")))
    assert "originalType" not in plain["properties"]["y"]
