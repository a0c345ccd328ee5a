"""A pre-started Python that forks one child per job (run inside a job venv).

Starting a fresh interpreter costs ~12-15 ms per job; forking one that has already
started costs ~2 ms. The worker keeps one zygote per venv. Standalone: imports only
the standard library and python_wrapper (next to this file).

Protocol on the Unix socket whose fd number is argv[1] (one JSON object per line):
  worker → zygote: {"job_dir": ..., "env": {...}} with the job's output pipe attached
                   as an SCM_RIGHTS file descriptor
  zygote → worker: {"pid": N}, then {"exit": code} (negative: killed by that signal)
One job at a time: the worker runs one job at a time.
"""

import ctypes
import io
import json
import os
import signal
import socket
import sys

# Started only where fork exists (the worker spawns each job afresh elsewhere); mypy
# skips the rest of this file for Windows.
assert sys.platform != "win32", "the Python zygote needs fork (POSIX)"


def _die_with_parent():
    try:
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _child(job_dir, env, out_fd, sock):
    # Becomes the job: own process group (the worker kills the group on cancel), output
    # to the worker's pipe, the job's environment, then the same wrapper a spawn runs.
    try:
        os.setsid()
        _die_with_parent()
        sock.close()
        os.dup2(out_fd, 1)
        os.dup2(out_fd, 2)
        os.close(out_fd)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8",
                                      errors="backslashreplace", write_through=True)
        sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8",
                                      errors="backslashreplace", write_through=True)
        os.chdir(job_dir)
        os.environ.clear()
        os.environ.update(env)
        sys.argv = [sys.argv[0], job_dir]
        import python_wrapper

        python_wrapper.main()
        sys.stdout.flush()
        sys.stderr.flush()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    os._exit(code)


def main():
    _die_with_parent()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import python_wrapper  # noqa: F401  (imported once here; every child inherits it)

    # The Windmill SDK costs ~300 ms to import (httpx); a venv that has it is one whose
    # scripts use it, often in every round of a workflow. Import it once, here.
    try:
        import wmill  # noqa: F401
    except Exception:
        pass

    sock = socket.socket(fileno=int(sys.argv[1]))
    while True:
        # The request's line and its attached fd arrive in one message.
        data, fds, _flags, _addr = socket.recv_fds(sock, 1 << 20, 1)
        if not data:
            return
        while not data.endswith(b"\n"):
            more = sock.recv(1 << 20)
            if not more:
                return
            data += more
        request = json.loads(data)
        out_fd = fds[0]
        pid = os.fork()
        if pid == 0:
            _child(request["job_dir"], request["env"], out_fd, sock)
        os.close(out_fd)
        sock.sendall(json.dumps({"pid": pid}).encode() + b"\n")
        _, status = os.waitpid(pid, 0)
        sock.sendall(json.dumps({"exit": os.waitstatus_to_exitcode(status)}).encode() + b"\n")


if __name__ == "__main__":
    main()
