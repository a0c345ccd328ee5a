"""Keeps N worker processes alive: restarts one that dies, drains them on stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)


def _die_with_parent() -> None:
    from desktop_app.worker.process import _die_with_parent as die

    die()


@dataclass
class WorkerSlot:
    index: int
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started_at: float = 0.0
    recent_deaths: list[float] = field(default_factory=list)


class WorkerSupervisor:
    def __init__(self, count: int, *, database_url: str, home: Path, base_url: str,
                 name_prefix: str, heartbeat_s: float, log_dir: Path) -> None:
        self.count = count
        self.database_url = database_url
        self.home = home
        self.base_url = base_url
        self.name_prefix = name_prefix
        self.heartbeat_s = heartbeat_s
        self.log_dir = log_dir
        self.slots = [WorkerSlot(i) for i in range(count)]
        self._stopping = False

    def _spawn(self, slot: WorkerSlot) -> None:
        # A restarted worker gets a new name: the reaper tells the jobs of the dead process
        # from those of its successor by the name they were claimed under.
        name = f"{self.name_prefix}-w{slot.index}" + (f".{slot.restarts}" if slot.restarts else "")
        cmd = [sys.executable, "-m", "desktop_app.worker",
               "--database-url", self.database_url, "--home", str(self.home),
               "--base-url", self.base_url, "--name", name,
               "--heartbeat", str(self.heartbeat_s)]
        out = open(self.log_dir / f"worker-{slot.index}.log", "ab")
        slot.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        out.close()
        slot.started_at = time.monotonic()
        log.info("started worker %d (pid %d)", slot.index, slot.proc.pid)

    def start(self) -> None:
        for slot in self.slots:
            self._spawn(slot)

    def pids(self) -> list[int]:
        return [s.proc.pid for s in self.slots if s.proc is not None and s.proc.poll() is None]

    async def watch(self) -> None:
        """Restart dead workers, backing off when one keeps dying at start."""
        while not self._stopping:
            await asyncio.sleep(0.2)
            for slot in self.slots:
                if self._stopping or slot.proc is None or slot.proc.poll() is None:
                    continue
                code = slot.proc.returncode
                now = time.monotonic()
                slot.recent_deaths = [t for t in slot.recent_deaths if now - t < 60] + [now]
                delay = 0 if len(slot.recent_deaths) < 3 else min(2 ** len(slot.recent_deaths), 30)
                log.warning("worker %d exited with code %s; restarting%s", slot.index, code,
                            f" in {delay}s (it keeps dying: see {self.log_dir})" if delay else "")
                slot.proc = None
                if delay:
                    await asyncio.sleep(delay)
                if not self._stopping:
                    slot.restarts += 1
                    self._spawn(slot)

    async def stop(self, drain_s: float) -> None:
        """SIGTERM: each worker finishes its current job; after `drain_s`, SIGKILL."""
        self._stopping = True
        procs = [s.proc for s in self.slots if s.proc is not None]
        for p in procs:
            with contextlib.suppress(ProcessLookupError):
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + drain_s
        while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for p in procs:
            if p.poll() is None:
                log.warning("worker pid %d did not drain in %ss; killing it", p.pid, drain_s)
                p.kill()
                p.wait()
