"""The home's `jobs/` folder: one scratch folder per worker run, and what a starting daemon
may clear.

A run's folder is `jobs/<worker>/<id>` (as Windmill's `<worker>/<job id>`: the job's
folder is named by its id, which scripts may rely on). A job can be run again (a retry, a
workflow's next round, a re-queue after its worker was lost) by another worker of the same
home while the last run's folder is still being cleared: under per-worker folders no run
ever clears or writes another's files.

Each worker process holds a lock on `jobs/.alive-<worker>` while it lives (the kernel drops
it when the process dies, kill -9 included). A starting daemon clears only what no living
worker holds: its own workers died with the previous daemon, but a `tidemill worker` started
by hand on the same home may still be running a job.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from pathlib import Path

from filelock import FileLock, Timeout

from desktop_app.core.errors import Conflict

_ALIVE = ".alive-"
# worker/zygote.py's slot, `.zygote-<worker pid>-<n>`: inside its worker's folder now; at the
# top of `jobs/` as homes of earlier versions left it
_ZYGOTE = ".zygote-"


def _safe(worker: str) -> str:
    return worker.replace("/", "_").replace(os.sep, "_")


def run_folder(jobs_dir: Path, job_id: uuid.UUID, worker: str) -> Path:
    """One worker's scratch folder for a run of a job."""
    return jobs_dir / _safe(worker) / str(job_id)


def let_go(jobs_dir: Path, worker: str, lock: FileLock) -> None:
    """A worker's orderly end: its (empty) folder and its marker go with it."""
    lock.release()
    with contextlib.suppress(OSError):
        (jobs_dir / _safe(worker)).rmdir()
        (jobs_dir / f"{_ALIVE}{_safe(worker)}").unlink()


def hold_alive(jobs_dir: Path, worker: str) -> FileLock:
    """Mark this worker alive for as long as the process holds the returned lock."""
    jobs_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(jobs_dir / f"{_ALIVE}{_safe(worker)}", timeout=0, thread_local=False)
    try:
        lock.acquire()
    except Timeout:
        raise Conflict(f"a worker named {worker!r} already runs on {jobs_dir.parent}",
                       hint="give this one another --name") from None
    return lock


def _alive(jobs_dir: Path, worker: str) -> bool:
    marker = jobs_dir / f"{_ALIVE}{worker}"
    if not marker.exists():
        return False
    probe = FileLock(marker, timeout=0, thread_local=False)
    try:
        probe.acquire()
    except Timeout:
        return True
    probe.release()
    return False


def pid_alive(pid: int) -> bool:
    """Whether a process of this machine lives (a zombie, dead but not yet reaped by its
    parent, does not). The reaper judges lost workers by it too."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (a dead child its parent has not reaped yet) is gone
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return True


def sweep(jobs_dir: Path) -> list[Path]:
    """Remove what no living worker of this home holds: run folders, zygote slots and
    alive markers of dead workers. Returns what was removed."""
    if not jobs_dir.is_dir():
        return []
    removed: list[Path] = []
    for entry in sorted(jobs_dir.iterdir()):
        name = entry.name
        if name.startswith(_ALIVE):
            continue  # judged with their runs below, removed last
        if name.startswith(_ZYGOTE):
            pid = name[len(_ZYGOTE):].split("-", 1)[0]
            if pid.isdigit() and pid_alive(int(pid)):
                continue
        elif _alive(jobs_dir, name):  # a worker's folder of runs: `<worker>/<id>`
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    for marker in sorted(jobs_dir.glob(f"{_ALIVE}*")):
        if not _alive(jobs_dir, marker.name[len(_ALIVE):]):
            marker.unlink(missing_ok=True)
            removed.append(marker)
    return removed
