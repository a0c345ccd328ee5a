"""The parser output shape shared by every language: Windmill's ``MainArgSignature``.

Values are kept as the same JSON-like data Windmill's parsers emit (a ``Typ`` is a string such
as ``"int"`` or a one-key dict such as ``{"list": {"str": None}}``) so our output can be compared
with Windmill's directly and stored or sent without conversion.

Typ shapes::

    "int" "float" "bool" "bytes" "datetime" "date" "sql" "email" "yaml" "unknown"
    {"str": None | [values]}            {"list": Typ}            {"resource": name}
    {"object": {"name": None | name, "props": None | [{"key", "typ"}]}}
    {"oneof": [{"label", "properties": [{"key", "typ"}]}]}
    {"dynselect": fn}                   {"dynmultiselect": fn}
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

#: A parser type: a plain name or a one-key dict (see the module docstring).
Typ = str | dict[str, Any]

INT = "int"
FLOAT = "float"
BOOL = "bool"
BYTES = "bytes"
DATETIME = "datetime"
DATE = "date"
SQL = "sql"
EMAIL = "email"
YAML = "yaml"
UNKNOWN = "unknown"


class ObjectProp(TypedDict):
    """One field of an object type (a pydantic/dataclass field or a key of a dict default)."""

    key: str
    typ: Typ


class Arg(TypedDict):
    """One argument of ``main``, keys in the order Windmill's parsers emit them."""

    name: str
    otyp: str | None  # SQL: declared type; Python: the Google-style docstring description
    typ: Typ
    default: Any  # JSON value; None when absent (see has_default)
    has_default: bool
    oidx: int | None  # SQL positional index ($1 → 1); None elsewhere


class MainArgSignature(TypedDict):
    """What a signature parser returns for one script."""

    star_args: bool
    star_kwargs: bool
    args: list[Arg]
    auto_kind: Literal["lib"] | None  # "lib": no main function (a module of helpers)
    has_preprocessor: bool | None  # None for languages without the notion (bash, SQL)


def str_typ(values: list[str] | None = None) -> dict[str, Any]:
    """A string type; ``values`` makes it an enum."""
    return {"str": values}


def list_typ(item: Typ) -> dict[str, Any]:
    return {"list": item}


def resource_typ(name: str) -> dict[str, Any]:
    return {"resource": name}


def object_typ(name: str | None, props: list[ObjectProp] | None) -> dict[str, Any]:
    return {"object": {"name": name, "props": props}}


def make_arg(name: str, typ: Typ, *, default: Any = None, has_default: bool = False,
             otyp: str | None = None, oidx: int | None = None) -> Arg:
    return Arg(name=name, otyp=otyp, typ=typ, default=default, has_default=has_default,
               oidx=oidx)


def make_signature(args: list[Arg], *, star_args: bool = False, star_kwargs: bool = False,
                   auto_kind: Literal["lib"] | None = None,
                   has_preprocessor: bool | None = None) -> MainArgSignature:
    return MainArgSignature(star_args=star_args, star_kwargs=star_kwargs, args=args,
                            auto_kind=auto_kind, has_preprocessor=has_preprocessor)
