"""The `-a NAME=VALUE` and `--args JSON` options of `run` and `schedule create`."""

from __future__ import annotations

import json
from typing import Any

from desktop_app.cli.output import fail
from desktop_app.core.args import coerce_cli_value
from desktop_app.core.errors import ArgumentError


def parse_args(args_json: str | None, kv: list[str], schema: dict[str, Any] | None) -> dict[str, Any]:
    """The arguments of `--args JSON` and `-a NAME=VALUE` options, each value coerced to the
    type its argument has in `schema` (None: no schema known, no names checked)."""
    out: dict[str, Any] = {}
    if args_json:
        try:
            loaded = json.loads(args_json)
        except ValueError as exc:
            fail(f"--args is not valid JSON: {exc}")
        if not isinstance(loaded, dict):
            fail("--args must be a JSON object, e.g. '{\"x\": 1}'")
        out.update(loaded)
    props = (schema or {}).get("properties") or {}
    for item in kv:
        if "=" not in item:
            fail(f"-a takes NAME=VALUE, got {item!r}")
        key, raw = item.split("=", 1)
        if schema is not None and key not in props:
            known = ", ".join(argument_names(schema)) if props else "none: it takes no arguments"
            fail(f"unknown argument {key!r}", f"its arguments are: {known}")
        try:
            out[key] = coerce_cli_value(props.get(key), raw, name=key)
        except ArgumentError as exc:
            fail(exc.message, exc.hint)
    return out


def argument_names(schema: dict[str, Any] | None) -> list[str]:
    """The arguments in the form's order (`order`, as jsonb keeps keys sorted)."""
    props = (schema or {}).get("properties") or {}
    order = [k for k in (schema or {}).get("order") or [] if k in props]
    return order + [k for k in props if k not in order]
