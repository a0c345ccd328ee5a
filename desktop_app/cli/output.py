"""How the CLI talks to a person: JSON on stdout, messages on stderr, clear exits."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

from desktop_app.client.http import ClientError


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def fail(message: str, hint: str | None = None, code: int = 2) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    if hint:
        print(f"  hint: {hint}", file=sys.stderr)
    raise SystemExit(code)


def fail_client(exc: ClientError) -> NoReturn:
    fail(exc.message, exc.hint, code=2 if exc.status in (400, 401, 403, 404, 413) else 3)
