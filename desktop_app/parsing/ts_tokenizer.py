"""A small TypeScript tokenizer: enough of the language to read declarations and signatures.

It splits the whole file into tokens (identifiers, punctuators, string/number/template/regex
literals) skipping comments, decodes string literals and number values the way JavaScript
does, and checks that brackets balance, so an unterminated string or a missing ``}`` anywhere
is reported as a syntax error with its line — Windmill (which parses the whole file with swc)
refuses such a script too.

Deliberately simple: ``>`` is always a token of its own (so ``Array<Array<T>>`` closes two
generic lists), and whether ``/`` starts a regular expression is decided from the previous
token, as most hand-written JavaScript scanners do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from desktop_app.core.errors import ScriptSyntaxError

# Longest first. ">" never combines (">>", ">=") so generic argument lists close one by one.
_PUNCTUATORS = (
    "...", "===", "!==", "**=", "<<=", "&&=", "||=", "??=",
    "=>", "==", "!=", "<=", "&&", "||", "??", "?.", "++", "--", "+=", "-=", "*=", "/=", "%=",
    "&=", "|=", "^=", "**", "<<",
    "{", "}", "(", ")", "[", "]", ";", ",", "<", ">", "+", "-", "*", "/", "%", "&", "|", "^",
    "!", "~", "?", ":", "=", ".", "@", "#",
)
# After these words an expression starts, so "/" opens a regular expression.
_KEYWORDS_BEFORE_EXPRESSION = frozenset({
    "return", "typeof", "instanceof", "in", "of", "new", "delete", "void", "throw", "case",
    "do", "else", "yield", "await",
})
_CLOSERS = {")": "(", "]": "[", "}": "{"}
_NUMBER = re.compile(
    r"0[xX][0-9a-fA-F_]+n?|0[oO][0-7_]+n?|0[bB][01_]+n?"
    r"|(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?n?"
)
_IDENT_START = re.compile(r"[A-Za-z_$\u0080-\U0010ffff]")
_IDENT = re.compile(r"[A-Za-z0-9_$\u0080-\U0010ffff\u200c\u200d]+")
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v"}


@dataclass(frozen=True)
class Token:
    """One token. ``value`` is the decoded string, the number (float; int for a bigint), the
    cooked text of a template without substitutions, or None."""

    kind: str  # ident | punct | string | number | bigint | template | regex | private
    text: str
    start: int
    end: int
    line: int
    nl_before: bool  # a line break separates it from the previous token
    value: Any = None


def tokenize(code: str) -> list[Token]:
    """All tokens of ``code``; ScriptSyntaxError on an unterminated literal or bad brackets."""
    return _Scanner(code).run()


class _Scanner:
    def __init__(self, code: str) -> None:
        self.code = code
        self.pos = 0
        self.line = 1
        self.tokens: list[Token] = []
        self.nl = False
        # Open brackets; "${" marks a template substitution whose "}" resumes the template.
        self.stack: list[tuple[str, int]] = []

    def run(self) -> list[Token]:
        code = self.code
        if code.startswith("#!"):
            self.pos = code.find("\n") if "\n" in code else len(code)
        while True:
            self._skip_space_and_comments()
            if self.pos >= len(code):
                break
            self._next_token()
        if self.stack:
            opener, line = self.stack[-1]
            raise ScriptSyntaxError(f"syntax error at line {line}: '{opener}' is never closed",
                                    line=line)
        return self.tokens

    def _error(self, message: str, line: int | None = None) -> ScriptSyntaxError:
        where = line or self.line
        return ScriptSyntaxError(f"syntax error at line {where}: {message}", line=where)

    def _skip_space_and_comments(self) -> None:
        code, n = self.code, len(self.code)
        while self.pos < n:
            ch = code[self.pos]
            if ch == "\n" or ch == "\u2028" or ch == "\u2029":
                self.line += 1
                self.nl = True
                self.pos += 1
            elif ch.isspace() or ch == "\ufeff":
                self.pos += 1
            elif code.startswith("//", self.pos):
                end = code.find("\n", self.pos)
                self.pos = n if end < 0 else end
            elif code.startswith("/*", self.pos):
                end = code.find("*/", self.pos + 2)
                if end < 0:
                    raise self._error("unterminated comment")
                newlines = code.count("\n", self.pos, end)
                self.line += newlines
                self.nl = self.nl or newlines > 0
                self.pos = end + 2
            else:
                return

    def _emit(self, kind: str, start: int, value: Any = None, line: int | None = None) -> None:
        self.tokens.append(Token(kind, self.code[start:self.pos], start, self.pos,
                                 line or self.line, self.nl, value))
        self.nl = False

    def _next_token(self) -> None:
        code, start, ch = self.code, self.pos, self.code[self.pos]
        if ch in "\"'":
            line = self.line
            value = self._string(ch)
            self._emit("string", start, value, line)
        elif ch == "`":
            self.pos += 1
            self._template_part(start, opening=True)
        elif ch == "}" and self.stack and self.stack[-1][0] == "${":
            self.stack.pop()
            self.pos += 1
            self._template_part(start, opening=False)
        elif ch.isdigit() or (ch == "." and code[start + 1:start + 2].isdigit()):
            self._number()
        elif _IDENT_START.match(ch) or ch == "\\":
            self._identifier("ident")
        elif ch == "#" and start + 1 < len(code) and _IDENT_START.match(code[start + 1]):
            self.pos += 1
            self._identifier("private", start)
        elif ch == "/" and self._regex_allowed():
            self._regex()
        else:
            self._punctuator()

    def _identifier(self, kind: str, start: int | None = None) -> None:
        begin = self.pos if start is None else start
        match = _IDENT.match(self.code, self.pos)
        if match is None:
            raise self._error(f"unexpected character {self.code[self.pos]!r}")
        self.pos = match.end()
        self._emit(kind, begin)

    def _punctuator(self) -> None:
        code, start = self.code, self.pos
        for punct in _PUNCTUATORS:
            if code.startswith(punct, start):
                if punct == "?." and code[start + 2:start + 3].isdigit():
                    continue  # "a?.5:1" is a conditional
                self.pos += len(punct)
                self._track_bracket(punct)
                self._emit("punct", start)
                return
        raise self._error(f"unexpected character {code[start]!r}")

    def _track_bracket(self, punct: str) -> None:
        if punct in "([{":
            self.stack.append((punct, self.line))
        elif punct in _CLOSERS:
            if not self.stack or self.stack[-1][0] != _CLOSERS[punct]:
                raise self._error(f"unexpected '{punct}'")
            self.stack.pop()

    def _regex_allowed(self) -> bool:
        if not self.tokens:
            return True
        prev = self.tokens[-1]
        if prev.kind == "punct":
            return prev.text not in (")", "]", "}")
        if prev.kind == "ident":
            return prev.text in _KEYWORDS_BEFORE_EXPRESSION
        return prev.kind == "template" and prev.text.endswith("${")

    def _regex(self) -> None:
        code, start, n = self.code, self.pos, len(self.code)
        pos, in_class = start + 1, False
        while True:
            if pos >= n or code[pos] == "\n":
                raise self._error("unterminated regular expression")
            ch = code[pos]
            if ch == "\\":
                pos += 2
                continue
            if ch == "[":
                in_class = True
            elif ch == "]":
                in_class = False
            elif ch == "/" and not in_class:
                break
            pos += 1
        match = _IDENT.match(code, pos + 1)
        self.pos = match.end() if match else pos + 1
        self._emit("regex", start)

    def _number(self) -> None:
        start = self.pos
        match = _NUMBER.match(self.code, start)
        assert match is not None
        text = match.group()
        self.pos = match.end()
        if self.pos < len(self.code) and _IDENT_START.match(self.code[self.pos]):
            raise self._error(f"invalid number {self.code[start:self.pos + 1]!r}")
        digits = text.replace("_", "")
        if digits.endswith("n"):
            self._emit("bigint", start, int(digits[:-1], 0) if digits[1:2].isalpha()
                       else int(digits[:-1]))
            return
        if digits[:2].lower() in ("0x", "0o", "0b"):
            value = float(int(digits, 0))
        elif re.fullmatch(r"0[0-7]+", digits):
            value = float(int(digits, 8))  # legacy octal
        else:
            value = float(digits)
        self._emit("number", start, value)

    def _string(self, quote: str) -> str:
        code, n = self.code, len(self.code)
        self.pos += 1
        out: list[str] = []
        while True:
            if self.pos >= n or code[self.pos] == "\n":
                raise self._error("unterminated string")
            ch = code[self.pos]
            if ch == quote:
                self.pos += 1
                return "".join(out)
            if ch == "\\":
                out.append(self._escape())
            else:
                out.append(ch)
                self.pos += 1

    def _escape(self) -> str:
        """Decode the escape at ``self.pos`` (a backslash), advancing past it."""
        code = self.code
        start = self.pos
        ch = code[start + 1:start + 2]
        self.pos = start + 2
        if ch in _SIMPLE_ESCAPES:
            return _SIMPLE_ESCAPES[ch]
        if ch == "\r":
            if code.startswith("\n", self.pos):
                self.pos += 1
            return ""
        if ch in ("\n", "\u2028", "\u2029"):
            self.line += ch == "\n"
            return ""
        if ch == "x":
            digits = code[self.pos:self.pos + 2]
            if not re.fullmatch(r"[0-9a-fA-F]{2}", digits):
                raise self._error("invalid \\x escape")
            self.pos += 2
            return chr(int(digits, 16))
        if ch == "u":
            return self._unicode_escape(start)
        if ch.isdigit() and ch not in "89":
            octal = re.match(r"[0-7]{1,3}", code[start + 1:start + 4])
            assert octal is not None
            text = octal.group()
            if int(text, 8) > 255:
                text = text[:2]
            self.pos = start + 1 + len(text)
            return chr(int(text, 8))
        if not ch:
            raise self._error("unterminated string")
        return ch

    def _unicode_escape(self, start: int) -> str:
        code = self.code
        braced = re.match(r"\{([0-9a-fA-F]+)\}", code[self.pos:self.pos + 10])
        if braced:
            self.pos += braced.end()
            point = int(braced.group(1), 16)
            if point > 0x10FFFF:
                raise self._error("invalid unicode escape")
            return chr(point)
        digits = code[self.pos:self.pos + 4]
        if not re.fullmatch(r"[0-9a-fA-F]{4}", digits):
            raise self._error("invalid unicode escape")
        self.pos += 4
        point = int(digits, 16)
        if 0xD800 <= point <= 0xDFFF:
            # swc keeps surrogate escapes as their source text (what Windmill then shows).
            return code[start:self.pos]
        return chr(point)

    def _template_part(self, start: int, *, opening: bool) -> None:
        """Scan template text up to "`" (the end) or "${" (a substitution)."""
        code, n = self.code, len(self.code)
        line = self.line
        cooked: list[str] | None = []
        while True:
            if self.pos >= n:
                raise self._error("unterminated template literal", line)
            ch = code[self.pos]
            if ch == "`":
                self.pos += 1
                whole = opening
                self._emit("template", start, "".join(cooked) if whole and cooked is not None
                           else None, line)
                return
            if code.startswith("${", self.pos):
                self.pos += 2
                self.stack.append(("${", self.line))
                self._emit("template", start, None, line)
                return
            if ch == "\\":
                try:
                    text = self._escape()
                except ScriptSyntaxError:
                    cooked = None  # allowed in tagged templates: no cooked value
                    self.pos += 1
                    continue
                if cooked is not None:
                    cooked.append(text)
            else:
                if ch == "\n":
                    self.line += 1
                if cooked is not None:
                    cooked.append(ch)
                self.pos += 1
