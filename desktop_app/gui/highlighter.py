"""Syntax highlighting for every script language, driven by Pygments tokens.

Incremental, line by line: for Pygments' regex lexers (all our languages but PostgreSQL)
each line is lexed from the lexer's state stack at the end of the line before, and that
stack is the block's state. Qt re-highlights the following line only when a line's end
state changes, so a keystroke costs one line unless it opens or closes a multi-line
construct (a docstring, a block comment, a template string).

Lexers that need the whole text (PostgreSQL's looks ahead for `LANGUAGE` after `$$`) lex
the whole document once per edit; each block takes its spans from that, and its state is
a hash of its spans so that changes propagate the same way.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from pygments.lexer import ExtendedRegexLexer, Lexer, RegexLexer
from pygments.lexers import get_lexer_by_name
from pygments.token import (
    Comment,
    Error,
    Keyword,
    Name,
    Number,
    Operator,
    String,
    Text,
    Token,
    _TokenType,
)
from PySide6.QtCore import QTimer
from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat, QTextDocument

#: Tidemill language → Pygments lexer alias.
LEXERS = {
    "python3": "python", "bash": "bash", "deno": "typescript", "bun": "typescript",
    "nativets": "typescript", "go": "go", "postgresql": "postgresql", "mysql": "mysql",
    "duckdb": "sql", "bigquery": "sql", "snowflake": "sql", "mssql": "tsql", "oracledb": "sql",
    "graphql": "graphql", "powershell": "powershell", "php": "php", "rust": "rust",
    "csharp": "csharp", "ansible": "yaml", "nu": "bash", "java": "java", "ruby": "ruby",
}

#: Colours per token family, for the light and the dark theme (matching theme.py's palettes).
SCHEMES: dict[str, dict[str, tuple[str, bool, bool]]] = {  # colour, bold, italic
    "light": {"keyword": ("#8b2bb9", True, False), "string": ("#1a7f37", False, False),
              "comment": ("#6b7280", False, True), "number": ("#b35900", False, False),
              "function": ("#2f5fbf", False, False), "class": ("#9a5b00", True, False),
              "builtin": ("#0b7285", False, False), "decorator": ("#9c2f6b", False, False),
              "operator": ("#4b5563", False, False), "type": ("#0b7285", False, False)},
    "dark": {"keyword": ("#c792ea", True, False), "string": ("#a5d6a7", False, False),
             "comment": ("#8b93a3", False, True), "number": ("#f5a15b", False, False),
             "function": ("#82aaff", False, False), "class": ("#ffcb6b", True, False),
             "builtin": ("#7fdbca", False, False), "decorator": ("#f07178", False, False),
             "operator": ("#aab2c0", False, False), "type": ("#7fdbca", False, False)},
}


def family(token: _TokenType) -> str | None:
    """The colour family of a Pygments token type, None for plain text."""
    if token in Comment:
        return "comment"
    if token in String:
        return "string"
    if token in Number:
        return "number"
    if token in Keyword.Type:
        return "type"
    if token in Keyword:
        return "keyword"
    if token in Name.Decorator:
        return "decorator"
    if token in Name.Function:
        return "function"
    if token in Name.Class:
        return "class"
    if token in Name.Builtin:
        return "builtin"
    if token in Operator.Word:
        return "keyword"
    if token in Operator:
        return "operator"
    return None


def lexer_for(language: str | None) -> Lexer:
    try:
        return get_lexer_by_name(LEXERS.get(language or "", "text"), stripnl=False,
                                 ensurenl=False)
    except Exception:  # pygments.util.ClassNotFound: show plain text rather than fail
        return get_lexer_by_name("text", stripnl=False, ensurenl=False)


def line_by_line(lexer: Lexer) -> bool:
    """Whether `lexer` can be resumed at a line start from a saved state stack."""
    return (isinstance(lexer, RegexLexer) and not isinstance(lexer, ExtendedRegexLexer)
            and type(lexer).get_tokens_unprocessed is RegexLexer.get_tokens_unprocessed)


def lex_line(lexer: RegexLexer, text: str, stack: tuple[str, ...]
             ) -> tuple[list[tuple[int, _TokenType, str]], tuple[str, ...]]:
    """The tokens of one line lexed from `stack`, and the stack at its end.

    The same state machine as RegexLexer's own loop, which keeps its stack private.
    """
    rules = lexer._tokens
    states = list(stack)
    current = rules[states[-1]]
    tokens: list[tuple[int, _TokenType, str]] = []
    pos = 0
    while pos < len(text):
        for match_at, action, new_state in current:
            m = match_at(text, pos)
            if not m:
                continue
            if action is not None:
                if type(action) is _TokenType:
                    tokens.append((pos, action, m.group()))
                else:
                    tokens.extend(_callback(action, lexer, m))
            if m.end() == pos and new_state is None:
                continue  # an empty match that changes nothing: try the next rule
            pos = m.end()
            if new_state is not None:
                _transition(states, new_state)
                current = rules[states[-1]]
            break
        else:
            if text[pos] == "\n":  # Pygments resets to the root state on an unmatched EOL
                states = ["root"]
                current = rules["root"]
                tokens.append((pos, Text, "\n"))
            else:
                tokens.append((pos, Error, text[pos]))
            pos += 1
    return tokens, tuple(states)


def _callback(action: object, lexer: RegexLexer, m: object) -> Iterator[tuple[int, _TokenType, str]]:
    return action(lexer, m)  # type: ignore[operator]


def _transition(states: list[str], new_state: object) -> None:
    if isinstance(new_state, tuple):
        for state in new_state:
            if state == "#pop":
                if len(states) > 1:
                    states.pop()
            elif state == "#push":
                states.append(states[-1])
            else:
                states.append(state)
    elif isinstance(new_state, int):
        if abs(new_state) >= len(states):
            del states[1:]
        else:
            del states[new_state:]
    elif new_state == "#push":
        states.append(states[-1])


class SpanCollector:
    """Turns a whole text's tokens, fed one by one, into per-line (start, length, family)."""

    def __init__(self) -> None:
        self.lines: list[list[tuple[int, int, str]]] = [[]]
        self.col = 0

    def add(self, token: _TokenType, value: str) -> None:
        fam = family(token) if token is not Token.Text else None
        for i, part in enumerate(value.split("\n")):
            if i:
                self.lines.append([])
                self.col = 0
            if part and fam:
                self.lines[-1].append((self.col, len(part), fam))
            self.col += len(part)


def whole_text_spans(tokens: Iterator[tuple[int, _TokenType, str]]
                     ) -> list[list[tuple[int, int, str]]]:
    """Per line, the (start, length, family) runs of a whole text's tokens."""
    collector = SpanCollector()
    for _pos, token, value in tokens:
        collector.add(token, value)
    return collector.lines


class PygmentsHighlighter(QSyntaxHighlighter):
    #: quiet time after the last edit before the whole text is lexed again
    SETTLE_MS = 250
    #: longest slice of that lexing between two turns of the event loop
    SLICE_S = 0.008

    def __init__(self, document: QTextDocument, language: str | None = None,
                 theme: str = "light") -> None:
        # Our "text changed" slot must run before Qt's own re-highlighting, which is
        # connected when the document is set: so connect first, then set the document.
        super().__init__(None)  # type: ignore[call-overload]  # (PySide accepts no parent)
        self._stale = True
        document.contentsChange.connect(self._mark_stale)
        self._lines: list[list[tuple[int, int, str]]] = []
        self.language = language
        self._lexer = lexer_for(language)
        self._stacks: list[tuple[str, ...]] = []  # block state → lexer state stack
        self._stack_ids: dict[tuple[str, ...], int] = {}
        self._formats: dict[str, QTextCharFormat] = {}
        # the whole-text pass: spans per line, valid while `full_ready`
        self.full_ready = False
        self._full: list[list[tuple[int, int, str]]] = []
        self._generation = 0
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(self.SETTLE_MS)
        self._settle.timeout.connect(self._start_full_lex)
        self.set_theme(theme, rehighlight=False)
        self.setDocument(document)

    def _mark_stale(self, *_: object) -> None:
        self._stale = True
        self.full_ready = False
        self._generation += 1
        if line_by_line(self._lexer):
            self._settle.start()

    def set_language(self, language: str | None) -> None:
        self.language = language
        self._lexer = lexer_for(language)
        self._stacks, self._stack_ids = [], {}
        self._mark_stale()
        self.rehighlight()

    def set_theme(self, theme: str, rehighlight: bool = True) -> None:
        self._formats = {}
        for name, (colour, bold, italic) in SCHEMES["dark" if theme == "dark" else "light"].items():
            fmt = QTextCharFormat()
            fmt.setForeground(QColor(colour))
            if bold:
                fmt.setFontWeight(QFont.Weight.Bold)
            fmt.setFontItalic(italic)
            self._formats[name] = fmt
        if rehighlight:
            self.rehighlight()

    def spans(self, line: int) -> list[tuple[int, int, str]]:
        """(start, length, family) of `line` (0-based) from lexing the whole text at once."""
        doc = self.document()
        if doc is not None and self._stale:
            self._stale = False
            self._lines = whole_text_spans(self._lexer.get_tokens_unprocessed(doc.toPlainText()))
        return self._lines[line] if 0 <= line < len(self._lines) else []

    # -- the whole-text pass, in slices ------------------------------------------------------
    def _start_full_lex(self) -> None:
        doc = self.document()
        if doc is None:
            return
        generation = self._generation
        tokens = self._lexer.get_tokens_unprocessed(doc.toPlainText())
        collector = SpanCollector()

        def step() -> None:
            if generation != self._generation:
                return  # edited meanwhile: a newer pass will start once typing settles
            deadline = time.perf_counter() + self.SLICE_S
            for _pos, token, value in tokens:
                collector.add(token, value)
                if time.perf_counter() > deadline:
                    QTimer.singleShot(0, step)
                    return
            self._full_lex_done(collector.lines)
        step()

    def _full_lex_done(self, lines: list[list[tuple[int, int, str]]]) -> None:
        self._full = lines
        self.full_ready = True
        doc = self.document()
        block = doc.begin() if doc is not None else None
        # Only the lines the line-by-line pass coloured differently are redone: those inside
        # constructs that one line cannot show (a block comment, a heredoc, a raw string).
        while block is not None and block.isValid():
            n = block.blockNumber()
            want = lines[n] if n < len(lines) else []
            have = block.userState() >> _STACK_BITS if block.userState() >= 0 else -1
            if have != _span_key(want):
                self.rehighlightBlock(block)
            block = block.next()

    def _stack_id(self, stack: tuple[str, ...]) -> int:
        if stack not in self._stack_ids:
            if len(self._stacks) > _STACK_MASK:  # absurdly deep nesting: start afresh
                return 0
            self._stack_ids[stack] = len(self._stacks)
            self._stacks.append(stack)
        return self._stack_ids[stack]

    def highlightBlock(self, text: str) -> None:
        if not line_by_line(self._lexer):
            spans = self.spans(self.currentBlock().blockNumber())
            self._apply(spans)
            self.setCurrentBlockState(hash(tuple(spans)) & 0x3FFFFFFF)
            return
        # The block state carries the lexer's stack at the end of the line (low bits), so
        # the next line can be lexed alone, and a key of the spans shown (high bits).
        previous = self.previousBlockState()
        stack = self._stacks[previous & _STACK_MASK] \
            if previous >= 0 and (previous & _STACK_MASK) < len(self._stacks) else ("root",)
        tokens, end = lex_line(self._lexer, text + "\n", stack)
        number = self.currentBlock().blockNumber()
        if self.full_ready and number < len(self._full):
            spans = self._full[number]
        else:
            spans = [(pos, min(len(value), len(text) - pos), fam) for pos, token, value in tokens
                     if token is not Token.Text and (fam := family(token))
                     and min(len(value), len(text) - pos) > 0]
        self._apply(spans)
        self.setCurrentBlockState((_span_key(spans) << _STACK_BITS) | self._stack_id(end))

    def _apply(self, spans: list[tuple[int, int, str]]) -> None:
        for start, length, fam in spans:
            self.setFormat(start, length, self._formats[fam])


_STACK_BITS = 14  # block state = span key (16 bits) << 14 | lexer stack id (14 bits)
_STACK_MASK = (1 << _STACK_BITS) - 1


def _span_key(spans: list[tuple[int, int, str]]) -> int:
    """A fingerprint of a line's spans (kept in the block state's high bits)."""
    return hash(tuple(_merge(spans))) & 0xFFFF


def _merge(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    out: list[tuple[int, int, str]] = []
    for start, length, fam in sorted(spans):
        if out and out[-1][2] == fam and out[-1][0] + out[-1][1] == start:
            out[-1] = (out[-1][0], out[-1][1] + length, fam)
        elif length:
            out.append((start, length, fam))
    return out
