"""TypeScript scripts (deno, bun, nativets): the signature of ``main`` as Windmill reads it.

Reproduces windmill-parser-wasm-ts 1.695.0 (``parse_deno``), checked by
tests/integration/test_signature_reference_ts_sql.py on the same corpus:

* the entry point is the last top-level function declaration named ``main`` — exported or not,
  ``async`` or generator; ``export default function main`` and ``const main = () => …`` are not
  seen (the script is then a library: ``auto_kind: "lib"``); a top-level ``function
  preprocessor`` sets ``has_preprocessor``;
* each parameter: a name (a destructured ``{…}`` one is ``anon1``, ``anon2``…), its type
  (ts_resolve) and its default (ts_values); it has a default when it has an initializer, a
  ``?`` or a type admitting null/undefined. When the annotation is missing or not understood
  the type comes from the default value (``x: any = 5`` → int);
* array-pattern and rest parameters are refused, as Windmill refuses them.

Syntax errors (an unterminated string, unbalanced brackets, a malformed ``main`` signature) raise
ScriptSyntaxError naming the line; other unusual syntax is skipped, not judged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from desktop_app.core.errors import ScriptSyntaxError
from desktop_app.parsing.signature import UNKNOWN, Arg, MainArgSignature, make_arg, make_signature
from desktop_app.parsing.ts_resolve import Alias, Declaration, Interface, TypeResolver
from desktop_app.parsing.ts_tokenizer import Token, tokenize
from desktop_app.parsing.ts_types import OTHER, ObjectType, TypeNode, TypeParseError, TypeParser
from desktop_app.parsing.ts_values import read_default

# After one of these an expression continues, so a following keyword is not a statement.
_CONTINUES_EXPRESSION = frozenset({
    "=", "(", "[", ",", ":", "?", "=>", "+", "-", "*", "/", "%", "||", "&&", "??", "!", "~",
    "|", "&", "^", "<", "...", ".", "?.", "**", "==", "===", "!=", "!==", "<=", "+=", "-=",
    "return", "typeof", "new", "void", "await", "yield", "case", "in", "of", "instanceof",
    "delete", "throw", "extends", "default",
})
_MODIFIERS = frozenset({"export", "declare", "async"})


@dataclass
class _Module:
    functions: dict[str, int] = field(default_factory=dict)  # name → index of its "("
    declarations: dict[str, Declaration] = field(default_factory=dict)


def parse_typescript(code: str, main_name: str = "main") -> MainArgSignature:
    """Describe the arguments of ``main`` in a TypeScript script.

    Raises ScriptSyntaxError (with ``.line``) on code that cannot be tokenized or a ``main``
    signature that cannot be read.
    """
    tokens = tokenize(code)
    try:
        module = _scan_module(tokens)
        has_preprocessor = "preprocessor" in module.functions
        if main_name not in module.functions:
            return make_signature([], auto_kind="lib", has_preprocessor=has_preprocessor)
        resolver = TypeResolver(module.declarations)
        args = _parameters(tokens, module.functions[main_name], code, resolver)
    except RecursionError:
        raise ScriptSyntaxError("syntax error: the script is nested too deeply to parse") from None
    return make_signature(args, has_preprocessor=has_preprocessor)


# --- the module's top level --------------------------------------------------------------------


def _scan_module(tokens: list[Token]) -> _Module:
    module = _Module()
    depth = 0
    prev: Token | None = None
    after_declaration = False
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if depth == 0 and tok.kind == "ident" and (after_declaration
                                                   or _statement_start(prev, tok)):
            end = _declaration(tokens, i, module)
            if end is not None:
                prev, i, after_declaration = tokens[end - 1], end, True
                continue
        after_declaration = False
        if tok.kind == "punct":
            depth += tok.text in ("(", "[", "{")
            depth -= tok.text in (")", "]", "}")
        elif tok.kind == "template":
            depth += tok.text.endswith("${")
            depth -= tok.text.startswith("}")
        prev = tok
        i += 1
    return module


def _statement_start(prev: Token | None, tok: Token) -> bool:
    if prev is None or prev.text in (";", "}", "{"):
        return True
    if prev.text in _CONTINUES_EXPRESSION:
        # An operator continues the expression across lines; a keyword such as `void` only on
        # the same line (`declare function f(): void` ends at the line break).
        if prev.kind == "punct" or prev.text == "default" or not tok.nl_before:
            return False
    return tok.nl_before


def _declaration(tokens: list[Token], start: int, module: _Module) -> int | None:
    """Record the declaration starting at ``start``; the index after it, or None."""
    i = start
    exported_default = False
    while i < len(tokens) and tokens[i].kind == "ident" and tokens[i].text in _MODIFIERS:
        if tokens[i].text == "export" and _text(tokens, i + 1) == "default":
            exported_default = True
            i += 1
        i += 1
    word = _text(tokens, i)
    if word == "function":
        i += 1
        if _text(tokens, i) == "*":
            i += 1
        if i + 1 < len(tokens) and tokens[i].kind == "ident" and tokens[i + 1].text in ("(", "<"):
            name = tokens[i].text
            paren = i + 1
            if tokens[paren].text == "<":
                paren = _skip_balanced(tokens, paren)
            if not exported_default and _text(tokens, paren) == "(":
                module.functions[name] = paren  # a later declaration replaces an earlier one
        return None  # the body is scanned (and skipped) by depth counting
    if word == "const" and [_text(tokens, i + k) for k in range(1, 5)] == \
            ["main", "=", "workflow", "("]:
        # Workflow-as-code's entry point: `export const main = workflow(async (x: T) => …)`.
        # (Beyond parse_deno 1.695.0, which sees no main here; newer Windmill reads it.)
        paren = i + 5 + (_text(tokens, i + 5) == "async")
        if _text(tokens, paren) == "(":
            module.functions["main"] = paren
        return None
    if word in ("type", "interface") and i + 1 < len(tokens) and tokens[i + 1].kind == "ident" \
            and not tokens[i + 1].nl_before:
        try:
            if word == "type":
                return _type_alias(tokens, i + 1, module)
            return _interface(tokens, i + 1, module)
        except TypeParseError:
            return None
    return None


def _type_alias(tokens: list[Token], i: int, module: _Module) -> int | None:
    name = tokens[i].text
    i += 1
    if _text(tokens, i) == "<":
        i = _skip_balanced(tokens, i)
    if _text(tokens, i) != "=":
        return None
    parser = TypeParser(tokens, i + 1)
    module.declarations[name] = Alias(parser.parse_type())
    return parser.pos


def _interface(tokens: list[Token], i: int, module: _Module) -> int | None:
    name = tokens[i].text
    i += 1
    if _text(tokens, i) == "<":
        i = _skip_balanced(tokens, i)
    parents: list[str] = []
    if _text(tokens, i) == "extends":
        parser = TypeParser(tokens, i + 1)
        while True:
            names = parser.entity_name()
            parents.append(names[-1])
            if parser.at("<"):
                parser.skip_balanced()
            if not parser.at(","):
                break
            parser.pos += 1
        i = parser.pos
    if _text(tokens, i) != "{":
        return None
    parser = TypeParser(tokens, i)
    body = parser.object_type()
    members = body.members if isinstance(body, ObjectType) else ()
    module.declarations[name] = Interface(tuple(parents), members)
    return parser.pos


def _text(tokens: list[Token], i: int) -> str | None:
    return tokens[i].text if i < len(tokens) and tokens[i].kind in ("ident", "punct") else None


def _skip_balanced(tokens: list[Token], i: int) -> int:
    parser = TypeParser(tokens, i)
    try:
        parser.skip_balanced()
    except TypeParseError:
        return len(tokens)
    return parser.pos


# --- main's parameters -------------------------------------------------------------------------


def _parameters(tokens: list[Token], paren: int, code: str,
                resolver: TypeResolver) -> list[Arg]:
    args: list[Arg] = []
    anonymous = 0
    i = paren + 1
    while _text(tokens, i) != ")":
        if i >= len(tokens):
            raise _bad_signature(tokens[paren])
        while tokens[i].text == "@" and tokens[i].kind == "punct":  # parameter decorators
            i = _skip_decorator(tokens, i)
        tok = tokens[i]
        if tok.text in ("...", "[") and tok.kind == "punct":
            raise ScriptSyntaxError(
                f"main's parameter at line {tok.line} is a rest or array pattern, which Windmill "
                "cannot read", line=tok.line, hint="use named parameters")
        if tok.text == "{" and tok.kind == "punct":
            anonymous += 1
            name = f"anon{anonymous}"
            i = _skip_balanced(tokens, i)
            optional = False
            if _text(tokens, i) == "?":  # Windmill ignores "?" on a destructured parameter
                i += 1
        elif tok.kind == "ident":
            name = tok.text
            i += 1
            optional = _text(tokens, i) == "?"
            i += optional
        else:
            raise _bad_signature(tok)
        annotation: TypeNode | None = None
        if _text(tokens, i) == ":":
            annotation, i = _annotation(tokens, i + 1)
        default_tokens: list[Token] | None = None
        if _text(tokens, i) == "=":
            end = _expression_end(tokens, i + 1)
            default_tokens = tokens[i + 1:end]
            i = end
        args.append(_argument(name, annotation, optional, default_tokens, code, resolver))
        if _text(tokens, i) == ",":
            i += 1
        elif _text(tokens, i) != ")":
            raise _bad_signature(tokens[min(i, len(tokens) - 1)])
    return args


def _argument(name: str, annotation: TypeNode | None, optional: bool,
              default_tokens: list[Token] | None, code: str, resolver: TypeResolver) -> Arg:
    typ, nullable = resolver.convert(annotation) if annotation is not None else (UNKNOWN, False)
    if default_tokens is None:
        return make_arg(name, typ, default=None, has_default=optional or nullable)
    value, value_typ = read_default(default_tokens, code)
    if typ == UNKNOWN:
        typ = value_typ
    return make_arg(name, typ, default=value, has_default=True)


def _annotation(tokens: list[Token], i: int) -> tuple[TypeNode, int]:
    """Parse a parameter's type; a type we cannot read is skipped and counts as unknown."""
    parser = TypeParser(tokens, i)
    try:
        node = parser.parse_type()
        if _text(tokens, parser.pos) in (",", "=", ")"):
            return node, parser.pos
    except TypeParseError:
        pass
    return OTHER, _expression_end(tokens, i)


def _expression_end(tokens: list[Token], i: int) -> int:
    """The index of the "," or ")" ending the parameter part that starts at ``i``."""
    depth = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.kind == "punct":
            if tok.text in ("(", "[", "{"):
                depth += 1
            elif tok.text in (")", "]", "}"):
                if depth == 0:
                    return i
                depth -= 1
            elif tok.text == "," and depth == 0:
                return i
        elif tok.kind == "template":
            depth += tok.text.endswith("${")
            depth -= tok.text.startswith("}")
        i += 1
    return i


def _skip_decorator(tokens: list[Token], i: int) -> int:
    i += 1
    while i < len(tokens) and (tokens[i].kind == "ident" or tokens[i].text == "."):
        i += 1
    if _text(tokens, i) == "(":
        i = _skip_balanced(tokens, i)
    return i


def _bad_signature(tok: Token) -> ScriptSyntaxError:
    return ScriptSyntaxError(f"syntax error at line {tok.line}: unexpected {tok.text!r} in the "
                             "parameters of main", line=tok.line)

