"""Starting a job's process, streaming its output, and killing its whole tree."""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import ctypes
import logging
import os
import re
import signal
import sys
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import psutil

from desktop_app.runtimes import sandbox
from desktop_app.runtimes.base import Launch, Outcome
from desktop_app.worker.zygote import Zygote

_PR_SET_PDEATHSIG = 1
log = logging.getLogger(__name__)

# One pre-started Python per (venv interpreter, sandboxed), for this worker process.
_zygotes: dict[tuple[Any, ...], Zygote] = {}


def _zygotes_enabled() -> bool:
    # Forking a pre-started Python needs fork: elsewhere each job is a plain spawn.
    return hasattr(os, "fork") and os.environ.get("TIDEMILL_PYTHON_ZYGOTE", "1") != "0"


def close_zygotes() -> None:
    for z in _zygotes.values():
        z.close()
    _zygotes.clear()


def _die_with_parent() -> None:
    # If the worker is killed -9, its script must not run on as an orphan. prctl is
    # Linux's; elsewhere the worker's kill of the tree is what ends it.
    if sys.platform != "linux":
        return
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


def _sandboxed(launch: Launch) -> bool:
    return launch.sandboxed and sandbox.status().enabled


def confine(launch: Launch, workdir: Path, memory_bytes: int | None) -> None:
    """The worker's part of a launch: the memory limit, and a `same_worker` flow's shared
    folder (a link out of the job folder) made visible; such a job is spawned, since a
    running zygote's sandbox cannot be given another folder."""
    launch.memory_bytes = memory_bytes
    shared = workdir / "shared"
    if shared.is_symlink():
        launch.writable.append(shared.resolve())
        launch.fork_from = None


# How each runtime reports an allocation refused by RLIMIT_DATA.
_OUT_OF_MEMORY = re.compile(r'"name": "MemoryError"|Array buffer allocation failed|'
                            r"out of memory|Cannot allocate memory|RangeError: Invalid typed array")


def over_memory(outcome: Outcome, memory_bytes: int | None) -> Outcome:
    """A failure caused by the memory limit, said plainly (the runtimes' own words are
    `MemoryError` with no message, a V8 RangeError, Go's `out of memory`)."""
    if outcome.success or not memory_bytes or not _OUT_OF_MEMORY.search(outcome.result_json):
        return outcome
    return Outcome.failure("MemoryLimitExceeded", sandbox.memory_limit_message(memory_bytes))


class ScriptProcess:
    """One running script: output goes to `on_output`, the tail is kept for errors."""

    def __init__(self, proc: Any, on_output: Callable[[str], None]) -> None:
        # proc: an asyncio subprocess, or a ZygoteChild forked by a pre-started Python
        self.proc = proc
        self._on_output = on_output
        self.tail: deque[str] = deque(maxlen=50)
        self._partial = ""
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, launch: Launch, on_output: Callable[[str], None]) -> ScriptProcess:
        confined = _sandboxed(launch)
        if launch.fork_from is not None and _zygotes_enabled():
            key = (launch.fork_from, confined, launch.fork_runner, launch.fork_preload)
            zygote = _zygotes.get(key)
            if zygote is None:
                zygote = _zygotes[key] = Zygote(
                    launch.fork_from, read_only=launch.read_only if confined else None,
                    runner=launch.fork_runner, preload=launch.fork_preload,
                    path=launch.fork_path)
            try:
                return cls(await zygote.spawn(launch.cwd, launch.env, launch.memory_bytes),
                           on_output)
            except (OSError, ConnectionError, ValueError, KeyError) as exc:
                log.warning("zygote for %s failed (%s); starting the job afresh", launch.fork_from, exc)
                zygote.close()
        argv = list(launch.argv)
        if confined:
            argv = sandbox.command(argv, workdir=launch.cwd, read_only=launch.read_only,
                                   writable=launch.writable)

        def before_exec() -> None:
            _die_with_parent()
            sandbox.limit_memory(launch.memory_bytes)

        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=launch.cwd,
            env=launch.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # its own process group, so we can kill the whole tree
            preexec_fn=before_exec if os.name == "posix" else None,
        )
        return cls(proc, on_output)

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        while True:
            data = await self.proc.stdout.read(65536)
            if not data:
                text = decoder.decode(b"", final=True)
                if text:
                    self._feed(text)
                break
            self._feed(decoder.decode(data))
            # A script printing flat out keeps the pipe full, so read() never waits: yield,
            # or the heartbeat and log flushes starve and the worker looks dead.
            await asyncio.sleep(0)
        if self._partial:
            self.tail.append(self._partial)
            self._partial = ""

    def _feed(self, text: str) -> None:
        self._on_output(text)
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        self.tail.extend(lines)

    async def wait(self, cancel: asyncio.Event, timeout_s: float | None) -> str | None:
        """Wait for exit. Returns None on a normal exit, or 'canceled' / 'timeout' after
        killing the process tree."""
        waiter = asyncio.create_task(self.proc.wait())
        canceller = asyncio.create_task(cancel.wait())
        try:
            done, _ = await asyncio.wait(
                {waiter, canceller}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            canceller.cancel()
        reason = None if waiter in done else ("canceled" if canceller in done else "timeout")
        if reason is not None:
            self.kill_tree()
            await waiter
        await self._reader
        return reason

    def kill_tree(self) -> None:
        kill = getattr(self.proc, "kill_tree", None)
        if kill is not None:  # a child of a sandboxed zygote: its pid is not ours to signal
            kill()
            return
        # Its descendants first (psutil finds them whatever group or session they moved
        # to, on every OS), then on POSIX its process group (also what was reparented).
        _kill_descendants(self.proc.pid)
        if sys.platform != "win32":
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        # A child killed before it made its own group (a forked one does so first thing).
        with contextlib.suppress(psutil.Error):
            psutil.Process(self.proc.pid).kill()

    @property
    def returncode(self) -> int:
        return self.proc.returncode if self.proc.returncode is not None else -1


def _kill_descendants(pid: int) -> None:
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.Error:  # already gone
        return
    for child in children:
        with contextlib.suppress(psutil.Error):
            child.kill()


async def run_and_stream(
    launch: Launch,
    on_output: Callable[[str], None],
    cancel: asyncio.Event,
    timeout_s: float | None,
    started: Callable[[ScriptProcess], Awaitable[None]] | None = None,
) -> tuple[ScriptProcess, str | None]:
    proc = await ScriptProcess.start(launch, on_output)
    if started is not None:
        await started(proc)
    reason = await proc.wait(cancel, timeout_s)
    return proc, reason
