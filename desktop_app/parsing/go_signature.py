"""Go scripts: the parameters of ``func main``, as windmill-parser-wasm-go (1.761.0) reads them.

Windmill looks for the first line that starts with ``func main(`` (even inside a raw string)
and reads the parameter list there:

* ``string`` → str; ``int``, ``int16``, ``int32``, ``int64`` → int; ``bool`` → bool; any other
  name (``float64``, ``int8``, ``uint``, ``byte``, a named struct…) → unknown, its name kept
  in ``otyp``;
* ``[]T`` and ``[N]T`` → list of T; ``map[K]V`` and ``interface{…}`` → a free-form object;
  ``struct{…}`` → an object whose props are the fields — named by their ``json:"…"`` tag when
  the tag starts with one, only the first name of ``A, B T`` kept;
* pointers, qualified names (``time.Time``), channels, functions and ``...T`` → unknown with
  no ``otyp``.

``otyp`` is Windmill's normalised Go spelling of the type (``[]int``, ``map[string]interface{}``,
``struct { A string `json:"A"` }``). Go has no default values: every argument is required.
"""

from __future__ import annotations

import re

from desktop_app.core.errors import ScriptSyntaxError
from desktop_app.parsing.signature import (
    BOOL,
    INT,
    UNKNOWN,
    Arg,
    MainArgSignature,
    ObjectProp,
    Typ,
    list_typ,
    make_arg,
    make_signature,
    object_typ,
    str_typ,
)

_SIMPLE: dict[str, Typ] = {"int": INT, "int16": INT, "int32": INT, "int64": INT, "bool": BOOL}
_TOKEN = re.compile(
    r"\s+|//[^\n]*|/\*.*?\*/|(?P<tok>`[^`]*`|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'"
    r"|[A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_\u0080-\U0010ffff]*|\d[\w.]*|\.\.\.|<-|.)", re.S)
_MAIN = "func main("
_MAP_OTYP = "map[string]interface{}"


def parse_go(code: str) -> MainArgSignature:
    """Describe the parameters of ``func main`` in a Go script (ScriptSyntaxError without one)."""
    start = next((m.start() for m in re.finditer(r"^func main\(", code, re.M)), None)
    if start is None:
        raise ScriptSyntaxError("no line starting with 'func main(' was found",
                                hint="Windmill runs the function main of package inner")
    line = code.count("\n", 0, start) + 1
    tokens = [m.group("tok") for m in _TOKEN.finditer(code, start + len(_MAIN) - 1)
              if m.group("tok")]
    try:
        args = _Parser(tokens, line).parameters()
    except RecursionError:
        raise ScriptSyntaxError("syntax error: main's parameters are nested too deeply",
                                line=line) from None
    return make_signature(args, has_preprocessor=None)


class _Parser:
    def __init__(self, tokens: list[str], line: int) -> None:
        self.tokens = tokens
        self.pos = 0
        self.line = line

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        tok = self.peek()
        if tok is None:
            raise self.error("the parameter list of main is not closed")
        self.pos += 1
        return tok

    def expect(self, text: str) -> None:
        if self.take() != text:
            raise self.error(f"expected {text!r} in the parameters of main")

    def error(self, message: str) -> ScriptSyntaxError:
        return ScriptSyntaxError(f"syntax error at line {self.line}: {message}", line=self.line)

    def parameters(self) -> list[Arg]:
        self.expect("(")
        args: list[Arg] = []
        pending: list[str] = []  # names waiting for the type of "a, b T"
        while self.peek() != ")":
            name = self.take()
            if not _is_ident(name):
                raise self.error(f"unexpected {name!r} in the parameters of main")
            if self.peek() in (",", ")"):
                pending.append(name)
            else:
                typ, otyp = self.type()
                for each in (*pending, name):
                    args.append(make_arg(each, typ, otyp=otyp))
                pending = []
            if self.peek() == ",":
                self.pos += 1
        if pending:
            raise self.error("a parameter of main has no type")
        return args

    def type(self) -> tuple[Typ, str | None]:
        tok = self.take()
        if tok == "[":
            while self.peek() != "]":  # [] or [N]
                self.take()
            self.pos += 1
            item, item_otyp = self.type()
            return list_typ(item), None if item_otyp is None else "[]" + item_otyp
        if tok == "map":
            self.expect("[")
            self.type()
            self.expect("]")
            self.type()
            return object_typ(None, []), _MAP_OTYP
        if tok == "interface":
            self.skip_braces()
            return object_typ(None, []), "interface{}"
        if tok == "struct":
            return self.struct()
        if tok in ("*", "...", "chan", "<-"):
            if tok == "chan" and self.peek() == "<-":
                self.pos += 1
            self.type()
            return UNKNOWN, None
        if tok == "func":
            self.skip_signature()
            return UNKNOWN, None
        if tok == "(":
            self.type()
            self.expect(")")
            return UNKNOWN, None
        if not _is_ident(tok):
            raise self.error(f"unexpected {tok!r} in the parameters of main")
        if self.peek() == ".":  # pkg.Type
            self.pos += 1
            self.take()
            self.skip_type_args()
            return UNKNOWN, None
        self.skip_type_args()
        if tok == "string":
            return str_typ(), tok
        return _SIMPLE.get(tok, UNKNOWN), tok

    def struct(self) -> tuple[Typ, str | None]:
        self.expect("{")
        props: list[ObjectProp] = []
        parts: list[str] = []
        while self.peek() != "}":
            if self.peek() == ";":
                self.pos += 1
                continue
            names = [self.take()]
            while self.peek() == ",":
                self.pos += 1
                names.append(self.take())
            field_typ: Typ
            field_otyp: str | None
            if self.peek() in (";", "}") or (self.peek() or "").startswith(("`", '"')):
                # An embedded field: only a type.
                field_name, field_typ, field_otyp = "", UNKNOWN, names[0]
            else:
                field_name = names[0]  # Windmill keeps the first of "A, B T"
                field_typ, field_otyp = self.type()
            tag = self.take() if (self.peek() or "").startswith(("`", '"')) else ""
            key = field_name
            if tag.startswith('`json:"'):
                key = re.split(r'[,"]', tag[len('`json:"'):], maxsplit=1)[0]
            props.append(ObjectProp(key=key, typ=field_typ))
            parts.append(f'{field_name} {field_otyp or "interface{}"} `json:"{key}"`')
        self.pos += 1
        return object_typ(None, props), "struct { " + "; ".join(parts) + " }"

    def skip_braces(self) -> None:
        self.expect("{")
        depth = 1
        while depth:
            tok = self.take()
            depth += (tok == "{") - (tok == "}")

    def skip_type_args(self) -> None:
        if self.peek() != "[":
            return
        depth = 0
        while True:
            tok = self.take()
            depth += (tok == "[") - (tok == "]")
            if depth == 0:
                return

    def skip_signature(self) -> None:
        self.expect("(")
        depth = 1
        while depth:
            tok = self.take()
            depth += (tok == "(") - (tok == ")")
        if self.peek() not in (",", ")", None):
            if self.peek() == "(":
                self.pos += 1
                depth = 1
                while depth:
                    tok = self.take()
                    depth += (tok == "(") - (tok == ")")
            else:
                self.type()


def _is_ident(tok: str) -> bool:
    return tok[0] == "_" or tok[0].isalpha()
