"""The order of a result's columns, kept beside it: results are stored as jsonb, which
sorts object keys (by length, then bytes), so a table the script returned as
`[{"name": …, "age": …}]` would come back as `age, name`. Windmill keeps the same list in
`v2_job_completed.result_columns`; Tidemill fills it for every result that has keys.

The order is the keys of the object a table is read from: the first row of a list of
objects, the object itself (a dict of columns), or either inside a one-key wrapper such
as `{"table-col": {…}}` / `{"table-row-object": […]}`.
"""

from __future__ import annotations

import json
from typing import Any

#: Larger results are not parsed again to learn their order (it costs a few ms per
#: 256 KB on the completing worker); only a list's first row is read then.
_PARSE_LIMIT = 256 * 1024
_MAX_COLUMNS = 500


def columns_of(result: Any) -> list[str] | None:
    """The key order of the object `result`'s table would be read from, if any."""
    for _ in range(2):  # the result, then the value of a one-key wrapper
        first = result[0] if isinstance(result, list) and result else result
        if isinstance(first, dict) and first:
            if len(first) == 1 and isinstance(next(iter(first.values())), dict | list) \
                    and first is result:
                result = next(iter(first.values()))
                continue
            return [str(k) for k in list(first)[:_MAX_COLUMNS]]
        return None
    return None


def columns_of_json(text: str) -> list[str] | None:
    """`columns_of` for a result already serialised: cheap for any size."""
    head = text.lstrip()[:1]
    if head not in ("{", "["):
        return None
    try:
        if len(text) <= _PARSE_LIMIT:
            return columns_of(json.loads(text))
        if head == "[":  # a big table: its first row tells the order
            start = text.index("[") + 1
            while start < len(text) and text[start].isspace():
                start += 1
            first, _ = json.JSONDecoder().raw_decode(text, start)
            return columns_of([first])
    except ValueError:
        return None
    return None
