"""The worker's side of python_zygote.py: one pre-started interpreter per venv that
forks a child per job, looking to the rest of the worker like a started process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from desktop_app.runtimes.python import ZYGOTE


class ZygoteChild:
    """Duck-types the parts of asyncio.subprocess.Process that ScriptProcess uses."""

    def __init__(self, pid: int, stdout: asyncio.StreamReader, exit_code: asyncio.Future[int]) -> None:
        self.pid = pid
        self.stdout = stdout
        self._exit = exit_code
        self.returncode: int | None = None
        self.watcher: asyncio.Task[None] | None = None

    async def wait(self) -> int:
        self.returncode = await self._exit
        return self.returncode


class Zygote:
    def __init__(self, python: Path) -> None:
        self.python = python
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._buffer = b""

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _start(self) -> None:
        if sys.platform == "win32":  # never asked there: zygotes are for POSIX (fork)
            raise OSError("the Python zygote needs fork and Unix sockets")
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        # The zygote dies with this worker (it sets its own parent-death signal).
        self._proc = subprocess.Popen(
            [str(self.python), "-X", "frozen_modules=on", str(ZYGOTE), str(theirs.fileno())],
            stdin=subprocess.DEVNULL, pass_fds=(theirs.fileno(),),
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

    async def spawn(self, job_dir: Path, env: dict[str, str]) -> ZygoteChild:
        if sys.platform == "win32":
            raise OSError("the Python zygote needs fork and Unix sockets")
        if not self.alive():
            self._start()
        assert self._sock is not None
        loop = asyncio.get_running_loop()
        read_fd, write_fd = os.pipe()
        try:
            message = json.dumps({"job_dir": str(job_dir), "env": env}).encode() + b"\n"
            self._sock.setblocking(True)
            try:
                socket.send_fds(self._sock, [message], [write_fd])
            finally:
                self._sock.setblocking(False)
        finally:
            os.close(write_fd)
        reader = asyncio.StreamReader(limit=1 << 20)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader),
                                     os.fdopen(read_fd, "rb", buffering=0))
        pid = (await self._line())["pid"]
        exit_code: asyncio.Future[int] = loop.create_future()

        async def wait_exit() -> None:
            try:
                exit_code.set_result(int((await self._line())["exit"]))
            except (ConnectionError, ValueError, KeyError):
                exit_code.set_result(-9)  # the zygote died with its child
                self.close()

        child = ZygoteChild(pid, reader, exit_code)
        child.watcher = asyncio.create_task(wait_exit())  # kept: a task needs a reference
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
