"""Building OpenFlow documents in tests without noise."""

from __future__ import annotations

from typing import Any


def js(expr: str) -> dict[str, Any]:
    return {"type": "javascript", "expr": expr}


def static(value: Any) -> dict[str, Any]:
    return {"type": "static", "value": value}


def py(id_: str, code: str, **inputs: dict[str, Any]) -> dict[str, Any]:
    return {"id": id_, "value": {"type": "rawscript", "language": "python3", "content": code,
                                 "input_transforms": inputs}}


def sh(id_: str, code: str, **inputs: dict[str, Any]) -> dict[str, Any]:
    return {"id": id_, "value": {"type": "rawscript", "language": "bash", "content": code,
                                 "input_transforms": inputs}}


def identity(id_: str) -> dict[str, Any]:
    return {"id": id_, "value": {"type": "identity"}}


def flow(*modules: dict[str, Any], **value: Any) -> dict[str, Any]:
    return {"summary": "test flow", "value": {"modules": list(modules), **value},
            "schema": {"$schema": "https://json-schema.org/draft/2020-12/schema",
                       "type": "object", "properties": {}, "required": []}}


ECHO = "def main(x=None):\n    return x\n"
