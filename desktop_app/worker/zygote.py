"""The worker's side of python_zygote.py: one pre-started interpreter per venv that
forks a child per job, looking to the rest of the worker like a started process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from desktop_app.runtimes import sandbox
from desktop_app.runtimes.python import ZYGOTE


class ZygoteChild:
    """Duck-types the parts of asyncio.subprocess.Process that ScriptProcess uses."""

    def __init__(self, pid: int, stdout: asyncio.StreamReader, exit_code: asyncio.Future[int]) -> None:
        self.pid = pid  # in the zygote's PID namespace when sandboxed: see kill_tree
        self.stdout = stdout
        self._exit = exit_code
        self.returncode: int | None = None
        self.watcher: asyncio.Task[None] | None = None
        #: set for a sandboxed zygote's child: ending the zygote's sandbox ends the job
        self.kill_tree: Callable[[], None] | None = None

    async def wait(self) -> int:
        self.returncode = await self._exit
        return self.returncode


class Zygote:
    """One pre-started interpreter. Sandboxed (`read_only` given): it runs in its own
    bubblewrap sandbox that sees a private *slot* folder instead of `jobs/`; each job's
    folder is renamed into the slot while it runs and back once the zygote has killed
    whatever the job left running. So a job sees its own folder only, like a spawned one."""

    def __init__(self, python: Path, read_only: list[Path] | None = None, *,
                 runner: Path | None = None, preload: tuple[str, ...] = (),
                 path: tuple[str, ...] = ()) -> None:
        self.python = python
        self.read_only = read_only
        self.runner = runner
        self.preload = preload
        self.path = path
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._buffer = b""
        self._slot: Path | None = None

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _start(self, jobs_dir: Path) -> None:
        if sys.platform == "win32":  # never asked there: zygotes are for POSIX (fork)
            raise OSError("the Python zygote needs fork and Unix sockets")
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        argv = [str(self.python), "-X", "frozen_modules=on", str(ZYGOTE), str(theirs.fileno())]
        if self.runner is not None:  # started as the runner is (-S -P: see runtimes/sql.py)
            argv[1:1] = ["-S", "-P"]
            argv += ["--runner", str(self.runner), "--preload", ",".join(self.preload),
                     "--path", os.pathsep.join(self.path)]
        env = None
        if self.read_only is not None:
            self._slot = jobs_dir / f".zygote-{os.getpid()}-{id(self):x}"
            shutil.rmtree(self._slot, ignore_errors=True)
            self._slot.mkdir(parents=True)
            # The zygote kills every other process of its PID namespace after each job:
            # it checks first that it is not in ours.
            argv += ["--sandboxed", os.readlink("/proc/self/ns/pid")]
            argv = sandbox.command(argv, workdir=self._slot, read_only=self.read_only)
            # A clean environment: the job could read the zygote's /proc/<pid>/environ.
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
        # The zygote dies with this worker (it sets its own parent-death signal).
        self._proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, pass_fds=(theirs.fileno(),), env=env,
        )
        theirs.close()
        ours.setblocking(False)
        self._sock = ours
        self._buffer = b""

    async def _line(self) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        assert self._sock is not None
        while b"\n" not in self._buffer:
            chunk = await loop.sock_recv(self._sock, 4096)
            if not chunk:
                raise ConnectionError("the Python zygote exited")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        result: dict[str, Any] = json.loads(line)
        return result

    async def spawn(self, job_dir: Path, env: dict[str, str],
                    memory_bytes: int | None = None) -> ZygoteChild:
        if sys.platform == "win32":
            raise OSError("the Python zygote needs fork and Unix sockets")
        if not self.alive():
            self._start(job_dir.parent)
        assert self._sock is not None
        loop = asyncio.get_running_loop()
        seen_dir = job_dir
        if self._slot is not None:
            seen_dir = self._slot / job_dir.name  # the same name: scripts may rely on it
            os.rename(job_dir, seen_dir)
        read_fd, write_fd = os.pipe()
        try:
            message = json.dumps({"job_dir": str(seen_dir), "env": env,
                                  "memory_bytes": memory_bytes}).encode() + b"\n"
            self._sock.setblocking(True)
            try:
                socket.send_fds(self._sock, [message], [write_fd])
            finally:
                self._sock.setblocking(False)
        finally:
            os.close(write_fd)
        def give_back() -> None:  # the job's folder returns where the worker reads it
            if seen_dir != job_dir:
                with contextlib.suppress(OSError):
                    os.rename(seen_dir, job_dir)

        try:
            reader = asyncio.StreamReader(limit=1 << 20)
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader),
                                         os.fdopen(read_fd, "rb", buffering=0))
            pid = (await self._line())["pid"]
        except BaseException:
            give_back()
            raise
        exit_code: asyncio.Future[int] = loop.create_future()

        async def wait_exit() -> None:
            try:
                code = int((await self._line())["exit"])
            except (ConnectionError, ValueError, KeyError):
                code = -9  # the zygote died with its child
                self.close()
            give_back()
            exit_code.set_result(code)

        child = ZygoteChild(pid, reader, exit_code)
        child.watcher = asyncio.create_task(wait_exit())  # kept: a task needs a reference

        def end_sandbox() -> None:
            # Closing the socket under wait_exit's pending read would leave it waiting for
            # ever (the loop is never told of a socket closed beneath it), and the cancel
            # would never complete: stop the watcher first, end the sandbox (its PID
            # namespace takes the job's whole tree), then say how the job ended.
            if child.watcher is not None:
                child.watcher.cancel()
            self.close()
            give_back()
            if not exit_code.done():
                exit_code.set_result(-9)

        if self._slot is not None:
            child.kill_tree = end_sandbox
        return child

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(5)
        self._proc = None
        if self._slot is not None and not any(self._slot.iterdir()):
            with contextlib.suppress(OSError):
                self._slot.rmdir()
            self._slot = None
