"""One daemon per home: an exclusive lock on a file that dies with the process
(`filelock`: flock on POSIX, LockFileEx on Windows)."""

from __future__ import annotations

import json
from pathlib import Path

from filelock import FileLock, Timeout

from desktop_app.core.errors import DaemonError


class InstanceLock:
    def __init__(self, path: Path, info_path: Path) -> None:
        self.path = path
        self.info_path = info_path
        # Kept on release: deleting a lock file another process waits on would let a third
        # lock a fresh file beside it.
        self._lock = FileLock(path, timeout=0, thread_local=False, preserve_lock_file=True)

    def acquire(self) -> None:
        try:
            self._lock.acquire()
        except Timeout:
            where = ""
            try:
                info = json.loads(self.info_path.read_text())
                where = f" (pid {info.get('pid')}, {info.get('url')})"
            except (OSError, ValueError):
                pass
            raise DaemonError(
                f"a Tidemill daemon is already running for {self.path.parent}{where}",
                hint="stop it with `tidemill daemon stop`, or use another --home",
            ) from None

    def release(self) -> None:
        if self._lock.is_locked:
            self._lock.release()
