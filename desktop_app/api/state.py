"""What the API's handlers share: the connection pool, keys, the completion waiter and
the caches of hot lookups."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from psycopg_pool import AsyncConnectionPool

from desktop_app.api.ttl_cache import TtlCache
from desktop_app.core import hosts
from desktop_app.core.permissions import Folder
from desktop_app.db.scripts import SCRIPTS_CHANNEL, ScriptVersion
from desktop_app.queue.waiter import CompletionWaiter

#: How long a cached token row or newest script version may be served. Deploys and
#: archives drop their path at once (here and, by NOTIFY, in other daemons); this bounds
#: anything else, e.g. a token row edited by hand.
LOOKUP_TTL_S = 5.0


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
    # The address users reach the daemon at: links (approvals, resumes) are built from it,
    # never from the request's Host. The daemon sets it (--public-url, else its own URL).
    public_url: str = "http://127.0.0.1:8765"
    # The names the API answers to (Host); see core/hosts.py.
    allowed_hosts: frozenset[str] = hosts.LOOPBACK_NAMES
    extra: dict[str, Any] = field(default_factory=dict)
    # daemon/db_watch.DatabaseHealth (its `as_dict()`), for /api/health; None in tests
    database_health: Any = None
    # token hash → (owner, scope, path globs, owner's role)
    tokens: TtlCache[tuple[str, str, list[str] | None, str]] = field(
        default_factory=lambda: TtlCache(LOOKUP_TTL_S))
    # (workspace, folder name) → its grants, None when no such folder
    folders: TtlCache[Folder | None] = field(default_factory=lambda: TtlCache(LOOKUP_TTL_S))
    # (workspace, path) → the newest version there
    scripts: TtlCache[ScriptVersion] = field(default_factory=lambda: TtlCache(LOOKUP_TTL_S))

    def __post_init__(self) -> None:
        self.waiter.watch(SCRIPTS_CHANNEL, self._scripts_changed)

    def _scripts_changed(self, payload: str | None) -> None:
        try:
            workspace, path = json.loads(payload) if payload else (None, None)
        except (ValueError, TypeError):
            workspace = path = None
        if workspace is None:
            self.scripts.clear()
        else:
            self.scripts.drop((workspace, path))
