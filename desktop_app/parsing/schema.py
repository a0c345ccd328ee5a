"""From a parsed signature to the JSON Schema behind Windmill's form (its ``inferSchema``).

Each argument's parser type becomes one property; re-inferring over an existing schema keeps
what the user edited (descriptions, min/max, titles, a chosen string format…) following the
same merge rules as Windmill's CLI (windmill-cli 1.819.0 / windmill-utils-internal 1.7.0), so
the output is key-for-key what Windmill writes, key order included. The tests compare our
property conversion with windmill-utils-internal's own ``argSigToJsonSchemaType``.

One deliberate difference: an argument whose type is not understood ("unknown") gets
``type: "object"`` (what Windmill's web UI and committed metadata show) where the CLI leaves
``type: ""``; a type the user already chose on the existing property is kept, as in the CLI.
"""

from __future__ import annotations

import copy
from typing import Any

from desktop_app.parsing.signature import MainArgSignature, Typ

SCHEMA_URL = "https://json-schema.org/draft/2020-12/schema"

# User-editable keys that survive a type change, copied in this order (Windmill's order).
_PRESERVED = (
    "description", "pattern", "min", "max", "currency", "currencyLocale", "multiselect",
    "customErrorMessage", "required", "showExpr", "password", "order", "dateFormat", "title",
    "placeholder",
)
_STRING_FORMATS = {"datetime": "date-time", "date": "date", "email": "email", "sql": "sql",
                   "yaml": "yaml"}
_SIMPLE_TYPES = {"int": "integer", "float": "number", "bool": "boolean"}


class _Undefined:
    """JavaScript's ``undefined``: a key that is set but disappears from the JSON.

    Windmill assigns ``undefined`` to some keys; the key keeps its place in the object but is
    not serialised. Modelling it (instead of deleting) keeps key order identical.
    """

    def __repr__(self) -> str:
        return "undefined"


UNDEFINED: Any = _Undefined()


def new_schema() -> dict[str, Any]:
    """The schema of a script without arguments."""
    return {"$schema": SCHEMA_URL, "type": "object", "properties": {}, "required": []}


def infer_schema(sig: MainArgSignature, existing: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON Schema for ``sig``, merged over ``existing`` (left unmodified) when given."""
    schema = copy.deepcopy(existing) if existing else new_schema()
    old_properties = schema.get("properties")
    if not isinstance(old_properties, dict):
        old_properties = {}
    properties: dict[str, Any] = {}
    required: list[str] = []
    for arg in sig["args"]:
        name = arg["name"]
        prop = properties.get(name, old_properties.get(name))
        if not isinstance(prop, dict):
            prop = _fresh_property()
        set_property_type(arg["typ"], prop)
        prop["default"] = arg["default"]  # written even when null, as Windmill does
        otyp = arg.get("otyp")
        if otyp and "[" in otyp and "|" in otyp:
            # Windmill CLI: a declared type such as "int[] | null" is kept as originalType.
            # (For Python, otyp is a docstring description; the CLI applies the rule anyway.)
            prop["originalType"] = otyp
        properties[name] = prop
        if not arg["has_default"] and name not in required:
            required.append(name)
    schema["properties"] = properties
    schema["required"] = required
    return schema


def property_for(typ: Typ) -> dict[str, Any]:
    """The schema property of a fresh argument of type ``typ`` (without its default)."""
    prop = _fresh_property()
    set_property_type(typ, prop)
    return prop


def set_property_type(typ: Typ, old: dict[str, Any]) -> None:
    """Rewrite property ``old`` in place for type ``typ``, keeping what the user edited."""
    new = _converted(typ, old)
    for key in _PRESERVED:
        if key in old:
            new[key] = old[key]
    # Our "object" for an unknown type over a fresh property (type "") stands where the CLI
    # keeps "": not a change of type, so the result differs from the CLI's by that value only.
    untyped_unknown = typ == "unknown" and old.get("type") == ""
    stays_string = old.get("type") == new["type"] == "string"
    if old.get("type") != new["type"] and not untyped_unknown:
        # A new type: whatever the new property defines replaces the old value (other old
        # keys, even stale ones like `enum` or `items`, stay — Windmill does the same).
        for key in new:
            if key != "description":
                old.pop(key, None)
    elif stays_string and new.get("format") in ("date", "date-time"):
        # A string that stays a string keeps its format choice; a date or date-time format
        # is not imposed on it, even when it had none.
        new["format"] = old.get("format", UNDEFINED)
    elif _items_type(old) != _items_type(new):
        # Checked before the format rule below (Windmill's order): a string that had stale
        # items takes the new format.
        old.pop("items", None)
    elif stays_string and "format" in old:
        new["format"] = old["format"]
    old.update(new)
    if not stays_string and "format" not in new:
        old.pop("format", None)
    _drop_undefined(old)


def _fresh_property() -> dict[str, Any]:
    return {"description": "", "type": ""}


def _converted(typ: Typ, old: dict[str, Any]) -> dict[str, Any]:
    """The keys that type ``typ`` defines, in Windmill's order."""
    new: dict[str, Any] = {"type": ""}
    if isinstance(typ, str):
        if typ in _SIMPLE_TYPES:
            new["type"] = _SIMPLE_TYPES[typ]
        elif typ in _STRING_FORMATS:
            new["type"] = "string"
            new["format"] = _STRING_FORMATS[typ]
        elif typ == "bytes":
            new.update(type="string", contentEncoding="base64", originalType="bytes")
        else:  # "unknown" and anything new: keep the user's type, else a free-form object
            old_type = old.get("type")
            new["type"] = old_type if isinstance(old_type, str) and old_type else "object"
        return new
    kind, value = next(iter(typ.items()))
    if kind == "str":
        new["type"] = "string"
        if value is not None:
            new.update(originalType="enum", enum=list(value))
        elif old.get("originalType") == "string" and _js_truthy(old.get("enum")):
            # A plain string may carry an enum the user added in the form editor.
            new.update(originalType="string", enum=old["enum"])
        else:
            new.update(originalType="string", enum=UNDEFINED)
    elif kind in ("resource", "dynselect", "dynmultiselect"):
        prefix = "resource" if kind == "resource" else kind
        new.update(type="object", format=f"{prefix}-{_js_str(value)}")
    elif kind == "object":
        new["type"] = "object"
        if value.get("name"):
            new["format"] = f"resource-{value['name']}"
        if value.get("props") is not None:
            new["properties"] = _object_properties(value["props"], old.get("properties"))
    elif kind == "oneof":
        new["type"] = "object"
        new["oneOf"] = [_one_of_variant(v, old.get("oneOf")) for v in value]
    elif kind == "list":
        new["type"] = "array"
        _set_list_items(value, old, new)
    else:
        new["type"] = "object"
    return new


def _set_list_items(item: Typ, old: dict[str, Any], new: dict[str, Any]) -> None:
    if item in ("int", "float"):
        new.update(items={"type": "number"}, originalType="number[]")  # ints too: Windmill
    elif item == "bytes":
        new.update(items={"type": "string", "contentEncoding": "base64"}, originalType="bytes[]")
    elif isinstance(item, dict) and "str" in item:
        if item["str"] is not None:
            new.update(items={"type": "string", "enum": list(item["str"])}, originalType="enum[]")
        else:
            old_items = old.get("items")
            enum = old_items.get("enum", UNDEFINED) if isinstance(old_items, dict) else UNDEFINED
            new.update(items={"type": "string", "enum": enum}, originalType="string[]")
    elif isinstance(item, dict) and "resource" in item:
        # The CLI's shape; Windmill's web UI writes items {type: resource} + format instead.
        new.update(items={"type": "resource", "resourceType": item["resource"]},
                   originalType="resource[]")
    elif isinstance(item, dict) and "object" in item:
        obj = item["object"]
        if obj.get("name"):
            new["format"] = f"resource-{obj['name']}"
        if obj.get("props"):  # item properties are rebuilt, never merged
            items = {"type": "object", "properties": _object_properties(obj["props"], None)}
        else:
            items = _untyped_items(old)
        new.update(items=items, originalType="record[]")
    else:
        new.update(items=_untyped_items(old), originalType="object[]")


def _untyped_items(old: dict[str, Any]) -> dict[str, Any]:
    # Items of a list whose element type the parser cannot describe: the item type the user
    # picked in the form editor (and its details) is kept.
    old_items = old.get("items")
    if not isinstance(old_items, dict):
        old_items = {}
    items = {"type": old_items["type"] if _js_truthy(old_items.get("type")) else "object"}
    for key in ("properties", "enum", "resourceType", "contentEncoding", "description"):
        if key in old_items:
            items[key] = old_items[key]
    return items


def _object_properties(props: list[dict[str, Any]], old_props: Any) -> dict[str, Any]:
    old_props = old_props if isinstance(old_props, dict) else {}
    out: dict[str, Any] = {}
    for prop in props:
        target = old_props.get(prop["key"])
        if not isinstance(target, dict):
            target = _fresh_property()
        set_property_type(prop["typ"], target)
        out[prop["key"]] = target
    return out


def _one_of_variant(variant: dict[str, Any], old_variants: Any) -> dict[str, Any]:
    old_props: Any = None
    if isinstance(old_variants, list):
        match = next((v for v in old_variants
                      if isinstance(v, dict) and v.get("title") == variant["label"]), None)
        old_props = match.get("properties") if match else None
    return {"type": "object", "title": variant["label"],
            "properties": _object_properties(variant["properties"], old_props)}


def _items_type(prop: dict[str, Any]) -> Any:
    items = prop.get("items")
    return items.get("type") if isinstance(items, dict) else None


def _js_truthy(value: Any) -> bool:
    # JavaScript truthiness: empty lists and objects are true.
    return value not in (None, False, 0, "", UNDEFINED) or isinstance(value, list | dict)


def _js_str(value: Any) -> str:
    return "null" if value is None else str(value)


def _drop_undefined(value: Any) -> None:
    if isinstance(value, dict):
        for key in [k for k, v in value.items() if v is UNDEFINED]:
            del value[key]
        for v in value.values():
            _drop_undefined(v)
    elif isinstance(value, list):
        for v in value:
            _drop_undefined(v)
