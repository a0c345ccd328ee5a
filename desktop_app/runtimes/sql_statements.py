"""Splitting a SQL script into statements and finding its `$1` / `$name` parameters.

A statement ends at a `;` outside quotes and comments. Strings ('…', E'…'), quoted
identifiers ("…"), comments (--, nested /* */) and dollar-quoted bodies ($$…$$, $fn$…$fn$)
are skipped whole, so a `;` or `$1` inside a function body is left alone. Statements made
only of comments and blanks are dropped.

    split_statements("select $1;\\n-- note\\nselect 2")
    → [Statement(text="select $1", line=1, params=[Param(7, 9, "1")]),
       Statement(text="\\n-- note\\nselect 2", line=1, params=[])]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")
_PARAM = re.compile(r"\$(\d+|[A-Za-z_][A-Za-z0-9_]*)")
_IDENT_CHAR = re.compile(r"[A-Za-z0-9_$]")


@dataclass
class Param:
    start: int  # offset of the `$` in the statement's text
    end: int
    key: str  # "1" for $1, "name" for $name


@dataclass
class Statement:
    text: str
    line: int  # line of the script (1-based) where `text` begins
    params: list[Param] = field(default_factory=list)

    def line_at(self, offset: int) -> int:
        """The script line of an offset (0-based) into `text`."""
        return self.line + self.text.count("\n", 0, max(offset, 0))


def split_statements(code: str) -> list[Statement]:
    """The script's statements in order, with the offsets of their parameters."""
    statements: list[Statement] = []
    start, line = 0, 1
    params: list[Param] = []
    meaningful = False  # anything but blanks and comments since `start`
    i, n = 0, len(code)

    def close(end: int) -> None:
        nonlocal start, line, params, meaningful
        text = code[start:end]
        if meaningful:
            statements.append(Statement(text, line, params))
        line += text.count("\n")
        start, params, meaningful = end, [], False

    while i < n:
        c = code[i]
        if c == "-" and code.startswith("--", i):
            nl = code.find("\n", i)
            i = n if nl < 0 else nl
        elif c == "/" and code.startswith("/*", i):
            i = _skip_block_comment(code, i)
        elif c == "'":
            meaningful = True
            backslash = i > 0 and code[i - 1] in "eE" and not _is_ident(code, i - 2)
            i = _skip_quoted(code, i, "'", backslash)
        elif c == '"':
            meaningful = True
            i = _skip_quoted(code, i, '"', False)
        elif c == "$" and not _is_ident(code, i - 1):
            meaningful = True
            tag = _DOLLAR_TAG.match(code, i)
            if tag is not None:
                closing = code.find(tag.group(0), tag.end())
                i = n if closing < 0 else closing + len(tag.group(0))
                continue
            param = _PARAM.match(code, i)
            if param is not None:
                params.append(Param(i - start, param.end() - start, param.group(1)))
                i = param.end()
            else:
                i += 1
        elif c == ";":
            close(i)
            start += 1  # the `;` belongs to no statement
            i += 1
        else:
            if not c.isspace():
                meaningful = True
            i += 1
    close(n)
    return statements


def _is_ident(code: str, i: int) -> bool:
    return i >= 0 and _IDENT_CHAR.match(code, i) is not None


def _skip_block_comment(code: str, i: int) -> int:
    depth, i = 0, i
    while i < len(code):
        if code.startswith("/*", i):
            depth, i = depth + 1, i + 2
        elif code.startswith("*/", i):
            depth, i = depth - 1, i + 2
            if depth == 0:
                return i
        else:
            i += 1
    return i


def _skip_quoted(code: str, i: int, quote: str, backslash: bool) -> int:
    i += 1
    while i < len(code):
        c = code[i]
        if backslash and c == "\\":
            i += 2
        elif c == quote:
            if code.startswith(quote * 2, i):
                i += 2
            else:
                return i + 1
        else:
            i += 1
    return i


def with_named_placeholders(stmt: Statement, prefix: str = "p") -> str:
    """The statement for psycopg: `$1` → `%(p1)s`, and every other `%` doubled."""
    out: list[str] = []
    pos = 0
    for p in stmt.params:
        out.append(stmt.text[pos:p.start].replace("%", "%%"))
        out.append(f"%({prefix}{p.key})s")
        pos = p.end
    out.append(stmt.text[pos:].replace("%", "%%"))
    return "".join(out)
