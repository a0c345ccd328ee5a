"""Secret values for flow expressions (`variable("u/x/secret")`), read from the same OS
keyring the API writes. Opened on first use: most flows read no secret."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

_store: Any = None
_instance: str | None = None


def configure(home: Path, instance: str) -> None:
    """Called by each process that runs the flow engine (daemon, workers)."""
    global _instance, _home, _store
    _instance, _home, _store = instance, home, None


_home: Path | None = None


def secret_value(workspace: str, ref: str) -> str | None:
    global _store
    if _store is None:
        if _instance is None:
            return None
        from desktop_app.secrets.store import open_secret_store

        _store = open_secret_store(_home or Path(os.environ.get("TIDEMILL_HOME", ".")), _instance)
    value: str | None = _store.get(workspace, ref)
    return value
