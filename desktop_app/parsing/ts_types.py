"""TypeScript type expressions: a parser over ts_tokenizer tokens and the AST it builds.

Only the shapes that decide a Windmill form type are modelled (keywords, literals, references,
object types, arrays, unions, parentheses); everything else — intersections, tuples, function
and conditional types, ``keyof``… — is parsed only to find where it ends and becomes ``Other``.
"""

from __future__ import annotations

from dataclasses import dataclass

from desktop_app.parsing.ts_tokenizer import Token

KEYWORD_TYPES = frozenset({
    "string", "number", "bigint", "boolean", "object", "any", "unknown", "never", "null",
    "undefined", "void", "symbol", "intrinsic", "this",
})


@dataclass(frozen=True)
class Keyword:
    name: str


@dataclass(frozen=True)
class Literal:
    kind: str  # "str" | "num" | "bool" | "bigint" | "template"
    value: object


@dataclass(frozen=True)
class Ref:
    names: tuple[str, ...]  # A.B.C
    args: tuple[TypeNode, ...]


@dataclass(frozen=True)
class Member:
    """A member of an object type; ``key`` is None when it is not ``identifier: type`` (string
    or computed keys, methods, index/call signatures, accessors): Windmill ignores those."""

    key: str | None
    type: TypeNode | None


@dataclass(frozen=True)
class ObjectType:
    members: tuple[Member, ...]


@dataclass(frozen=True)
class ArrayType:
    elem: TypeNode


@dataclass(frozen=True)
class Union:
    members: tuple[TypeNode, ...]


@dataclass(frozen=True)
class Paren:
    inner: TypeNode


@dataclass(frozen=True)
class Other:
    """A type Windmill does not turn into a form field (intersection, tuple, function…)."""


TypeNode = Keyword | Literal | Ref | ObjectType | ArrayType | Union | Paren | Other
OTHER = Other()


class TypeParseError(Exception):
    """The tokens at ``index`` do not form a type we can read."""

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


class TypeParser:
    """Recursive descent over ``tokens``; ``pos`` is left on the first token after a type."""

    def __init__(self, tokens: list[Token], pos: int) -> None:
        self.tokens = tokens
        self.pos = pos

    # --- helpers --------------------------------------------------------------------------

    def peek(self, offset: int = 0) -> Token | None:
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def kind(self, offset: int = 0) -> str | None:
        tok = self.peek(offset)
        return tok.kind if tok is not None else None

    def at(self, text: str, offset: int = 0) -> bool:
        tok = self.peek(offset)
        return tok is not None and tok.text == text and tok.kind in ("punct", "ident")

    def expect(self, text: str) -> None:
        if not self.at(text):
            raise TypeParseError(self.pos)
        self.pos += 1

    def skip_balanced(self) -> None:
        """Skip from an opening bracket (or "<") past its partner."""
        opener = self.tokens[self.pos].text
        closer = {"(": ")", "[": "]", "{": "}", "<": ">"}[opener]
        depth = 0
        while self.pos < len(self.tokens):
            tok = self.tokens[self.pos]
            if tok.kind == "punct":
                if tok.text == opener:
                    depth += 1
                elif tok.text == closer:
                    depth -= 1
                    if depth == 0:
                        self.pos += 1
                        return
                elif opener == "<" and tok.text in ("(", "[", "{"):
                    self.skip_balanced()
                    continue
            self.pos += 1
        raise TypeParseError(self.pos)

    # --- grammar --------------------------------------------------------------------------

    def parse_type(self) -> TypeNode:
        node = self._union()
        if self.at("extends") and not self.tokens[self.pos].nl_before:
            # Conditional type: A extends B ? C : D
            self.pos += 1
            self._union()
            self.expect("?")
            self.parse_type()
            self.expect(":")
            self.parse_type()
            return OTHER
        return node

    def _union(self) -> TypeNode:
        leading = self.at("|")
        if leading:
            self.pos += 1
        members = [self._intersection()]
        while self.at("|"):
            self.pos += 1
            members.append(self._intersection())
        return members[0] if len(members) == 1 else Union(tuple(members))

    def _intersection(self) -> TypeNode:
        if self.at("&"):
            self.pos += 1
        node = self._operator()
        if not self.at("&"):
            return node
        while self.at("&"):
            self.pos += 1
            self._operator()
        return OTHER

    def _operator(self) -> TypeNode:
        tok = self.peek()
        if tok is not None and tok.kind == "ident" and tok.text in ("keyof", "unique", "readonly"):
            nxt = self.peek(1)
            if nxt is not None and not (nxt.kind == "punct" and nxt.text in
                                        (")", ",", "]", ";", "=", "|", "&", ">", "}")):
                self.pos += 1
                self._operator()
                return OTHER
        if tok is not None and tok.text == "infer" and tok.kind == "ident":
            self.pos += 2
            if self.at("extends"):
                self.pos += 1
                self._operator()
            return OTHER
        return self._postfix()

    def _postfix(self) -> TypeNode:
        node = self._primary()
        while self.at("[") and not self.tokens[self.pos].nl_before:
            if self.at("]", 1):
                self.pos += 2
                node = ArrayType(node)
            else:  # indexed access T[K]
                self.pos += 1
                self.parse_type()
                self.expect("]")
                node = OTHER
        return node

    def _primary(self) -> TypeNode:
        tok = self.peek()
        if tok is None:
            raise TypeParseError(self.pos)
        if tok.kind == "string":
            self.pos += 1
            return Literal("str", tok.value)
        if tok.kind == "template":
            self._skip_template()
            return Literal("template", None)
        if tok.kind == "number":
            self.pos += 1
            return Literal("num", tok.value)
        if tok.kind == "bigint":
            self.pos += 1
            return Literal("bigint", tok.value)
        if tok.kind == "punct":
            return self._punct_primary(tok)
        if tok.kind != "ident":
            raise TypeParseError(self.pos)
        if tok.text in ("true", "false"):
            self.pos += 1
            return Literal("bool", tok.text == "true")
        if tok.text == "typeof":
            self.pos += 1
            if self.at("import"):
                self._import_type()
            else:
                self.entity_name()
            if self.at("<") and not self.tokens[self.pos].nl_before:
                self.skip_balanced()
            return OTHER
        if tok.text == "import" and self.at("(", 1):
            self._import_type()
            return OTHER
        if tok.text in ("new", "abstract") and (self.at("(", 1) or self.at("<", 1)
                                                 or self.at("new", 1)):
            self.pos += 1 if tok.text == "new" else 2
            return self._function_type()
        if tok.text == "asserts" and self.kind(1) == "ident":
            self.pos += 2
            if self.at("is"):
                self.pos += 1
                self.parse_type()
            return OTHER
        if tok.text in KEYWORD_TYPES and not self.at(".", 1):
            self.pos += 1
            if self.at("is") and not self.tokens[self.pos].nl_before:  # `this is T`
                self.pos += 1
                self.parse_type()
                return OTHER
            return Keyword(tok.text)
        names = self.entity_name()
        if self.at("is") and not self.tokens[self.pos].nl_before:  # type predicate `x is T`
            self.pos += 1
            self.parse_type()
            return OTHER
        args: list[TypeNode] = []
        if self.at("<") and not self.tokens[self.pos].nl_before:
            self.pos += 1
            while not self.at(">"):
                args.append(self.parse_type())
                if self.at(","):
                    self.pos += 1
                elif not self.at(">"):
                    raise TypeParseError(self.pos)
            self.pos += 1
        return Ref(tuple(names), tuple(args))

    def _punct_primary(self, tok: Token) -> TypeNode:
        if tok.text == "-" and self.kind(1) in ("number", "bigint"):
            self.pos += 2
            return Literal("num", None)
        if tok.text == "{":
            return self.object_type()
        if tok.text == "[":
            self.skip_balanced()  # tuple
            return OTHER
        if tok.text == "<":
            return self._function_type()
        if tok.text == "(":
            if self._is_function_type():
                return self._function_type()
            self.pos += 1
            inner = self.parse_type()
            self.expect(")")
            return Paren(inner)
        raise TypeParseError(self.pos)

    def _skip_template(self) -> None:
        tok = self.tokens[self.pos]
        self.pos += 1
        if tok.text.startswith("`") and tok.text.endswith("`") and len(tok.text) > 1:
            return
        while True:  # a template literal type with substitutions: `a${T}b`
            self.parse_type()
            part = self.peek()
            if part is None or part.kind != "template":
                raise TypeParseError(self.pos)
            self.pos += 1
            if part.text.endswith("`"):
                return

    def entity_name(self) -> list[str]:
        tok = self.peek()
        if tok is None or tok.kind != "ident":
            raise TypeParseError(self.pos)
        names = [tok.text]
        self.pos += 1
        while self.at(".") and self.kind(1) == "ident":
            names.append(self.tokens[self.pos + 1].text)
            self.pos += 2
        return names

    def _import_type(self) -> None:
        self.pos += 1  # import
        self.skip_balanced()
        while self.at(".") and self.peek(1) is not None:
            self.pos += 2
        if self.at("<"):
            self.skip_balanced()

    def _is_function_type(self) -> bool:
        """At "(": is this a parameter list followed by "=>"?"""
        saved = self.pos
        try:
            self.skip_balanced()
            return self.at("=>")
        except TypeParseError:
            return False
        finally:
            self.pos = saved

    def _function_type(self) -> TypeNode:
        if self.at("<"):
            self.skip_balanced()
        if not self.at("("):
            raise TypeParseError(self.pos)
        self.skip_balanced()
        self.expect("=>")
        self.parse_type()
        return OTHER

    def object_type(self) -> TypeNode:
        if self._is_mapped_type():
            self.skip_balanced()
            return OTHER
        self.pos += 1  # {
        members: list[Member] = []
        while not self.at("}"):
            if self.at(";") or self.at(","):
                self.pos += 1
                continue
            members.append(self._member())
        self.pos += 1
        return ObjectType(tuple(members))

    def _is_mapped_type(self) -> bool:
        offset = 1
        if self.at("+", offset) or self.at("-", offset):
            offset += 1
        if self.at("readonly", offset):
            offset += 1
        return (self.at("[", offset) and self.kind(offset + 1) == "ident"
                and self.at("in", offset + 2))

    def _member(self) -> Member:
        tok = self.peek()
        if tok is None:
            raise TypeParseError(self.pos)
        modifier_like = tok.kind == "ident" and tok.text in ("readonly", "get", "set", "new")
        if modifier_like and not self._is_key_end(1):
            if tok.text in ("get", "set"):
                self.pos += 1
                self._key()
                self._signature_rest()
                return Member(None, None)
            if tok.text == "new":
                self.pos += 1
                self._signature_rest()
                return Member(None, None)
            self.pos += 1  # readonly
            tok = self.peek()
            if tok is None:
                raise TypeParseError(self.pos)
        if tok.kind == "punct" and tok.text in ("(", "<"):
            self._signature_rest()  # call signature
            return Member(None, None)
        key = self._key()
        if self.at("?"):
            self.pos += 1
        if self.at("(") or self.at("<"):
            self._signature_rest()  # method
            return Member(None, None)
        member_type: TypeNode | None = None
        if self.at(":"):
            self.pos += 1
            member_type = self.parse_type()
        return Member(key, member_type)

    def _is_key_end(self, offset: int) -> bool:
        """Is the token at ``offset`` what follows a property key (so the word is the key)?"""
        tok = self.peek(offset)
        return tok is None or (tok.kind == "punct" and tok.text in ("?", ":", "(", "<", ";", ",",
                                                                   "}"))

    def _key(self) -> str | None:
        tok = self.peek()
        if tok is None:
            raise TypeParseError(self.pos)
        if tok.kind == "ident" or tok.kind == "private":
            self.pos += 1
            return tok.text if tok.kind == "ident" else None
        if tok.kind in ("string", "number", "bigint"):
            self.pos += 1
            return None
        if tok.text == "[":
            self.skip_balanced()  # computed key or index signature
            return None
        raise TypeParseError(self.pos)

    def _signature_rest(self) -> None:
        """Type parameters, parameters and an optional return type of a method signature."""
        if self.at("<"):
            self.skip_balanced()
        if not self.at("("):
            raise TypeParseError(self.pos)
        self.skip_balanced()
        if self.at(":"):
            self.pos += 1
            self.parse_type()
