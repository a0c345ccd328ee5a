"""Checking job arguments against a script's JSON Schema before a job is started.

Windmill hands the arguments to the script as they are; a wrong type only shows up as a
failure deep inside the script. We check everything the form promises instead (types, bounds,
lengths, patterns, formats, enums, nested objects and lists) with `jsonschema`, after adapting
Windmill's schema dialect, and report every problem at once, naming each argument. The GUI's
form calls the same checker (`argument_problems`), so both say the same thing. Extra arguments
are allowed (Windmill ignores them).

Windmill's dialect, adapted in `_checkable`:
- values resolved when the job starts (``$var:path``, ``$res:path``) fit any argument;
- an optional argument (not in ``required``) may be null (``def main(n: int = None)``);
- an ``object`` without properties (``Any``, unions the parser cannot describe, dynselects) and
  an empty or unknown ``type`` accept anything;
- ``enum`` on a plain string (``originalType: string``) lists suggestions, not a rule;
- ``contentEncoding: base64`` is checked (JSON Schema only annotates it);
- a ``pattern`` that does not compile is ignored (not the user's fault).

`coerce_cli_value` is the other half: Windmill's coercion of the text of ``-a key=value``.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import math
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators

from desktop_app.core.errors import ArgumentError

_REFERENCE_PREFIXES = ("$var:", "$res:")
_TYPE_NAMES = {"integer": "an integer", "number": "a number", "string": "a string",
               "boolean": "a boolean", "array": "a list (JSON array)", "object": "an object",
               "null": "null"}
_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class ArgumentProblem:
    """One thing wrong with one argument: ``field`` is the argument's name, ``message`` says
    what is wrong without naming it (the form shows it beside the field)."""

    field: str
    message: str

    def text(self) -> str:
        if self.message.startswith(" "):
            return f"argument '{self.field}'{self.message}"
        return f"argument '{self.field}': {self.message}"


def validate_args(schema: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    """Return ``args`` unchanged when they fit ``schema``; else raise ArgumentError listing
    every problem (``field`` = the first argument at fault, in the form's order)."""
    if not isinstance(args, dict):
        raise ArgumentError(f"arguments must be a JSON object, got {_describe(args)}")
    problems = argument_problems(schema, args)
    if problems:
        raise ArgumentError("; ".join(p.text() for p in problems), field=problems[0].field)
    return args


def argument_problems(schema: dict[str, Any], args: dict[str, Any]) -> list[ArgumentProblem]:
    """Every problem of ``args`` against ``schema``, in the form's order; [] when they fit."""
    properties = schema.get("properties") if isinstance(schema, dict) else None
    properties = properties if isinstance(properties, dict) else {}
    required = schema.get("required") if isinstance(schema, dict) else None
    required = [r for r in required if isinstance(r, str)] if isinstance(required, list) else []
    problems: list[ArgumentProblem] = [
        ArgumentProblem(name, " is required but was not given")
        for name in required if name not in args]
    validator = _validator_for(json.dumps({"properties": properties, "required": required},
                                          sort_keys=True, default=str))
    seen: set[tuple[str, str]] = set()
    for error in validator.iter_errors(args):
        if not error.path or _excused(error, validator.schema):
            continue
        name = str(error.path[0])
        message = _where(list(error.path)[1:]) + _problem(error)
        if (name, message) not in seen:
            seen.add((name, message))
            problems.append(ArgumentProblem(name, message))
    order = {name: index for index, name in enumerate(_form_order(schema, properties))}
    problems.sort(key=lambda p: order.get(p.field, len(order)))  # stable: path order kept
    return problems


def _form_order(schema: dict[str, Any], properties: dict[str, Any]) -> list[str]:
    given = schema.get("order") if isinstance(schema, dict) else None
    given = [k for k in given if k in properties] if isinstance(given, list) else []
    return given + [k for k in properties if k not in given]


# -- the validator -----------------------------------------------------------------------------
_FORMATS = FormatChecker(formats=())


@_FORMATS.checks("email")
def _is_email(value: object) -> bool:
    return not isinstance(value, str) or bool(_EMAIL.match(value.strip()))


@_FORMATS.checks("date-time")
def _is_date_time(value: object) -> bool:
    return not isinstance(value, str) or _parses(datetime.fromisoformat, value)


@_FORMATS.checks("date")
def _is_date(value: object) -> bool:
    return not isinstance(value, str) or _parses(date.fromisoformat, value)


def _content_encoding(validator: Any, encoding: Any, instance: Any, schema: Any) -> Any:
    if encoding == "base64" and isinstance(instance, str) and not _is_base64(instance):
        yield ValidationError("not valid base64")


_Validator = validators.extend(Draft202012Validator, {"contentEncoding": _content_encoding})


@functools.lru_cache(maxsize=256)
def _validator_for(schema_json: str) -> Any:
    # Keyed by the schema's text: a webhook storm on one script builds its validator once.
    schema = json.loads(schema_json)
    checkable = {"type": "object", "required": schema["required"],
                 "properties": {k: _checkable(v) for k, v in schema["properties"].items()}}
    return _Validator(checkable, format_checker=_FORMATS)


_JSON_TYPES = {"integer", "number", "string", "boolean", "array", "object", "null"}


def _checkable(prop: Any) -> dict[str, Any]:
    """Windmill's property schema → standard JSON Schema with the same meaning (see above)."""
    if not isinstance(prop, dict):
        return {}
    kind = prop.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    if not kinds or any(k not in _JSON_TYPES for k in kinds):
        return {}  # "", None, "resource"…: a type the parser could not describe
    if kind == "object" and _accepts_anything(prop):
        return {}
    out = {k: v for k, v in prop.items()
           if k not in ("properties", "items", "oneOf", "anyOf", "enum", "pattern", "required",
                        "default", "examples", "$schema")}
    if isinstance(prop.get("properties"), dict):
        out["properties"] = {k: _checkable(v) for k, v in prop["properties"].items()}
        required = prop.get("required")
        if isinstance(required, list):
            out["required"] = [r for r in required if isinstance(r, str)]
    if isinstance(prop.get("items"), dict):
        out["items"] = _checkable(prop["items"])
    for union in ("oneOf", "anyOf"):
        if isinstance(prop.get(union), list) and prop[union]:
            out[union] = [_checkable(v) for v in prop[union]]
    enum = prop.get("enum")
    # A plain string may carry suggestions the user can go beyond (Windmill's form lets them
    # type a new value unless disableCreate); an enum type is strict.
    suggestions = prop.get("originalType") == "string" and prop.get("disableCreate") is not True
    if isinstance(enum, list) and enum and not suggestions:
        out["enum"] = enum
    pattern = prop.get("pattern")
    if isinstance(pattern, str) and _compiles(pattern):
        out["pattern"] = pattern
    return out


def _excused(error: ValidationError, schema: dict[str, Any]) -> bool:
    instance = error.instance
    if isinstance(instance, str) and instance.startswith(_REFERENCE_PREFIXES):
        return True  # resolved by the worker when the job starts
    if instance is None and error.path:
        parent = _schema_at(schema, list(error.path)[:-1])
        key = error.path[-1]
        if isinstance(key, str) and isinstance(parent, dict):
            return key not in (parent.get("required") or [])  # optional: null means "not given"
    return False


def _schema_at(schema: Any, path: list[Any]) -> Any:
    for key in path:
        if not isinstance(schema, dict):
            return None
        schema = (schema.get("properties") or {}).get(key) if isinstance(key, str) \
            else schema.get("items")
    return schema


def _where(path: list[Any]) -> str:
    parts = [f"item {key + 1}" if isinstance(key, int) else f"'{key}'" for key in path]
    return " ".join(parts) + ": " if parts else ""


def _problem(error: ValidationError) -> str:
    """What is wrong, in the words the form uses (no argument name)."""
    rule, value, schema, instance = error.validator, error.validator_value, error.schema, \
        error.instance
    if rule == "type":
        return f"expected {_expected(schema)}, got {_describe(instance)}"
    if rule == "enum":
        return f"{instance!r} is not one of {', '.join(repr(v) for v in value)}"
    if rule == "const":
        return f"must be {value!r}"
    if rule in _BOUNDS:
        return _BOUNDS[rule].format(value)
    if rule == "pattern":
        return str(schema.get("customErrorMessage") or f"must match {value}")
    if rule == "format":
        return _FORMAT_MESSAGES.get(value, "is not a valid {value}").format(
            text=str(instance).strip(), shown=repr(instance), value=value)
    if rule == "contentEncoding":
        return "expected base64-encoded bytes, got text that is not valid base64"
    if rule == "required":
        missing = [name for name in value if name not in instance]
        return " and ".join(f"'{name}'" for name in missing) + " is required but was not given"
    if rule in ("oneOf", "anyOf"):
        return "does not match any of its allowed shapes"
    return error.message


_BOUNDS = {
    "minimum": "must be at least {}", "maximum": "must be at most {}",
    "exclusiveMinimum": "must be more than {}", "exclusiveMaximum": "must be less than {}",
    "multipleOf": "must be a multiple of {}",
    "minLength": "needs at least {} characters", "maxLength": "allows at most {} characters",
    "minItems": "needs at least {} items", "maxItems": "allows at most {} items",
    "uniqueItems": "must not repeat an item", "minProperties": "needs at least {} keys",
    "maxProperties": "allows at most {} keys",
}
_FORMAT_MESSAGES = {
    "email": "\u201c{text}\u201d is not an email address",
    "date-time": "expected a date-time such as 2024-05-01T12:30:00Z, got {shown}",
    "date": "expected a date such as 2024-05-01, got {shown}",
}


def _compiles(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True


# -- the CLI's coercion ------------------------------------------------------------------------
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


def _accepts_anything(prop: dict[str, Any]) -> bool:
    # An "object" without properties, resource format or oneOf is what an annotation Windmill
    # cannot describe becomes (Any, int | str, Annotated…); dynselect values are the app's.
    fmt = prop.get("format")
    if isinstance(fmt, str) and fmt.startswith(("dynselect-", "dynmultiselect-")):
        return True
    return "properties" not in prop and "oneOf" not in prop and not (
        isinstance(fmt, str) and fmt.startswith("resource-"))


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
