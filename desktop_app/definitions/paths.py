"""What a path or a name may be: the one rule every kind's create applies, so nothing is
stored that Git sync cannot write as files (issue 15: a 300-character name or a `.git`
component was accepted and then could never reach Git).

An item path is `u/<user>/<name>` or `f/<folder>/<name>` (Windmill's); each component
becomes a directory or a file name, so it must be one on every system Tidemill runs on.
"""

from __future__ import annotations

import re

from desktop_app.core.errors import ArgumentError

#: A component is a file name stem; the longest suffix Git sync adds is
#: `.websocket_trigger.yaml` (23 bytes) and file names hold 255 bytes.
MAX_COMPONENT_BYTES = 200
#: The whole path, so that `$TIDEMILL_HOME/workspace/<path>.<suffix>` stays well inside
#: PATH_MAX everywhere.
MAX_PATH_BYTES = 1000
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)),
             *(f"lpt{i}" for i in range(1, 10))}
_BAD_CHARS = re.compile(r'[\x00-\x1f<>:"\\|?*]')
_EXAMPLE = "for example f/examples/hello or u/alice/hello"


def component_problem(part: str) -> str | None:
    """Why `part` cannot be a file or folder name, or None."""
    if part in ("", ".", ".."):
        return f"has an empty, '.' or '..' component ({part!r})"
    if part.lower() == ".git" or part.lower().startswith(".git/"):
        return "has a '.git' component, which Git keeps for itself"
    if len(part.encode()) > MAX_COMPONENT_BYTES:
        return (f"has a component of {len(part.encode())} bytes; at most"
                f" {MAX_COMPONENT_BYTES} fit in a file name")
    bad = _BAD_CHARS.search(part)
    if bad:
        char = bad.group()
        # NUL is what a client most often sends by mistake (C strings); name it so
        what = "a NUL character ('\\x00')" if char == "\x00" else f"the character {char!r}"
        return f"has {what}, which a file name cannot hold everywhere"
    if part.split(".")[0].lower() in _RESERVED:
        return f"has the component {part!r}, a name Windows reserves for a device"
    if part.endswith((".", " ")):
        return f"has the component {part!r}, which ends with a dot or a space"
    return None


def check_item_path(path: object, field: str = "path", what: str = "item") -> str:
    """`path` if it is an item path Git sync can record; else ArgumentError naming `field`."""
    if not isinstance(path, str) or not path:
        raise ArgumentError(f"'{field}' is required: the {what}'s path", field=field,
                            hint=_EXAMPLE)
    parts = path.split("/")
    if parts[0] not in ("u", "f") or len(parts) < 3:
        raise ArgumentError(f"'{field}' {path[:80]!r} must be f/<folder>/<name> or"
                            " u/<user>/<name>", field=field, hint=_EXAMPLE)
    if len(path.encode()) > MAX_PATH_BYTES:
        raise ArgumentError(f"'{field}' is {len(path.encode())} bytes long; at most"
                            f" {MAX_PATH_BYTES}", field=field, hint="choose a shorter path")
    for part in parts:
        problem = component_problem(part)
        if problem:
            raise ArgumentError(f"'{field}' {path[:80]!r} {problem}", field=field,
                                hint=_EXAMPLE)
    return path


def check_name(name: object, field: str = "name", what: str = "item") -> str:
    """A one-component name (a resource type, a folder) Git sync can use as a file name."""
    if not isinstance(name, str) or not name:
        raise ArgumentError(f"'{field}' is required: the {what}'s name", field=field)
    problem = "has a '/'" if "/" in name else component_problem(name)
    if problem is None and name.startswith("."):
        problem = "starts with a dot"
    if problem:
        raise ArgumentError(f"'{field}' {name[:80]!r} {problem}", field=field)
    return name
