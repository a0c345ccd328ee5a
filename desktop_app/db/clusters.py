"""Embedded clusters kept outside their homes (`/var/lib/tidemill/clusters/*`, root only):
which home each belongs to, which are orphans, and removing those.

A cluster belongs to a home when the home's `postgres/LOCATION` names it. It is an
orphan when its home is gone, or was made again and points to another cluster (or to
none): nothing will ever start it again, and it holds the old home's data.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from desktop_app.db.embedded import SYSTEM_DIR, is_postmaster_of

#: A cluster younger than this may be a home being set up right now (LOCATION not yet
#: written): never called an orphan.
SETTLING_S = 60.0
_STOP_WAIT_S = 30.0


@dataclass(frozen=True)
class Cluster:
    path: Path
    home: Path | None  # from its HOME file; None when unreadable
    orphan: bool
    why: str  # whose it is, or why it is an orphan
    size_bytes: int
    running_pid: int | None  # a postmaster serving it now


def list_clusters(system_dir: Path = SYSTEM_DIR) -> list[Cluster]:
    """Every cluster folder under `system_dir/clusters`, oldest first."""
    root = system_dir / "clusters"
    if not root.is_dir():
        return []
    found = [_inspect(p) for p in root.iterdir() if p.is_dir() and not p.is_symlink()]
    return sorted(found, key=lambda c: _mtime(c.path))


def orphans(system_dir: Path = SYSTEM_DIR) -> list[Cluster]:
    return [c for c in list_clusters(system_dir) if c.orphan]


def remove(cluster: Cluster) -> None:
    """Stop the cluster's server if one still runs (fast shutdown), then delete it."""
    if cluster.running_pid is not None:
        os.kill(cluster.running_pid, signal.SIGINT)  # postgres: fast shutdown
        deadline = time.monotonic() + _STOP_WAIT_S
        while is_postmaster_of(cluster.running_pid, cluster.path / "data"):
            if time.monotonic() > deadline:
                raise OSError(f"the server of {cluster.path} (pid {cluster.running_pid}) did not "
                              f"stop within {_STOP_WAIT_S:g} s")
            time.sleep(0.1)
    shutil.rmtree(cluster.path)


def _inspect(path: Path) -> Cluster:
    home = _home_of(path)
    pid = _running_pid(path / "data")
    orphan, why = _belongs(path, home)
    if orphan and time.time() - _mtime(path) < SETTLING_S:
        orphan, why = False, "just created (a home being set up?)"
    return Cluster(path=path, home=home, orphan=orphan, why=why, size_bytes=_size(path),
                   running_pid=pid)


def _belongs(path: Path, home: Path | None) -> tuple[bool, str]:
    if home is None:
        return True, "it names no home (no HOME file)"
    if not home.is_dir():
        return True, f"its home {home} no longer exists"
    pointer = home / "postgres" / "LOCATION"
    try:
        named = Path(pointer.read_text().split("\n")[0].strip())
    except OSError:
        return True, f"{home} was made again and does not use it (no postgres/LOCATION)"
    if named.resolve() != path.resolve():
        return True, f"{home} was made again and uses {named}"
    return False, f"in use by {home}"


def _home_of(path: Path) -> Path | None:
    try:
        text = (path / "HOME").read_text().strip()
    except OSError:
        return None
    return Path(text) if text else None


def _running_pid(data: Path) -> int | None:
    try:
        pid = int((data / "postmaster.pid").read_text().split("\n")[0])
    except (OSError, ValueError):
        return None
    return pid if is_postmaster_of(pid, data) else None


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _size(path: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total
