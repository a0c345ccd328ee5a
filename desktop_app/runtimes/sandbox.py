"""Jobs run in a bubblewrap sandbox: they see their own folder, what their runtime needs
(interpreter, venv, caches), the system's /usr and the network; never the daemon's home
(admin token, secrets file, database password, other jobs' folders, the database socket).

Each sandbox has its own PID namespace: when the job's first process ends, bubblewrap's
init ends and the kernel kills every process left in the namespace, so a double-forked
`setsid` child cannot outlive its job. Python jobs forked from a zygote share the
zygote's sandbox (one per worker and venv); the zygote kills what a job left behind
before it reports the job's end (python_zygote.py).

Not sandboxed when `bwrap` is missing or cannot create namespaces (user namespaces turned
off), or with TIDEMILL_SANDBOX=0: `status()` says why; the daemon logs it once at start
and `tidemill doctor` shows it.

Memory: every job's processes get RLIMIT_DATA (heap and private writable mappings, what
an allocation grows; unlike RLIMIT_AS it leaves V8's and Go's address-space reservations
alone). It limits each process, not the sum of a job's processes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

#: Default per-job memory limit (MB); the daemon's `--job-memory-mb` overrides it, 0 = none.
DEFAULT_MEMORY_MB = 2048

# What of /etc a program needs: name resolution, users, TLS roots, time zone, loader.
# Not all of /etc: it holds host keys and /etc/shadow (readable by a root-owned job).
_ETC = ("resolv.conf", "hosts", "host.conf", "nsswitch.conf", "gai.conf", "passwd", "group",
        "localtime", "timezone", "ssl", "ca-certificates", "ca-certificates.conf", "pki",
        "alternatives", "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "mime.types", "services",
        "protocols", "os-release", "debian_version", "bash.bashrc", "profile", "inputrc")
_ROOT_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")


@dataclass(frozen=True)
class SandboxStatus:
    enabled: bool
    #: what jobs are kept from when enabled; why they are not sandboxed when not
    detail: str


@cache
def status() -> SandboxStatus:
    """Whether jobs run sandboxed on this machine (probed once per process)."""
    if os.environ.get("TIDEMILL_SANDBOX", "1") == "0":
        return SandboxStatus(False, "jobs are not sandboxed: TIDEMILL_SANDBOX=0 turned it off; "
                                    "they run as the daemon's user and can read its home")
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return SandboxStatus(False, "jobs are not sandboxed: bubblewrap is not installed "
                                    "(apt-get install bubblewrap); they run as the daemon's "
                                    "user and can read its home (admin token, database password)")
    try:
        done = subprocess.run([bwrap, *_base_args(), "--", "/bin/sh", "-c", "exit 0"],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        return SandboxStatus(False, f"jobs are not sandboxed: bwrap could not run ({exc})")
    if done.returncode != 0:
        why = done.stderr.strip().splitlines()[-1:] or [f"exit code {done.returncode}"]
        return SandboxStatus(False, f"jobs are not sandboxed: bwrap cannot create namespaces "
                                    f"here ({why[0]}); enable unprivileged user namespaces "
                                    "(sysctl kernel.unprivileged_userns_clone=1) or run as root")
    return SandboxStatus(True, "jobs run in a bubblewrap sandbox (own PID namespace; only "
                               "their folder, runtime and caches visible)")


def _base_args() -> list[str]:
    args = ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--ro-bind", "/usr", "/usr", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for name in _ROOT_LINKS:
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for name in _ETC:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    return args


_home: Path | None = None


def configure(home: Path) -> None:
    """The daemon's home, which no sandbox shows, even inside a shared folder (workers
    call this once)."""
    global _home
    _home = home


def shared_folders() -> list[Path]:
    """Folders every job may use (read and write), from TIDEMILL_SANDBOX_SHARE
    (os.pathsep-separated): data folders the scripts of this machine work on."""
    raw = os.environ.get("TIDEMILL_SANDBOX_SHARE", "")
    return [Path(p) for p in raw.split(os.pathsep) if p.strip()]


def command(argv: Sequence[str], *, workdir: Path, read_only: Iterable[Path] = (),
            writable: Iterable[Path] = ()) -> list[str]:
    """`argv` run in a sandbox that sees `workdir` (writable, the current folder),
    `read_only` and `writable` paths, each at its own path, and the shared folders; the
    daemon's home is an empty folder under them (later binds go on top)."""
    bwrap = shutil.which("bwrap") or "bwrap"
    args = [bwrap, *_base_args()]
    for path in shared_folders():
        args += ["--bind-try", str(path), str(path)]
    if _home is not None:
        args += ["--tmpfs", str(_home)]
    for path in _unique(read_only):
        args += ["--ro-bind-try", str(path), str(path)]
    for path in _unique([*writable, workdir]):
        args += ["--bind", str(path), str(path)]
    return [*args, "--chdir", str(workdir), "--", *argv]


def _unique(paths: Iterable[Path]) -> list[Path]:
    return list(dict.fromkeys(Path(p) for p in paths))


@lru_cache(maxsize=64)
def python_paths(python: Path) -> tuple[Path, ...]:
    """What a venv's interpreter needs: the venv and the base installation it points to.
    (Cached: a venv is never changed once built, and every Python job asks.)"""
    venv = python.parent.parent
    paths = [venv]
    try:
        for line in (venv / "pyvenv.cfg").read_text().splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "home":
                paths.append(Path(value.strip()).parent)
    except OSError:
        pass
    real = python.resolve()  # the interpreter a venv's bin/python links to
    paths.append(real.parent.parent)
    return tuple(paths)


def limit_memory(limit_bytes: int | None) -> None:
    """In a job's process before it starts: cap what it can allocate."""
    if limit_bytes and sys.platform != "win32":  # a launch hook exists on POSIX only
        import resource

        resource.setrlimit(resource.RLIMIT_DATA, (limit_bytes, limit_bytes))


def memory_limit_message(limit_bytes: int) -> str:
    return (f"the job went over its memory limit of {limit_bytes // (1024 * 1024)} MB and could "
            "not allocate more; raise the limit with the daemon's --job-memory-mb (0 = none) "
            "or make the script use less memory")
