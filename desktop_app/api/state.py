"""What the API's handlers share: the connection pool, keys and the completion waiter."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from psycopg_pool import AsyncConnectionPool

from desktop_app.api.waiter import CompletionWaiter


@dataclass
class ApiState:
    pool: AsyncConnectionPool[Any]
    database_url: str
    home: Path
    token_key: str
    waiter: CompletionWaiter
    max_body_bytes: int = 16 * 1024 * 1024
    sync_timeout_s: float = 900.0
    secrets: Any = None  # desktop_app.secrets.SecretStore
    resource_dir: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)
