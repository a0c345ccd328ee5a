"""Where a Tidemill installation keeps its local state ($TIDEMILL_HOME)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs


def default_home() -> Path:
    """TIDEMILL_HOME, else the platform's data folder: `$XDG_DATA_HOME/tidemill`
    (~/.local/share/tidemill) on Linux, ~/Library/Application Support/tidemill on macOS,
    %LOCALAPPDATA%\\tidemill on Windows."""
    env = os.environ.get("TIDEMILL_HOME")
    if env:
        return Path(env).expanduser().resolve()
    return Path(platformdirs.user_data_dir("tidemill", appauthor=False))


@dataclass(frozen=True)
class HomeLayout:
    root: Path

    @property
    def lock_file(self) -> Path:
        return self.root / "daemon.lock"

    @property
    def daemon_info(self) -> Path:
        """JSON written by a running daemon: pid, API URL. Clients read it."""
        return self.root / "daemon.json"

    @property
    def admin_token(self) -> Path:
        """The local admin credential, readable by the owner only."""
        return self.root / "admin.token"

    @property
    def jobs(self) -> Path:
        """`jobs/<worker>/<id>/`: each running job's scratch folder, removed however the
        job ends (`queue/run_folders.py`)."""
        return self.root / "jobs"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def ensure(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)  # the home holds a credential and the job scratch space
        self.logs.mkdir(exist_ok=True)
