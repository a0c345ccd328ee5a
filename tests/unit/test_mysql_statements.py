"""Splitting a MySQL script: `;`, `?` and `:name` count only outside strings, quoted
identifiers and comments; PyMySQL's `%` is doubled."""

from __future__ import annotations

import pytest

from desktop_app.core.errors import ScriptSyntaxError
from desktop_app.runtimes.mysql_statements import mysql_spec, split_mysql


def test_placeholders_and_semicolons_in_quotes_and_comments_are_text() -> None:
    code = ("-- :name (text)\n"
            "SELECT 'a;b?:c', \"it\\'s;\", `we;ird`, :name, 5 % 2; # a ; comment ?\n"
            "/* ; :x */ SET @v := 1;\n")
    first, second = split_mysql(code)
    assert first.params == ["name"] and first.line == 2
    assert first.text.endswith("`we;ird`, %(name)s, 5 %% 2")
    assert second.params == [] and second.line == 3  # `:=` is an assignment, not :name


def test_positional_arguments_bind_in_declaration_order() -> None:
    sig = [{"name": "a", "otyp": "int", "has_default": False},
           {"name": "b", "otyp": "int", "has_default": True, "default": 7}]
    spec = mysql_spec("SELECT ? + ?;", {"a": 1}, sig)
    assert spec["statements"][0]["text"] == "SELECT %s + %s"
    assert spec["statements"][0]["values"] == [1, 7]
    with pytest.raises(ScriptSyntaxError, match="3 '\\?' placeholders but the script declares 2"):
        mysql_spec("SELECT ?, ?, ?;", {"a": 1}, sig)
