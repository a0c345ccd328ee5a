"""Postgres change triggers, the pure rules: Windmill's replication fields
(`replication_slot_name`, `publication_name`, `publication: {transaction_to_track,
table_to_track}`) checked, the CREATE PUBLICATION they describe, and the messages of the
`pgoutput` plugin (protocol version 1) decoded into Windmill's run arguments:
`transaction_type` (insert | update | delete), `schema_name`, `table_name`, `row` and,
when the server sends it, `old_row`.
"""

from __future__ import annotations

import json
import math
import re
import struct
from dataclasses import dataclass, field
from typing import Any

from desktop_app.core.errors import UsageError

TRANSACTIONS = ("Insert", "Update", "Delete")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")
_SLOT = re.compile(r"^[a-z0-9_]{1,63}$")  # Postgres's own rule for slot names


def check(body: dict[str, Any]) -> dict[str, Any]:
    """The replication part of a postgres trigger's config (UsageError names the field)."""
    slot = slot_name(body.get("replication_slot_name"), "replication_slot_name")
    pub = publication_name(body.get("publication_name"), "publication_name")
    publication = body.get("publication")
    if publication is not None:
        publication = check_publication(publication)
    return {"replication_slot_name": slot, "publication_name": pub,
            "publication": publication}


def slot_name(value: Any, field: str) -> str:
    if not isinstance(value, str) or not _SLOT.match(value):
        raise UsageError(f"'{field}' must be a slot name: lower-case letters,"
                         " digits and _, at most 63 characters",
                         hint="e.g. tidemill_orders (created on first connect if missing)")
    return value


def publication_name(value: Any, field: str) -> str:
    if not isinstance(value, str) or not _IDENT.match(value):
        raise UsageError(f"'{field}' must be a PostgreSQL identifier: a letter or _,"
                         " then letters, digits, _ or $, at most 63 characters",
                         hint="e.g. tidemill_orders")
    return value


def check_publication(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UsageError("'publication' must be an object {\"transaction_to_track\": [...],"
                         " \"table_to_track\": [...]}")
    kinds = value.get("transaction_to_track") or list(TRANSACTIONS)
    if not isinstance(kinds, list) or not all(k in TRANSACTIONS for k in kinds):
        raise UsageError("'publication.transaction_to_track' must be a list of Insert,"
                         " Update and Delete")
    tables = value.get("table_to_track")
    checked: list[dict[str, Any]] | None = None
    if tables is not None:
        if not isinstance(tables, list):
            raise UsageError("'publication.table_to_track' must be a list of"
                             ' {"schema_name": "public", "table_to_track": [{"table_name":'
                             ' "orders"}]}')
        checked = []
        for i, rel in enumerate(tables):
            where = f"publication.table_to_track[{i}]"
            if not isinstance(rel, dict) or not _IDENT.match(str(rel.get("schema_name", ""))) \
                    or not isinstance(rel.get("table_to_track"), list):
                raise UsageError(f"'{where}' must be {{\"schema_name\": \"public\","
                                 ' "table_to_track": [{"table_name": "orders"}]}')
            out = []
            for j, t in enumerate(rel["table_to_track"]):
                at = f"{where}.table_to_track[{j}]"
                if not isinstance(t, dict) or not _IDENT.match(str(t.get("table_name", ""))):
                    raise UsageError(f"'{at}.table_name' must be a table name (an identifier)")
                cols = t.get("columns_name") or []
                if not isinstance(cols, list) or not all(isinstance(c, str) and _IDENT.match(c)
                                                         for c in cols):
                    raise UsageError(f"'{at}.columns_name' must be a list of column names")
                clause = t.get("where_clause")
                if clause is not None and (not isinstance(clause, str) or ";" in clause):
                    raise UsageError(f"'{at}.where_clause' must be one SQL condition,"
                                     " e.g. amount > 100")
                out.append({"table_name": t["table_name"], "columns_name": cols or None,
                            "where_clause": clause or None})
            checked.append({"schema_name": rel["schema_name"], "table_to_track": out})
    return {"transaction_to_track": kinds, "table_to_track": checked}


def quote_ident(ident: str) -> str:
    return '"' + ident.replace('"', '""') + '"'


def create_publication_sql(name: str, publication: dict[str, Any]) -> str:
    """CREATE PUBLICATION for Windmill's `publication` object (identifiers are checked by
    `check`; a WHERE clause is the trigger editor's own SQL on their own database)."""
    q = quote_ident
    tables = publication.get("table_to_track")
    if not tables:
        target = "FOR ALL TABLES"
    else:
        parts = []
        for rel in tables:
            for t in rel["table_to_track"]:
                part = f"{q(rel['schema_name'])}.{q(t['table_name'])}"
                if t.get("columns_name"):
                    part += " (" + ", ".join(q(c) for c in t["columns_name"]) + ")"
                if t.get("where_clause"):
                    part += f" WHERE ({t['where_clause']})"
                parts.append(part)
        target = "FOR TABLE " + ", ".join(parts)
    publish = ", ".join(k.lower() for k in publication["transaction_to_track"])
    return f"CREATE PUBLICATION {q(name)} {target} WITH (publish = '{publish}')"


# -- pgoutput -------------------------------------------------------------------------------

_INTS = {20, 21, 23, 26}  # int8, int2, int4, oid
_FLOATS = {700, 701}
_JSON = {114, 3802}


@dataclass
class Relation:
    schema: str
    table: str
    columns: list[tuple[str, int]] = field(default_factory=list)  # (name, type oid)


@dataclass
class Decoder:
    """Decodes one slot's pgoutput messages in order; remembers the relations it was told
    about (a Relation message precedes a table's first change in each session)."""

    relations: dict[int, Relation] = field(default_factory=dict)

    def decode(self, data: bytes) -> dict[str, Any] | None:
        """A change as run arguments, or None for other messages (begin, commit, relation,
        type, origin, truncate)."""
        kind = data[:1]
        if kind == b"R":
            self._relation(data)
            return None
        if kind not in (b"I", b"U", b"D"):
            return None
        (rel_id,) = struct.unpack_from("!I", data, 1)
        rel = self.relations.get(rel_id)
        if rel is None:
            raise UsageError(f"pgoutput: a change of relation {rel_id} came before its"
                             " description")
        pos = 5
        old: dict[str, Any] | None = None
        if kind == b"I":
            row, _ = _tuple(data, pos + 1, rel)  # 'N'
            return _args("insert", rel, row, None)
        if data[pos:pos + 1] in (b"K", b"O"):
            old, pos = _tuple(data, pos + 1, rel)
        if kind == b"D":
            return _args("delete", rel, old or {}, None)
        row, _ = _tuple(data, pos + 1, rel)  # 'N'
        return _args("update", rel, row, old)

    def _relation(self, data: bytes) -> None:
        (rel_id,) = struct.unpack_from("!I", data, 1)
        pos = 5
        schema, pos = _cstring(data, pos)
        table, pos = _cstring(data, pos)
        pos += 1  # replica identity setting
        (ncols,) = struct.unpack_from("!h", data, pos)
        pos += 2
        cols = []
        for _ in range(ncols):
            pos += 1  # flags (part of the key)
            name, pos = _cstring(data, pos)
            oid, _mod = struct.unpack_from("!Ii", data, pos)
            pos += 8
            cols.append((name, oid))
        self.relations[rel_id] = Relation(schema, table, cols)


def _args(kind: str, rel: Relation, row: dict[str, Any],
          old: dict[str, Any] | None) -> dict[str, Any]:
    out = {"transaction_type": kind, "schema_name": rel.schema, "table_name": rel.table,
           "row": row}
    if old is not None:
        out["old_row"] = old
    return out


def _cstring(data: bytes, pos: int) -> tuple[str, int]:
    end = data.index(b"\x00", pos)
    return data[pos:end].decode(), end + 1


def _tuple(data: bytes, pos: int, rel: Relation) -> tuple[dict[str, Any], int]:
    (n,) = struct.unpack_from("!h", data, pos)
    pos += 2
    row: dict[str, Any] = {}
    for i in range(n):
        name, oid = rel.columns[i] if i < len(rel.columns) else (f"column{i}", 25)
        flag = data[pos:pos + 1]
        pos += 1
        if flag == b"n":
            row[name] = None
        elif flag == b"u":  # an unchanged TOASTed value the server did not send
            continue
        else:
            (size,) = struct.unpack_from("!i", data, pos)
            pos += 4
            row[name] = _value(data[pos:pos + size], oid, flag == b"b")
            pos += size
    return row, pos


def _value(raw: bytes, oid: int, binary: bool) -> Any:
    if binary:
        return raw.hex()
    text = raw.decode("utf-8", "replace")
    try:
        if oid in _INTS:
            return int(text)
        if oid in _FLOATS or oid == 1700:
            number = float(text)
            if not math.isfinite(number):  # NaN, Infinity: JSON has no such numbers
                return text
            return int(number) if oid == 1700 and "." not in text and "e" not in text.lower() \
                and abs(number) < 2**53 else number
        if oid == 16:
            return text == "t"
        if oid in _JSON:
            return json.loads(text)
    except ValueError:
        return text
    return text
