"""Identifiers: time-ordered job ids and content hashes of script versions."""

from __future__ import annotations

import hashlib
import os
import time
import uuid


def new_job_id() -> uuid.UUID:
    """A UUIDv7: time-ordered, so job ids sort by creation and index well."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version 7
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62  # RFC 4122 variant
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)


def script_hash(*parts: str) -> str:
    """Windmill shows script versions as 16 hex digits; ours are a content hash of that size."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]
