"""validate_args / coerce_cli_value: job arguments checked against a script's schema."""

from __future__ import annotations

from typing import Any

import pytest

from desktop_app.core.args import argument_problems, coerce_cli_value, validate_args
from desktop_app.core.errors import ArgumentError
from desktop_app.parsing import script_schema

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "n": {"description": "", "type": "integer"},
        "x": {"description": "", "type": "number"},
        "s": {"description": "", "type": "string", "originalType": "string"},
        "flag": {"description": "", "type": "boolean"},
        "color": {"description": "", "type": "string", "originalType": "enum",
                  "enum": ["red", "green"]},
        "hint": {"description": "", "type": "string", "originalType": "string",
                 "enum": ["suggested"]},
        "blob": {"description": "", "type": "string", "contentEncoding": "base64",
                 "originalType": "bytes"},
        "when": {"description": "", "type": "string", "format": "date-time"},
        "day": {"description": "", "type": "string", "format": "date"},
        "nums": {"description": "", "type": "array", "items": {"type": "number"}},
        "tags": {"description": "", "type": "array", "items": {"type": "string", "enum": ["a"]}},
        "grid": {"description": "", "type": "array", "items": {"type": "object"}},
        "db": {"description": "", "type": "object", "format": "resource-postgresql"},
        "conf": {"description": "", "type": "object", "properties": {}},
        "anything": {"description": "", "type": "object"},
        "untyped": {"description": "", "type": ""},
        "opt": {"description": "", "type": "integer", "default": None},
    },
    "required": ["n", "s"],
}


def check(args: dict[str, Any]) -> ArgumentError:
    with pytest.raises(ArgumentError) as caught:
        validate_args(SCHEMA, args)
    return caught.value


def test_valid_arguments_come_back_unchanged() -> None:
    args = {
        "n": 3, "x": 2, "s": "42", "flag": False, "color": "red", "hint": "free text",
        "blob": "aGVsbG8=", "when": "2024-05-01T12:30:00Z", "day": "2024-05-01",
        "nums": [1, 2.5], "tags": ["a"], "grid": [[1, 2]], "db": "$res:f/demo/db",
        "conf": {"a": 1}, "anything": "text", "untyped": [1], "opt": None, "extra": "kept",
    }
    assert validate_args(SCHEMA, args) is args
    assert validate_args(SCHEMA, {"n": 3.0, "s": "", "db": {"host": "h"}, "x": "$var:u/me/x"})


@pytest.mark.parametrize(("args", "field", "message"), [
    ({"s": "x"}, "n", "argument 'n' is required but was not given"),
    ({"n": "abc", "s": "x"}, "n", "argument 'n': expected an integer, got the string 'abc'"),
    ({"n": 1.5, "s": "x"}, "n", "argument 'n': expected an integer, got the number 1.5"),
    ({"n": True, "s": "x"}, "n", "argument 'n': expected an integer, got the boolean true"),
    ({"n": None, "s": "x"}, "n", "argument 'n': expected an integer, got null"),
    ({"n": 1, "s": 5}, "s", "argument 's': expected a string, got the integer 5"),
    ({"n": 1, "s": "x", "x": "1"}, "x", "argument 'x': expected a number, got the string '1'"),
    ({"n": 1, "s": "x", "flag": "yes"}, "flag", "expected a boolean"),
    ({"n": 1, "s": "x", "color": "blue"}, "color", "'blue' is not one of 'red', 'green'"),
    ({"n": 1, "s": "x", "blob": "not base64!"}, "blob", "not valid base64"),
    ({"n": 1, "s": "x", "when": "yesterday"}, "when", "expected a date-time"),
    ({"n": 1, "s": "x", "day": "2024-13-01"}, "day", "expected a date"),
    ({"n": 1, "s": "x", "nums": "1,2"}, "nums", "expected a list (JSON array)"),
    ({"n": 1, "s": "x", "nums": [1, "2"]}, "nums",
     "argument 'nums': item 2: expected a number, got the string '2'"),
    ({"n": 1, "s": "x", "tags": ["b"]}, "tags", "item 1: 'b' is not one of 'a'"),
    ({"n": 1, "s": "x", "db": "oops"}, "db", "expected a postgresql resource"),
    ({"n": 1, "s": "x", "conf": [1]}, "conf", "expected an object, got a list"),
])
def test_problems_name_the_argument(args: dict[str, Any], field: str, message: str) -> None:
    error = check(args)
    assert error.field == field
    assert message in error.message


def test_all_problems_are_reported_together_in_form_order() -> None:
    error = check({"s": 1, "n": "x", "flag": 0})
    assert error.field == "n"
    assert error.message == ("argument 'n': expected an integer, got the string 'x'; "
                             "argument 's': expected a string, got the integer 1; "
                             "argument 'flag': expected a boolean, got the integer 0")


RULES: dict[str, Any] = {
    "type": "object",
    "order": ["times", "name", "email", "point", "ids"],
    "properties": {
        "name": {"type": "string", "minLength": 2, "maxLength": 5, "pattern": "^[a-z]+$"},
        "times": {"type": "integer", "minimum": 1, "maximum": 10},
        "email": {"type": "string", "format": "email"},
        "code": {"type": "string", "pattern": "^[A-Z]{3}$", "customErrorMessage": "three capitals"},
        "bad_pattern": {"type": "string", "pattern": "(unclosed"},
        "point": {"type": "object", "properties": {"x": {"type": "integer", "minimum": 0},
                                                   "y": {"type": "integer"}},
                  "required": ["x"]},
        "ids": {"type": "array", "items": {"type": "integer", "exclusiveMaximum": 100},
                "maxItems": 3},
        "optional": {"type": "integer", "minimum": 5},
    },
    "required": ["times"],
}


@pytest.mark.parametrize(("args", "message"), [
    ({"times": 0}, "argument 'times': must be at least 1"),
    ({"times": 11}, "argument 'times': must be at most 10"),
    ({"times": 1, "name": "a"}, "argument 'name': needs at least 2 characters"),
    ({"times": 1, "name": "abcdef"}, "argument 'name': allows at most 5 characters"),
    ({"times": 1, "name": "AB"}, "argument 'name': must match ^[a-z]+$"),
    ({"times": 1, "code": "ab"}, "argument 'code': three capitals"),
    ({"times": 1, "email": "ada@"}, "argument 'email': \u201cada@\u201d is not an email address"),
    ({"times": 1, "point": {"x": -1}}, "argument 'point': 'x': must be at least 0"),
    ({"times": 1, "point": {"y": 1}}, "argument 'point': 'x' is required but was not given"),
    ({"times": 1, "point": {"x": 1, "y": "up"}},
     "argument 'point': 'y': expected an integer, got the string 'up'"),
    ({"times": 1, "ids": [1, 100]}, "argument 'ids': item 2: must be less than 100"),
    ({"times": 1, "ids": [1, 2, 3, 4]}, "argument 'ids': allows at most 3 items"),
])
def test_the_whole_schema_is_checked(args: dict[str, Any], message: str) -> None:
    with pytest.raises(ArgumentError) as caught:
        validate_args(RULES, args)
    assert caught.value.message == message
    assert caught.value.field == message.split("'")[1]


def test_rules_pass_good_values_references_and_optional_nulls() -> None:
    good = {"times": 3, "name": "abc", "email": "ada@example.com", "code": "ABC",
            "bad_pattern": "anything", "point": {"x": 0, "y": None}, "ids": [99],
            "optional": None}
    assert validate_args(RULES, good) is good
    assert validate_args(RULES, {"times": "$var:u/me/n", "name": "$var:u/me/name"})


def test_problems_come_in_form_order_with_their_messages() -> None:
    problems = argument_problems(RULES, {"ids": ["x"], "email": "no", "times": 0})
    assert [(p.field, p.message) for p in problems] == [
        ("times", "must be at least 1"),
        ("email", "\u201cno\u201d is not an email address"),
        ("ids", "item 1: expected an integer, got the string 'x'"),
    ]


def test_empty_schema_accepts_anything() -> None:
    assert validate_args({}, {"a": 1}) == {"a": 1}
    with pytest.raises(ArgumentError, match="JSON object"):
        validate_args({}, [1])  # type: ignore[arg-type]


def test_with_an_inferred_schema() -> None:
    schema = script_schema("def main(n: int, names: list[str], when: datetime = None):\n"
                           "    pass\n", "python3")
    assert validate_args(schema, {"n": 1, "names": ["a"], "when": None})
    error = check_with(schema, {"names": [1]})
    assert error.field == "n"
    assert "argument 'names': item 1: expected a string, got the integer 1" in error.message


def check_with(schema: dict[str, Any], args: dict[str, Any]) -> ArgumentError:
    with pytest.raises(ArgumentError) as caught:
        validate_args(schema, args)
    return caught.value


@pytest.mark.parametrize(("prop", "raw", "value"), [
    ({"type": "integer"}, "42", 42), ({"type": "integer"}, " -3 ", -3),
    ({"type": "number"}, "1.5", 1.5), ({"type": "number"}, "2", 2), ({"type": "number"}, "1e3", 1000.0),
    ({"type": "boolean"}, "true", True), ({"type": "boolean"}, "No", False),
    ({"type": "string"}, "42", "42"), ({"type": "string"}, " spaced ", " spaced "),
    ({"type": "string"}, "null", "null"),
    ({"type": "array"}, "[1, 2]", [1, 2]), ({"type": "object"}, '{"a": 1}', {"a": 1}),
    ({"type": "object", "format": "resource-pg"}, "$res:f/x/db", "$res:f/x/db"),
    ({"type": "integer"}, "$var:u/me/n", "$var:u/me/n"),
    ({"type": "integer"}, "null", None),
    ({"type": "object"}, "plain text", "plain text"),  # unknown annotation: anything goes
    ({"type": ""}, "7", 7), ({"type": ""}, "abc", "abc"),
    (None, "42", 42), (None, "[1]", [1]), (None, '"q"', "q"), (None, "hello", "hello"),
])
def test_coerce_cli_value(prop: dict[str, Any] | None, raw: str, value: Any) -> None:
    result = coerce_cli_value(prop, raw)
    assert result == value and type(result) is type(value)


@pytest.mark.parametrize(("prop", "raw", "message"), [
    ({"type": "integer"}, "1.5", "argument 'k': expected an integer, got '1.5'"),
    ({"type": "number"}, "abc", "argument 'k': expected a number, got 'abc'"),
    ({"type": "number"}, "nan", "expected a number"),
    ({"type": "boolean"}, "maybe", "expected true or false, got 'maybe'"),
    ({"type": "array"}, "1,2", "expected a list (JSON array) written as JSON"),
    ({"type": "object", "properties": {}}, "[1]", "expected an object written as JSON"),
])
def test_coerce_cli_value_errors(prop: dict[str, Any], raw: str, message: str) -> None:
    with pytest.raises(ArgumentError) as caught:
        coerce_cli_value(prop, raw, name="k")
    assert message in caught.value.message
    assert caught.value.field == "k"
