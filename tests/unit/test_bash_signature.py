"""parse_bash: WINDMILL_SCHEMA.md §4 (Bash) and WINDMILL.md §4.3, as parse_bash 1.764.0 does."""

from __future__ import annotations

from typing import Any

import pytest

from desktop_app.parsing.bash_signature import parse_bash

STR = {"str": None}


def args_of(code: str) -> list[tuple[str, Any, bool]]:
    return [(a["name"], a["default"], a["has_default"]) for a in parse_bash(code)["args"]]


def test_output_shape() -> None:
    assert parse_bash('name="$1"\n') == {
        "star_args": False, "star_kwargs": False,
        "args": [{"name": "name", "otyp": None, "typ": STR, "default": None,
                  "has_default": False, "oidx": None}],
        "auto_kind": None, "has_preprocessor": None,
    }


def test_the_three_forms_and_comments() -> None:
    code = ('#!/bin/bash\nset -e\na="$1"\nb="${2}"\nc="${3:-def}" # comment\nd="${4:-}"\n'
            'e="$5"# tight comment\n\necho "$a"\n')
    assert args_of(code) == [("a", None, False), ("b", None, False), ("c", "def", True),
                             ("d", "", True), ("e", None, False)]
    assert all(a["typ"] == STR for a in parse_bash(code)["args"])


def test_ordered_by_position_and_stops_at_a_gap() -> None:
    assert args_of('x="$2"\ny="$1"\n') == [("y", None, False), ("x", None, False)]
    assert args_of('a="$1"\nb="$3"\n') == [("a", None, False)]
    assert args_of('b="$2"\n') == []
    assert args_of('a="$0"\nb="$1"\n') == [("b", None, False)]


def test_at_most_nineteen_arguments() -> None:
    code = "".join(f'v{i}="${{{i}}}"\n' for i in range(1, 25))
    assert [name for name, _, _ in args_of(code)] == [f"v{i}" for i in range(1, 20)]
    assert args_of("".join(f'v{i}="${i}"\n' for i in range(1, 11)))[-1][0] == "v10"


def test_later_line_for_the_same_position_wins() -> None:
    assert args_of('a="$1"\nb="$1"\n') == [("b", None, False)]
    assert args_of('a="$1"\na="$2"\n') == [("a", None, False), ("a", None, False)]


@pytest.mark.parametrize(("code", "default"), [
    ('a="${1:-$HOME}"\n', "$HOME"),
    ('a="${1:-a b c}"\n', "a b c"),
    ('a="${1:-"q"}"\n', '"q"'),
    ('a="${1:-x}}"\n', "x}"),  # greedy up to the last }"
    ('a="${1:-x} # b}" # c\n', "x} # b"),
])
def test_defaults_are_taken_verbatim(code: str, default: str) -> None:
    assert args_of(code) == [("a", default, True)]


@pytest.mark.parametrize("code", [
    '  a="$1"\n', "a=$1\n", "a='$1'\n", 'export a="$1"\n', 'local a="$1"\n', 'a = "$1"\n',
    'a="${1-x}"\n', 'a="${1:=x}"\n', 'a="$1" ; echo\n', 'a-b="$1"\n', 'é="$1"\n',
    'a="${1:-x}\n', "echo hi\n",
])
def test_lines_that_are_not_arguments(code: str) -> None:
    assert args_of(code) == []


def test_crlf_lines() -> None:
    assert args_of('a="$1"\r\nb="${2:-x}"\r\n') == [("a", None, False), ("b", "x", True)]
