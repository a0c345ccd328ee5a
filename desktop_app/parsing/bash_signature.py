"""Bash scripts: arguments are the positional parameters copied into named variables.

    name="$1"            a required string argument
    other="${2}"         the same
    count="${3:-10}"     an optional string argument whose default is "10" (may be empty)

Each such line must start at column 0; a trailing ``# comment`` is allowed. Arguments are
numbered from $1 without gaps (Windmill reads $1…$19 and stops at the first missing one); they
are all strings. This reproduces windmill-parser-wasm-regex's ``parse_bash``.
"""

from __future__ import annotations

import re

from desktop_app.parsing.signature import Arg, MainArgSignature, make_arg, make_signature, str_typ

# The default is greedy (it may contain "}" or quotes); the engine backtracks to the last `}"`.
_ARG_LINE = re.compile(
    r'^(?P<name>[A-Za-z0-9_]+)="(?:\$(?P<plain>\d+)|\$\{(?P<braced>\d+)\}'
    r'|\$\{(?P<withdef>\d+):-(?P<default>.*)\})"(?:\s*#.*)?\s*$'
)
_MAX_ARGS = 19


def parse_bash(code: str) -> MainArgSignature:
    """Describe the arguments of a bash script."""
    found: dict[int, Arg] = {}
    for line in code.split("\n"):
        match = _ARG_LINE.match(line)
        if match is None:
            continue
        index = int(match["plain"] or match["braced"] or match["withdef"])
        has_default = match["withdef"] is not None
        # A later line for the same $N replaces an earlier one, as in Windmill.
        found[index] = make_arg(match["name"], str_typ(), default=match["default"],
                                has_default=has_default)
    args: list[Arg] = []
    for index in range(1, _MAX_ARGS + 1):
        if index not in found:
            break
        args.append(found[index])
    return make_signature(args, has_preprocessor=None)
