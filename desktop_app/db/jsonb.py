"""JSON values as PostgreSQL's jsonb can store them.

jsonb cannot hold the NUL character: a string with `\\u0000` makes the INSERT fail
("unsupported Unicode escape sequence"), and with it the transaction that completes a
job, which used to take the worker down. A script's result or a workflow step's value may
carry one (bytes decoded as text, a C string), so it is stored with each NUL written out
as the six characters `\\u0000`, as job logs write NUL as `\\0`: the job keeps its result.
"""

from __future__ import annotations

import json
import re
from typing import Any

from psycopg.types.json import Jsonb

# A `\u0000` escape in JSON text that is not itself an escaped backslash followed by
# "u0000": preceded by an even number of backslashes (none, or escaped pairs).
_NUL_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


def storable_json(text: str) -> str:
    """JSON text with every NUL character in its strings written out as `\\u0000`."""
    if "\\u0000" not in text:
        return text
    return _NUL_ESCAPE.sub(lambda m: m.group(1) + "\\\\u0000", text)


def storable(value: Any) -> Jsonb:
    """`Jsonb(value)`, with NUL characters written out (see `storable_json`)."""
    return Jsonb(value, dumps=lambda v: storable_json(json.dumps(v)))
