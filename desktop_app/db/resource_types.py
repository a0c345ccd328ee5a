"""The resource types Tidemill ships (resources/resource_types/*.json), installed into
the default workspace on start when missing; a user's own edits are never overwritten."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from psycopg import AsyncConnection

from desktop_app.db.variables import upsert_resource_type

RESOURCE_TYPES_DIR = Path(__file__).resolve().parents[2] / "resources" / "resource_types"


async def install_resource_types(conn: AsyncConnection[Any], folder: Path,
                                 workspace: str = "main") -> int:
    installed = 0
    for file in sorted(folder.glob("*.json")):
        spec = json.loads(file.read_text())
        installed += await upsert_resource_type(conn, workspace, spec["name"], spec.get("schema"),
                                                spec.get("description") or "", "tidemill",
                                                replace=False)
    return installed
