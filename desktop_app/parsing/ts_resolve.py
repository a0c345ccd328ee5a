"""From a TypeScript type (ts_types AST) to Windmill's parser type, as windmill-parser-wasm-ts.

Rules observed on Windmill's parser (1.695.0), quirks included:

* ``string`` → str, ``number`` → float, ``bigint`` → int, ``boolean`` → bool, ``object`` and
  object type literals → object (props: ``identifier: type`` members only — quoted keys,
  methods and index signatures are dropped), ``T[]`` → list, a string literal → a one-value
  enum; ``any``/``unknown``/``null``/other keywords, tuples, intersections, functions… → unknown.
* References by their right-most name: ``Date`` → datetime, ``Base64`` → bytes, ``Email``,
  ``Sql``, ``Resource<"x">`` → resource x, ``DynSelect_f``/``DynMultiselect_f``; these win over
  declarations of the same name. A type alias or interface declared in the file is expanded and
  its snake_case name becomes the object's name (``type WooCommerce = {...}`` →
  ``resource-woo_commerce``) — the name is handed down through lists, parentheses and
  ``| null``, and a resource found inside takes it too (``type R = Resource<"pg">`` → resource
  ``r``). Any other name → resource ``snake_case(name)`` (``Array<T>``, ``Record<…>``,
  ``Promise<T>`` included: Windmill does not special-case them).
* Unions: with exactly two members one of which is ``null``/``undefined``, the other member
  (optional); object literals that all have a string-literal ``kind`` or ``label`` property →
  ``oneof``; members that are all string literals, ``string``, ``null`` or ``undefined`` → an
  enum of the literals (optional if null/undefined is among them); anything else → unknown.
* A recursive alias is expanded twice on a path; the next reference is ``{"object": {"name",
  "props": null}}``. The first complete expansion of an alias is reused afterwards, as Windmill
  does. (Windmill lets deeper expansions through when other aliases sit above on the path; we
  do not reproduce that depth exactly.)
"""

from __future__ import annotations

from dataclasses import dataclass

from desktop_app.parsing.signature import (
    BOOL,
    BYTES,
    DATETIME,
    EMAIL,
    FLOAT,
    INT,
    SQL,
    UNKNOWN,
    ObjectProp,
    Typ,
    list_typ,
    object_typ,
    resource_typ,
    str_typ,
)
from desktop_app.parsing.ts_types import (
    ArrayType,
    Keyword,
    Literal,
    Member,
    ObjectType,
    Other,
    Paren,
    Ref,
    TypeNode,
    Union,
)

_KEYWORDS: dict[str, Typ] = {"number": FLOAT, "bigint": INT, "boolean": BOOL}
_NAMED: dict[str, Typ] = {"Date": DATETIME, "Base64": BYTES, "Email": EMAIL, "Sql": SQL}
_DISCRIMINANTS = ("kind", "label")
_MAX_EXPANSIONS = 2


@dataclass(frozen=True)
class Alias:
    type: TypeNode


@dataclass(frozen=True)
class Interface:
    extends: tuple[str, ...]  # right-most names of the heritage clause
    members: tuple[Member, ...]


Declaration = Alias | Interface


def snake_case(name: str) -> str:
    """Windmill's snake_case of a type name: ``OAuth2Token`` → ``o_auth2_token``."""
    words: list[str] = []
    for part in name.split("_"):
        if not part:
            continue
        word = ""
        for i, ch in enumerate(part):
            if word and ch.isupper():
                prev = part[i - 1]
                nxt = part[i + 1] if i + 1 < len(part) else ""
                if prev.islower() or prev.isdigit() or (prev.isupper() and nxt.islower()):
                    words.append(word)
                    word = ""
            word += ch.lower()
        words.append(word)
    return "_".join(words)


class TypeResolver:
    """Converts types against the aliases and interfaces declared at the top of the file."""

    def __init__(self, declarations: dict[str, Declaration]) -> None:
        self.declarations = declarations
        self.active: dict[str, int] = {}
        self.done: dict[str, tuple[Typ, bool]] = {}

    def convert(self, node: TypeNode, hint: str | None = None) -> tuple[Typ, bool]:
        """(typ, optional): optional when the type itself admits null/undefined."""
        if isinstance(node, Keyword):
            if node.name == "string":
                return str_typ(), False
            if node.name == "object":
                return object_typ(hint, []), False
            return _KEYWORDS.get(node.name, UNKNOWN), False
        if isinstance(node, Literal):
            return (str_typ([str(node.value)]) if node.kind == "str" else UNKNOWN), False
        if isinstance(node, Ref):
            return self._reference(node, hint)
        if isinstance(node, ObjectType):
            return object_typ(hint, self.props(node.members)), False
        if isinstance(node, ArrayType):
            return list_typ(self.convert(node.elem, hint)[0]), False
        if isinstance(node, Paren):
            return self.convert(node.inner, hint)
        if isinstance(node, Union):
            return self._union(node.members, hint)
        assert isinstance(node, Other)
        return UNKNOWN, False

    def props(self, members: tuple[Member, ...]) -> list[ObjectProp]:
        return [ObjectProp(key=m.key,
                           typ=self.convert(m.type)[0] if m.type is not None else UNKNOWN)
                for m in members if m.key is not None]

    def _union(self, members: tuple[TypeNode, ...], hint: str | None) -> tuple[Typ, bool]:
        if len(members) == 2:
            for nullish, other in ((members[0], members[1]), (members[1], members[0])):
                if _is_nullish(nullish):
                    return self.convert(other, hint)[0], True
        labels = [_discriminant(m) for m in members]
        if all(label is not None for label in labels):
            variants = []
            for member, label in zip(members, labels, strict=True):
                assert isinstance(member, ObjectType)
                variants.append({"label": label, "properties": self.props(member.members)})
            return {"oneof": variants}, False
        if all(_is_string_like(m) for m in members):
            values = [str(m.value) for m in members if isinstance(m, Literal)]
            return str_typ(values), any(_is_nullish(m) for m in members)
        return UNKNOWN, False

    def _reference(self, node: Ref, hint: str | None) -> tuple[Typ, bool]:
        name = node.names[-1]
        if name == "Resource":
            first = node.args[0] if node.args else None
            own = str(first.value) if isinstance(first, Literal) and first.kind == "str" \
                else "unknown"
            return resource_typ(hint if hint is not None else own), False
        if name in _NAMED:
            return _NAMED[name], False
        if name.startswith("DynSelect_"):
            return {"dynselect": name[len("DynSelect_"):]}, False
        if name.startswith("DynMultiselect_"):
            return {"dynmultiselect": name[len("DynMultiselect_"):]}, False
        if name in self.declarations:
            return self._expand(name)
        return resource_typ(hint if hint is not None else snake_case(name)), False

    def _expand(self, name: str) -> tuple[Typ, bool]:
        if name in self.done:
            typ, optional = self.done[name]
            return _copy(typ), optional
        count = self.active.get(name, 0)
        if count >= _MAX_EXPANSIONS:
            return {"object": {"name": snake_case(name), "props": None}}, False
        self.active[name] = count + 1
        try:
            declaration = self.declarations[name]
            if isinstance(declaration, Alias):
                result = self.convert(declaration.type, snake_case(name))
            else:
                members = self._interface_members(name, set())
                result = object_typ(snake_case(name), self.props(members)), False
        finally:
            self.active[name] -= 1
        self.done.setdefault(name, (_copy(result[0]), result[1]))
        return result

    def _interface_members(self, name: str, seen: set[str]) -> tuple[Member, ...]:
        # Parents first; only interfaces contribute (an extended type alias adds nothing).
        # Windmill overflows its stack on an inheritance cycle; we stop at the repeat.
        seen.add(name)
        declaration = self.declarations[name]
        assert isinstance(declaration, Interface)
        inherited: list[Member] = []
        for parent in declaration.extends:
            if parent not in seen and isinstance(self.declarations.get(parent), Interface):
                inherited.extend(self._interface_members(parent, seen))
        return (*inherited, *declaration.members)


def _is_nullish(node: TypeNode) -> bool:
    return isinstance(node, Keyword) and node.name in ("null", "undefined")


def _is_string_like(node: TypeNode) -> bool:
    if isinstance(node, Literal):
        return node.kind == "str"
    return isinstance(node, Keyword) and node.name in ("string", "null", "undefined")


def _discriminant(node: TypeNode) -> str | None:
    """The label of a oneOf variant: its first ``kind``/``label`` string-literal property."""
    if not isinstance(node, ObjectType):
        return None
    for member in node.members:
        if member.key in _DISCRIMINANTS and isinstance(member.type, Literal) \
                and member.type.kind == "str":
            return str(member.type.value)
    return None


def _copy(typ: Typ) -> Typ:
    if isinstance(typ, dict):
        return {k: _copy(v) for k, v in typ.items()}
    if isinstance(typ, list):
        return [_copy(v) for v in typ]
    return typ
