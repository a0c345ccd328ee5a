"""Reading one field of a JSON body: present and of the right type, or an ArgumentError
that names it (so every 400 says which field is wrong)."""

from __future__ import annotations

import re
from typing import Any

from desktop_app.core.errors import ArgumentError, UsageError


def field_of(body: dict[str, Any], name: str, kind: type | tuple[type, ...],
             what: str) -> Any:
    """`body[name]` if present and not null, checked to be of `kind` (`what` names it)."""
    value = body.get(name)
    if value is None:
        return None
    kinds = kind if isinstance(kind, tuple) else (kind,)
    # bool is an int in Python, never in JSON
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in kinds):
        raise ArgumentError(f"'{name}' must be {what}", field=name)
    return value


def in_item(error: UsageError, what: str) -> UsageError:
    """The same error, its message prefixed with the item it is about (`schedule f/x/y`),
    keeping its class, field and hint."""
    error.message = f"{what}: {error.message}"
    error.args = (error.message,)
    return error


_QUOTED_NAME = re.compile(r"^'([A-Za-z_][A-Za-z0-9_.\[\]]*)'")


def named(error: UsageError, field: str | None = None) -> ArgumentError:
    """A rule's UsageError as an ArgumentError naming its field: `field`, else the
    `'name'` its message begins with (the pure rules in core/ word them so)."""
    if isinstance(error, ArgumentError) and error.field:
        return error
    if field is None:
        m = _QUOTED_NAME.match(error.message)
        field = m.group(1) if m else None
    out = ArgumentError(error.message, field=field, hint=error.hint)
    return out


# Fields that steer one request and describe nothing of the item: never stored, so
# `get` never echoes them back (wmill would then see a change on every later sync).
REQUEST_ONLY = frozenset({"skip_draft_deletion", "auto_parent", "deployment_message",
                          "preserve_on_behalf_of"})


def without_request_only(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if k not in REQUEST_ONLY}
