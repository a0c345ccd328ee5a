"""Syntax highlighting for every script language, driven by Pygments tokens.

The whole document is lexed once per edit (scripts are small; Pygments lexes a 1,000-line
file in a few milliseconds) so that multi-line constructs — docstrings, template strings,
block comments — are coloured right; each block then takes its spans from that lexing.
A block's state is a hash of its spans, so an edit that changes how later lines lex
(opening a docstring) makes Qt re-highlight them, and one that does not stops there.
"""

from __future__ import annotations

from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.token import Comment, Keyword, Name, Number, Operator, String, Token, _TokenType
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


class PygmentsHighlighter(QSyntaxHighlighter):
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
        self._formats: dict[str, QTextCharFormat] = {}
        self.set_theme(theme, rehighlight=False)
        self.setDocument(document)

    def _mark_stale(self, *_: object) -> None:
        self._stale = True

    def set_language(self, language: str | None) -> None:
        self.language = language
        self._lexer = lexer_for(language)
        self._stale = True
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
        """(start, length, family) of the coloured runs of `line` (0-based)."""
        self._lex_if_changed()
        return self._lines[line] if 0 <= line < len(self._lines) else []

    def _lex_if_changed(self) -> None:
        doc = self.document()
        if doc is None or not self._stale:
            return
        self._stale = False
        text = doc.toPlainText()
        lines: list[list[tuple[int, int, str]]] = [[]]
        col = 0
        for _pos, token, value in self._lexer.get_tokens_unprocessed(text):
            fam = family(token) if token is not Token.Text else None
            parts = value.split("\n")
            for i, part in enumerate(parts):
                if i:
                    lines.append([])
                    col = 0
                if part and fam:
                    lines[-1].append((col, len(part), fam))
                col += len(part)
        self._lines = lines

    def highlightBlock(self, text: str) -> None:
        spans = self.spans(self.currentBlock().blockNumber())
        for start, length, fam in spans:
            self.setFormat(start, length, self._formats[fam])
        self.setCurrentBlockState(hash(tuple(spans)) & 0x3FFFFFFF)
