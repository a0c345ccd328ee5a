"""Python dependency environments: requirements → lock (``uv pip compile``) → one venv per lock.

A lock is the text Tidemill stores next to a script::

    # python 3.11
    certifi==2026.10.19.post1
    requests==2.34.2

Its venv lives at ``envs_dir/<sha256(lock)[:16]>`` and is shared by every worker process.
A venv is built once: the builder holds a file lock (``filelock``) on ``envs_dir/.<key>.lock``,
builds into ``envs_dir/.<key>.tmp-<pid>``, writes a completion marker last and renames the
directory into place. Venvs are created with ``uv venv --relocatable`` because a plain uv
venv survives the rename except for console-script shebangs, which hold the absolute
build path. Its packages are byte-compiled at install (jobs see the venv read-only, so
nothing could cache a compiled module later). A complete venv is never modified again
(but for adding the bytecode to one built by an earlier version), so looking one up is a
single stat without any lock. A target directory without the marker (a copy, or an older in-place
build that was killed) is removed and rebuilt.

A venv's interpreter is ``bin/python`` (``Scripts/python.exe`` on Windows: see
``venv_python``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import uv
from filelock import FileLock

from desktop_app.core.errors import RuntimeSetupError

log = logging.getLogger(__name__)

MARKER = ".tidemill-complete"
#: Written once the venv's packages are byte-compiled. A venv built by an earlier version
#: has MARKER without it: its packages are compiled in place on first use.
BYTECODE_MARKER = ".tidemill-bytecode"
LOCK_FILE = "tidemill.lock"

_HEADER = re.compile(r"^# python (\d+\.\d+)\s*$")
# uv has its own HTTP timeouts and retries; this only ends a uv that hangs for good.
_UV_TIMEOUT_S = 900.0
# Lines of a uv failure kept in an error; an sdist build failure can print a whole build log.
_MAX_ERROR_LINES = 40
# platformdirs >= 4.14 prints a RuntimeDirWarning (two lines) from any Python process when
# XDG_RUNTIME_DIR is unset (root, headless); it is never the reason a build failed.
_NOISE = re.compile(r"XDG_RUNTIME_DIR|RuntimeDirWarning|^\s*\)\.user_runtime_dir")
_NETWORK_TROUBLE = re.compile(r"Failed to fetch|Request failed|error sending request|dns error"
                              r"|tcp connect|timed out|Connection refused", re.IGNORECASE)


def venv_key(lock: str) -> str:
    """The directory name of the venv for ``lock``."""
    return hashlib.sha256(lock.encode()).hexdigest()[:16]


def lock_python_version(lock: str) -> str | None:
    """The ``major.minor`` recorded in the lock's header line, if it has one."""
    first = lock.split("\n", 1)[0]
    match = _HEADER.match(first)
    return match.group(1) if match else None


def resolve_lock(requirements: Sequence[str], *, cache_dir: Path,
                 python: str | None = None) -> str:
    """Resolve requirements with ``uv pip compile`` into lock text (header + sorted pins).

    ``python`` is an interpreter path or version request; default: Tidemill's own base
    interpreter. Raises RuntimeSetupError carrying uv's message.
    """
    exe, version = _interpreter(python, Path(cache_dir))
    header = f"# python {version}"
    wanted = [r.strip() for r in requirements if r.strip()]
    if not wanted:
        return header + "\n"
    started = time.monotonic()
    # Requirements go through stdin so no temp file has to be written and cleaned up.
    done = _uv(["pip", "compile", "-", "--python", str(exe), "--no-header", "--no-annotate",
                "--quiet"], Path(cache_dir), stdin="\n".join(wanted) + "\n")
    if done.returncode != 0:
        raise _resolve_failure(wanted, _uv_error_text(done.stderr))
    pins = sorted({line.strip() for line in done.stdout.splitlines()
                   if line.strip() and not line.lstrip().startswith("#")}, key=str.lower)
    log.debug("resolved %s to %d pins in %.2fs", wanted, len(pins), time.monotonic() - started)
    return "\n".join([header, *pins]) + "\n"


def venv_python(venv: Path) -> Path:
    """A venv's interpreter: ``bin/python``, or ``Scripts/python.exe`` on Windows."""
    return venv / "Scripts" / "python.exe" if sys.platform == "win32" else venv / "bin" / "python"


def ensure_venv(lock: str, *, envs_dir: Path, cache_dir: Path) -> Path:
    """The ``python`` of the venv for ``lock``, building it first if no process has yet."""
    key = venv_key(lock)
    target = Path(envs_dir).absolute() / key
    python = venv_python(target)
    # Fast path: complete venvs are immutable, so a stat of the marker is all it takes.
    if (target / BYTECODE_MARKER).exists():
        return python
    target.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(target.parent / f".{key}.lock"):
        if (target / BYTECODE_MARKER).exists():  # another process built it while we waited
            return python
        if (target / MARKER).exists():  # complete, from a version that did not compile
            _compile_in_place(target)
            return python
        _build(lock, target, Path(cache_dir))
    return python


def _compile_in_place(venv: Path) -> None:
    """Byte-compile a complete venv's packages (adding .pyc files changes nothing a running
    job sees: Python writes each one by rename). Files that do not compile (a package's
    Python 2 leftovers) are skipped, as pip and uv skip them."""
    started = time.monotonic()
    code = ("import compileall, site\n"
            "for d in site.getsitepackages():\n"
            "    compileall.compile_dir(d, quiet=2, workers=0)\n")
    try:
        done = subprocess.run([str(venv_python(venv)), "-c", code], capture_output=True,
                              text=True, timeout=_UV_TIMEOUT_S, check=False)
        failure = done.stderr.strip()[-500:] if done.returncode != 0 else None
    except (OSError, subprocess.TimeoutExpired) as exc:
        failure = str(exc)
    if failure is not None:  # tried again at the next lookup
        log.warning("byte-compiling the Python env %s failed (its jobs still run, importing"
                    " from source): %s", venv.name, failure)
        return
    (venv / BYTECODE_MARKER).write_text("")
    log.info("byte-compiled the Python env %s in %.2fs", venv.name, time.monotonic() - started)


def python_for_requirements(requirements: Sequence[str], *, envs_dir: Path,
                            cache_dir: Path) -> tuple[str, Path]:
    """Resolve ``requirements`` and return ``(lock, python of its venv)``."""
    lock = resolve_lock(requirements, cache_dir=cache_dir)
    return lock, ensure_venv(lock, envs_dir=envs_dir, cache_dir=cache_dir)


# --- building -------------------------------------------------------------------------


def _build(lock: str, target: Path, cache_dir: Path) -> None:
    """Build the venv for ``lock`` at ``target``; the caller holds the key's flock."""
    started = time.monotonic()
    key = target.name
    # Only the flock holder gets here, so anything left for this key is from a dead builder.
    for stale in [target, *target.parent.glob(f".{key}.tmp-*")]:
        if stale.exists():
            log.warning("removing incomplete Python env %s", stale)
            shutil.rmtree(stale, ignore_errors=True)
    tmp = target.parent / f".{key}.tmp-{os.getpid()}"
    exe, version = _interpreter(lock_python_version(lock), cache_dir)
    pins = [line.strip() for line in lock.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]
    try:
        done = _uv(["venv", str(tmp), "--python", str(exe), "--relocatable", "--no-project",
                    "--quiet"], cache_dir)
        if done.returncode != 0:
            raise RuntimeSetupError(f"Creating a Python {version} venv failed:\n"
                                    f"{_uv_error_text(done.stderr)}")
        (tmp / LOCK_FILE).write_text(lock)
        if pins:
            _install(tmp, cache_dir)
        seconds = time.monotonic() - started
        (tmp / MARKER).write_text(json.dumps({"pid": os.getpid(), "seconds": round(seconds, 3),
                                              "packages": len(pins)}) + "\n")
        (tmp / BYTECODE_MARKER).write_text("")  # _install compiled them
        os.rename(tmp, target)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):  # disk full, permissions: still a setup error for users
            raise RuntimeSetupError(f"Building the Python env {key} failed: {exc}") from exc
        raise
    shown = ", ".join(pins[:8]) + (", ..." if len(pins) > 8 else "")
    log.info("built Python env %s (python %s, %d packages: %s) in %.2fs",
             key, version, len(pins), shown or "none", seconds)


def _install(venv: Path, cache_dir: Path) -> None:
    """Install the venv's pinned lock; the cache first, the index only if the cache lacks it."""
    # Byte-compiled here, once: jobs see the venv read-only (sandbox), so a module without
    # its .pyc would be compiled from source again in every job that imports it.
    args = ["pip", "install", "--python", str(venv_python(venv)), "--no-deps",
            "-r", str(venv / LOCK_FILE), "--compile-bytecode", "--quiet"]
    done = _uv([*args, "--offline"], cache_dir)
    if done.returncode != 0:
        # Any offline failure is retried online: uv's wording for "not in the cache" is not
        # stable, and a real failure simply fails again with the online message.
        done = _uv(args, cache_dir)
    if done.returncode != 0:
        text = _uv_error_text(done.stderr)
        raise RuntimeSetupError(f"Installing the Python lock failed:\n{text}",
                                hint=_hint_for(text))


# --- uv and interpreters --------------------------------------------------------------


@cache
def _uv_bin() -> str:
    try:
        return uv.find_uv_bin()
    except FileNotFoundError:
        # The packaged app ships uv in its own bin/ folder, which it puts on PATH.
        found = shutil.which("uv")
        if found is None:
            raise
        return found


def _uv_env(cache_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["UV_CACHE_DIR"] = str(cache_dir / "uv")
    env["UV_NO_PROGRESS"] = "1"
    env["NO_COLOR"] = "1"
    # uv wraps its messages at the terminal's COLUMNS (a daemon started from a narrow
    # terminal inherits them): one line per message keeps them readable in a job's result
    # and keeps the hints below matching uv's words.
    env.pop("COLUMNS", None)
    # Interpreters come from this machine; uv must not go and download one from GitHub.
    env.setdefault("UV_PYTHON_DOWNLOADS", "never")
    # Tidemill's own venv (if any) must not become the interpreter uv discovers.
    env.pop("VIRTUAL_ENV", None)
    if not env.get("XDG_RUNTIME_DIR"):
        quiet = "ignore:XDG_RUNTIME_DIR is not set"
        env["PYTHONWARNINGS"] = ",".join(filter(None, [env.get("PYTHONWARNINGS"), quiet]))
    return env


def _uv(args: list[str], cache_dir: Path,
        stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    cache_dir.mkdir(parents=True, exist_ok=True)
    try:
        # cwd is the cache so a pyproject.toml/uv.toml where the daemon started is not read.
        return subprocess.run([_uv_bin(), *args], input=stdin, capture_output=True, text=True,
                              env=_uv_env(cache_dir), cwd=cache_dir, timeout=_UV_TIMEOUT_S,
                              check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        raise RuntimeSetupError(f"uv could not run: {exc}") from exc


@cache
def _interpreter(request: str | None, cache_dir: Path) -> tuple[Path, str]:
    """The real interpreter (not a venv's, not a pyenv shim) for a request, and its version."""
    own = f"{sys.version_info.major}.{sys.version_info.minor}"
    frozen = getattr(sys, "frozen", False)  # the packaged app: sys.executable is no Python
    if not frozen and (request is None or request == own):
        return Path(getattr(sys, "_base_executable", "") or sys.executable), own
    candidate = request or own
    if os.sep not in candidate:
        found = _uv(["python", "find", candidate], cache_dir)
        if found.returncode != 0:
            raise RuntimeSetupError(f"No Python {candidate} interpreter found:\n"
                                    f"{_uv_error_text(found.stderr)}")
        candidate = found.stdout.strip()
    # Running it once resolves shims and venvs to the real executable behind them.
    code = ("import sys; print(getattr(sys, '_base_executable', '') or sys.executable); "
            "print('%d.%d' % sys.version_info[:2])")
    try:
        probe = subprocess.run([candidate, "-c", code], capture_output=True, text=True,
                               check=False, timeout=60,
                               env={**os.environ, "PYTHONWARNINGS": "ignore"})
    except (OSError, subprocess.SubprocessError) as exc:
        raise RuntimeSetupError(f"Python interpreter {candidate} does not run: {exc}") from exc
    lines = probe.stdout.splitlines()
    if probe.returncode != 0 or len(lines) != 2:
        raise RuntimeSetupError(f"Python interpreter {candidate} does not run:\n"
                                f"{_uv_error_text(probe.stderr)}")
    return Path(lines[0]), lines[1]


# --- errors ---------------------------------------------------------------------------


def _uv_error_text(stderr: str) -> str:
    """uv's own error block from its stderr, without progress lines and warnings."""
    lines = [line.rstrip() for line in stderr.splitlines() if not _NOISE.search(line)]
    # uv prints what it was doing before its error; the error block starts at "error:".
    starts = [i for i, line in enumerate(lines) if line.startswith("error:")]
    if starts:
        lines = lines[starts[0]:]
    while lines and not lines[-1].strip():
        lines.pop()
    if len(lines) > _MAX_ERROR_LINES:
        lines = [*lines[:5], "  ...", *lines[-(_MAX_ERROR_LINES - 5):]]
    return "\n".join(lines) or "uv failed without saying why"


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _resolve_failure(requirements: list[str], text: str) -> RuntimeSetupError:
    # uv names packages in normalized form ("Foo_Bar" -> "foo-bar"); match on that.
    mentioned = {_normalize(word) for word in re.findall(r"[A-Za-z0-9][A-Za-z0-9._-]*", text)}
    failed = [req for req in requirements
              if (m := re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", req))
              and _normalize(m.group(0)) in mentioned]
    which = f" for {', '.join(repr(r) for r in failed)}" if failed else ""
    return RuntimeSetupError(f"Resolving Python requirements failed{which}:\n{text}",
                             hint=_hint_for(text))


def _hint_for(text: str) -> str | None:
    if _NETWORK_TROUBLE.search(text):
        return "the package index could not be reached; check the network or UV_INDEX_URL"
    if "not found in the package registry" in text:
        return "check the package name on PyPI (an import name can differ from its package)"
    if "no version of" in text or "unsatisfiable" in text:
        return "check the requested versions against what PyPI offers"
    return None


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (flock / LockFileEx); the OS drops it if this
    process dies. The file stays: deleting it could let two builders in."""
    with FileLock(path, mode=0o644, thread_local=False, preserve_lock_file=True):
        yield
