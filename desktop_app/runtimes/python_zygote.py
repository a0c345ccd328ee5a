"""A pre-started Python that forks one child per job (run inside a job venv).

Starting a fresh interpreter costs ~12-15 ms per job; forking one that has already
started costs ~2 ms. The worker keeps one zygote per venv. Standalone: imports only
the standard library and python_wrapper (next to this file).

Protocol on the Unix socket whose fd number is argv[1] (one JSON object per line):
  worker → zygote: {"job_dir": ..., "env": {...}, "memory_bytes": N|null} with the job's
                   output pipe attached as an SCM_RIGHTS file descriptor
  zygote → worker: {"pid": N}, then {"exit": code} (negative: killed by that signal)
One job at a time: the worker runs one job at a time.

`--runner FILE --preload MODS --path DIRS` (argv[2:]): each child runs FILE's `main()`
(a standalone runner, e.g. sql_runner.py) instead of python_wrapper; the zygote imports
MODS (comma-separated: a SQL driver) from DIRS once, so no child pays for the import.

`--sandboxed NS` (argv[2:]): the zygote runs in a bubblewrap sandbox with its own PID
namespace (NS names the worker's, which must differ). After each job it kills every
other process of the namespace (what the job left running: a double-forked daemon
included) and empties /tmp, before it reports the job's end. It is not dumpable, so a
job (same user) can neither trace it nor read its memory or environment.
"""

import ctypes
import io
import json
import os
import resource
import shutil
import signal
import socket
import sys
import time

_PR_SET_DUMPABLE = 4

# Started only where fork exists (the worker spawns each job afresh elsewhere); mypy
# skips the rest of this file for Windows.
assert sys.platform != "win32", "the Python zygote needs fork (POSIX)"


def _die_with_parent():
    try:
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _prctl(option, value):
    try:
        ctypes.CDLL("libc.so.6").prctl(option, value)
    except OSError:
        pass


def _child(job_dir, env, out_fd, sock, memory_bytes=None, runner=None):
    # Becomes the job: own process group (the worker kills the group on cancel), output
    # to the worker's pipe, the job's environment, then the same wrapper a spawn runs.
    try:
        os.setsid()
        _die_with_parent()
        _prctl(_PR_SET_DUMPABLE, 1)  # the job is an ordinary process; its zygote is not
        if memory_bytes:
            resource.setrlimit(resource.RLIMIT_DATA, (memory_bytes, memory_bytes))
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
        if runner is not None:
            sys.argv = [runner.__file__, job_dir]
            runner.main()
        else:
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


def _in_own_pid_namespace(outer):
    try:
        return os.readlink("/proc/self/ns/pid") != outer
    except OSError:
        return False


def _end_leftovers():
    """Kill every process of this PID namespace but us and its init, wait until they
    are gone, and empty /tmp: nothing of one job reaches the next."""
    me = os.getpid()
    deadline = time.monotonic() + 5
    while True:
        try:
            os.kill(-1, signal.SIGKILL)  # all we may signal but ourselves (and init)
        except ProcessLookupError:
            pass
        others = [p for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, me)]
        if not others or time.monotonic() > deadline:
            break
        time.sleep(0.001)
    # Folders the sandbox binds below /tmp (a home under /tmp: the job's slot, the venv)
    # are not the job's litter: never walk into them.
    with open("/proc/self/mountinfo") as fh:
        mounts = [line.split()[4] for line in fh]
    for name in os.listdir("/tmp"):
        path = os.path.join("/tmp", name)
        if any(m == path or m.startswith(path + "/") for m in mounts):
            continue
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                os.unlink(path)
            except OSError:
                pass


def _load_runner(path, preload, dirs):
    import importlib.util

    for folder in reversed([d for d in dirs.split(os.pathsep) if d]):
        sys.path.insert(0, folder)
    for name in [m for m in preload.split(",") if m]:
        try:
            __import__(name)
        except ImportError:  # the job's own import will fail, saying so in its log
            pass
    spec = importlib.util.spec_from_file_location("_tidemill_runner", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the job runner {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    _die_with_parent()
    argv = sys.argv[2:]
    options = {argv[i]: argv[i + 1] for i in range(0, len(argv) - 1, 2)}
    sandboxed = "--sandboxed" in options
    if sandboxed:
        if not _in_own_pid_namespace(options["--sandboxed"]):
            sys.exit("python_zygote: --sandboxed, but not in a PID namespace of its own")
        _prctl(_PR_SET_DUMPABLE, 0)
    runner = None
    if options.get("--runner"):
        runner = _load_runner(options["--runner"], options.get("--preload", ""),
                              options.get("--path", ""))
    else:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import python_wrapper  # noqa: F401  (imported once here; every child inherits it)

        # The Windmill SDK costs ~300 ms to import (httpx); a venv that has it is one whose
        # scripts use it, often in every round of a workflow. Import it once, here.
        try:
            import wmill  # noqa: F401
        except Exception:
            pass
        else:
            # A workflow's first step() builds the SDK's httpx client; the first client a
            # process builds also imports what httpx loads lazily (~20-35 ms): paid here.
            try:
                import httpx

                httpx.AsyncClient()
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
            _child(request["job_dir"], request["env"], out_fd, sock, request.get("memory_bytes"),
                   runner)
        os.close(out_fd)
        sock.sendall(json.dumps({"pid": pid}).encode() + b"\n")
        _, status = os.waitpid(pid, 0)
        if sandboxed:
            _end_leftovers()
        sock.sendall(json.dumps({"exit": os.waitstatus_to_exitcode(status)}).encode() + b"\n")


if __name__ == "__main__":
    main()
