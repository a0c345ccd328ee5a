"""Checking job arguments against a script's JSON Schema before a job is started.

Windmill hands the arguments to the script as they are; a wrong type only shows up as a
failure deep inside the script. We check the shape the form promises instead, and report every
problem at once, naming each argument. Extra arguments are allowed (Windmill ignores them).

Values that Windmill resolves when the job starts (``$var:path``, ``$res:path``) are accepted
for any argument.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from datetime import date, datetime
from typing import Any

from desktop_app.core.errors import ArgumentError

_REFERENCE_PREFIXES = ("$var:", "$res:")
_TYPE_NAMES = {"integer": "an integer", "number": "a number", "string": "a string",
               "boolean": "a boolean", "array": "a list (JSON array)", "object": "an object"}
_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}


def validate_args(schema: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    """Return ``args`` unchanged when they fit ``schema``; else raise ArgumentError listing
    every problem (``field`` = the first argument at fault)."""
    if not isinstance(args, dict):
        raise ArgumentError(f"arguments must be a JSON object, got {_describe(args)}")
    properties = schema.get("properties") if isinstance(schema, dict) else None
    properties = properties if isinstance(properties, dict) else {}
    required = schema.get("required") if isinstance(schema, dict) else None
    required = required if isinstance(required, list) else []
    problems: list[tuple[str, str]] = []
    for name in required:
        if name not in args:
            problems.append((name, " is required but was not given"))
    for name, value in args.items():
        prop = properties.get(name)
        if not isinstance(prop, dict):
            continue  # extra keys pass through, as in Windmill
        problem = _value_problem(prop, value, nullable=name not in required)
        if problem:
            problems.append((name, problem))
    if problems:
        order = {name: index for index, name in enumerate(properties)}
        problems.sort(key=lambda problem: order.get(problem[0], len(order)))  # form order
        message = "; ".join(f"argument '{name}'{why}" for name, why in problems)
        raise ArgumentError(message, field=problems[0][0])
    return args


def coerce_cli_value(prop: dict[str, Any] | None, raw: str, *, name: str | None = None) -> Any:
    """Turn the text of a ``-a key=value`` option into the JSON value the schema wants.

    Strings stay verbatim (even "42"); numbers, booleans, lists and objects are parsed; with
    no schema property the text is read as JSON when it parses, else kept as a string.
    """
    label = f"argument '{name}'" if name else "the value"
    kind = prop.get("type") if isinstance(prop, dict) else None
    if kind == "string" or raw.startswith(_REFERENCE_PREFIXES):
        return raw
    text = raw.strip()
    if kind in ("integer", "number", "boolean", "array", "object") and text == "null":
        return None
    if kind == "integer":
        try:
            return int(text)
        except ValueError:
            raise ArgumentError(f"{label}: expected an integer, got {raw!r}", field=name) from None
    if kind == "number":
        return _parse_number(text, raw, label, name)
    if kind == "boolean":
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ArgumentError(f"{label}: expected true or false, got {raw!r}", field=name)
    if kind in ("array", "object"):
        expected = list if kind == "array" else dict
        example = "[1, 2]" if kind == "array" else '{"key": "value"}'
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if isinstance(value, expected):
            return value
        if kind == "object" and _accepts_anything(prop or {}):
            return value if value is not None else raw
        raise ArgumentError(f"{label}: expected {_TYPE_NAMES[kind]} written as JSON, e.g. "
                            f"{example}, got {raw!r}", field=name)
    try:
        return json.loads(text)
    except ValueError:
        return raw


def _parse_number(text: str, raw: str, label: str, name: str | None) -> int | float:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise ArgumentError(f"{label}: expected a number, got {raw!r}", field=name)
    return number


def _value_problem(prop: dict[str, Any], value: Any, *, nullable: bool) -> str | None:
    kind = prop.get("type")
    if isinstance(value, str) and value.startswith(_REFERENCE_PREFIXES):
        return None  # resolved by the worker when the job starts
    if kind in (None, "") or (kind == "object" and _accepts_anything(prop)):
        return None  # a type the parser could not describe: anything goes
    if value is None:
        return None if nullable else f": expected {_expected(prop)}, got null"
    if not _has_type(kind, value):
        return f": expected {_expected(prop)}, got {_describe(value)}"
    if kind == "string":
        return _string_problem(prop, value)
    if kind == "array":
        return _items_problem(prop.get("items"), value)
    return None


def _accepts_anything(prop: dict[str, Any]) -> bool:
    # An "object" without properties, resource format or oneOf is what an annotation Windmill
    # cannot describe becomes (Any, int | str, Annotated…); dynselect values are the app's.
    fmt = prop.get("format")
    if isinstance(fmt, str) and fmt.startswith(("dynselect-", "dynmultiselect-")):
        return True
    return "properties" not in prop and "oneOf" not in prop and not (
        isinstance(fmt, str) and fmt.startswith("resource-"))


def _has_type(kind: Any, value: Any) -> bool:
    if kind == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer())
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "array":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, dict)
    return True  # a type we do not know: do not second-guess it


def _string_problem(prop: dict[str, Any], value: str) -> str | None:
    enum = prop.get("enum")
    # A plain string may carry suggestions the user can go beyond (Windmill's form lets them
    # type a new value unless disableCreate); an enum type is strict.
    strict = prop.get("originalType") != "string" or prop.get("disableCreate") is True
    if isinstance(enum, list) and enum and strict and value not in enum:
        return f": {value!r} is not one of {', '.join(repr(v) for v in enum)}"
    if prop.get("contentEncoding") == "base64" and not _is_base64(value):
        return ": expected base64-encoded bytes, got text that is not valid base64"
    fmt = prop.get("format")
    if fmt == "date-time" and not _parses(datetime.fromisoformat, value):
        return f": expected a date-time such as 2024-05-01T12:30:00Z, got {value!r}"
    if fmt == "date" and not _parses(date.fromisoformat, value):
        return f": expected a date such as 2024-05-01, got {value!r}"
    return None


def _items_problem(items: Any, values: list[Any]) -> str | None:
    if not isinstance(items, dict) or items.get("type") not in (
            "integer", "number", "string", "boolean"):
        return None  # object/resource/untyped items: no per-item check
    for index, item in enumerate(values):
        if isinstance(item, str) and item.startswith(_REFERENCE_PREFIXES):
            continue
        if not _has_type(items["type"], item):
            return f": item {index} should be {_expected(items)}, got {_describe(item)}"
        if items["type"] == "string":
            problem = _string_problem({**items, "originalType": "enum"}, item)
            if problem:
                return f": item {index}{problem}"
    return None


def _expected(prop: dict[str, Any]) -> str:
    kind = prop.get("type")
    if kind == "object" and str(prop.get("format", "")).startswith("resource-"):
        return f"a {prop['format'].removeprefix('resource-')} resource (an object or '$res:path')"
    return _TYPE_NAMES.get(kind, f"a value of type {kind}") if isinstance(kind, str) else "a value"


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value!r}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {shown!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _is_base64(value: str) -> bool:
    try:
        base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _parses(parse: Any, value: str) -> bool:
    try:
        parse(value)
    except ValueError:
        return False
    return True
