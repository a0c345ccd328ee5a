"""One daemon per home: an exclusive lock on a file that dies with the process."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import IO

from desktop_app.core.errors import DaemonError


class InstanceLock:
    def __init__(self, path: Path, info_path: Path) -> None:
        self.path = path
        self.info_path = info_path
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        f = open(self.path, "a+")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
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
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        self._file = f

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
