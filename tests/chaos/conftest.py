from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One uv cache and venv store for the session's daemons."""
    return tmp_path_factory.mktemp("tidemill-cache")


@pytest.fixture(autouse=True, scope="session")
def _real_keyring(secret_service: object) -> object:
    """Every daemon here keeps secrets in a real gnome-keyring (D-Bus session)."""
    return secret_service
