"""Nothing is lost when a process dies: workers, the daemon, or PostgreSQL itself."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import psutil
import psycopg
import pytest

from tests.e2e.daemon_harness import RunningDaemon, free_port
from tests.support.pg import discard_server


def _wait_running(daemon: RunningDaemon, job_id: str, timeout: float = 60) -> int:
    """Wait until the job runs; return the pid of the worker running it."""
    assert daemon.database_url
    deadline = time.monotonic() + timeout
    with psycopg.connect(daemon.database_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT w.pid FROM job_queue q JOIN workers w ON w.name = q.worker"
                " WHERE q.id = %s AND q.running", (job_id,)).fetchone()
            if row:
                return int(row[0])
            time.sleep(0.05)
    raise AssertionError(f"job {job_id} never started")


def _host_pid(pid: int, daemon: RunningDaemon) -> int:
    """The pid a job wrote of itself, as this test sees it. A sandboxed job has its own PID
    namespace (bubblewrap), where its pids are small numbers: find the process under this
    test's daemon whose last namespace pid is that one (other tests' daemons may run jobs
    with the same small pids at the same time), else it is not sandboxed."""
    assert daemon.proc is not None
    found = []
    for child in psutil.Process(daemon.proc.pid).children(recursive=True):
        try:
            line = next(x for x in Path(f"/proc/{child.pid}/status").read_text().splitlines()
                        if x.startswith("NSpid:"))
        except (OSError, StopIteration):
            continue
        ids = [int(x) for x in line.split()[1:]]
        if len(ids) > 1 and ids[-1] == pid:
            found.append(child.pid)
    return found[0] if len(found) == 1 else pid


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purposes
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_kill9_worker_mid_job_is_reaped_not_stuck(daemon: RunningDaemon, tmp_path: Path) -> None:
    pidfile = tmp_path / "script.pid"
    daemon.deploy("f/chaos/slow", f"import os, time\n\ndef main():\n"
                                  f"    open({str(pidfile)!r}, 'w').write(str(os.getpid()))\n"
                                  f"    time.sleep(60)\n", timeout=30)
    job_id = daemon.api("POST", "jobs/run/p/f/chaos/slow", json={}).text
    worker_pid = _wait_running(daemon, job_id)
    while not pidfile.exists():
        time.sleep(0.05)
    script_pid = _host_pid(int(pidfile.read_text()), daemon)
    assert _pid_alive(script_pid)
    started = time.monotonic()
    os.kill(worker_pid, signal.SIGKILL)
    job = daemon.wait_job(job_id, timeout=30)
    assert time.monotonic() - started < 30  # within the job's timeout
    assert job["success"] is False and job["result"]["error"]["name"] == "WorkerLost"
    assert "stopped heartbeating" in daemon.api("GET", f"jobs_u/get_logs/{job_id}").text
    deadline = time.monotonic() + 5
    while _pid_alive(script_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _pid_alive(script_pid), "the script outlived its killed worker"
    # the supervisor replaced the dead worker: jobs still run
    daemon.deploy("f/chaos/quick", "def main():\n    return 'after'\n")
    assert daemon.run_wait("f/chaos/quick") == ("success", "after")


def test_kill9_worker_with_retries_runs_again(daemon: RunningDaemon, tmp_path: Path) -> None:
    marker = tmp_path / "attempted"
    daemon.deploy("f/chaos/retry", f"import os, time\n\ndef main():\n"
                                   f"    if os.path.exists({str(marker)!r}):\n"
                                   f"        return 'second attempt'\n"
                                   f"    open({str(marker)!r}, 'w').close()\n"
                                   f"    time.sleep(60)\n")
    job_id = daemon.api("POST", "jobs/run/p/f/chaos/retry",
                        params={"retry": json.dumps({"constant": {"attempts": 1}})}, json={}).text
    worker_pid = _wait_running(daemon, job_id)
    while not marker.exists():
        time.sleep(0.05)
    os.kill(worker_pid, signal.SIGKILL)
    job = daemon.wait_job(job_id, timeout=30)
    assert job["success"] and job["result"] == "second attempt" and job["attempt"] == 1
    assert "retrying" in daemon.api("GET", f"jobs_u/get_logs/{job_id}").text


def test_kill_daemon_with_100_queued_jobs_each_runs_once(daemon: RunningDaemon, tmp_path: Path) -> None:
    out = tmp_path / "ran.txt"
    daemon.deploy("f/chaos/append", f'id="$1"\nsleep 0.05\necho "$id" >> {out}\necho done\n', "bash")
    with daemon.http() as c:
        ids = [c.post("/api/w/main/jobs/run/p/f/chaos/append", json={"id": f"j{i}"}).text
               for i in range(100)]
    daemon.kill9()
    done_before = out.read_text().split() if out.exists() else []
    assert len(done_before) < 100, "the daemon finished everything before it was killed"
    daemon.port = free_port()
    daemon.start()
    for job_id in ids:
        daemon.wait_job(job_id, timeout=120)
    assert daemon.database_url
    with psycopg.connect(daemon.database_url) as conn:
        rows = conn.execute("SELECT args->>'id', status, count(*) OVER (PARTITION BY id)"
                            " FROM job_completed WHERE script_path = 'f/chaos/append'").fetchall()
        assert conn.execute("SELECT count(*) FROM job_queue").fetchone() == (0,)
    assert len(rows) == 100 and all(r[2] == 1 for r in rows)
    lines = out.read_text().split()
    assert sorted(set(lines)) == sorted(lines), "a job ran twice"
    succeeded = {r[0] for r in rows if r[1] == "success"}
    # jobs killed mid-run fail as WorkerLost (they allow no retry); all others ran once
    assert len(succeeded) >= 98
    assert succeeded <= set(lines)


def test_cancel_running_job_kills_its_process_tree(daemon: RunningDaemon, tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    daemon.deploy("f/chaos/tree", f"sleep 300 &\necho $! > {pidfile}\nwait\n", "bash")
    job_id = daemon.api("POST", "jobs/run/p/f/chaos/tree", json={}).text
    _wait_running(daemon, job_id)
    while not pidfile.exists() or not pidfile.read_text().strip():
        time.sleep(0.05)
    child = _host_pid(int(pidfile.read_text()), daemon)
    assert _pid_alive(child)
    res = daemon.cli("cancel", job_id, "--reason", "testing")
    assert res.returncode == 0, res.stderr
    job = daemon.wait_job(job_id, timeout=15)
    assert job["status"] == "canceled" and job["canceled"]
    assert "testing" in job["result"]["error"]["message"]
    deadline = time.monotonic() + 5
    while _pid_alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _pid_alive(child)


def test_cancel_queued_job(daemon: RunningDaemon) -> None:
    daemon.deploy("f/chaos/later", "def main():\n    return 1\n")
    job_id = daemon.api("POST", "jobs/run/p/f/chaos/later", params={"scheduled_in_secs": 600},
                        json={}).text
    assert daemon.api("POST", f"jobs_u/queue/cancel/{job_id}", json={}).status_code == 200
    job = daemon.wait_job(job_id, timeout=5)
    assert job["status"] == "canceled" and job["started_at"] is None


def test_timeout_kills_the_job(daemon: RunningDaemon) -> None:
    daemon.deploy("f/chaos/forever", "import time\n\ndef main():\n    time.sleep(60)\n", timeout=1)
    status, result = daemon.run_wait("f/chaos/forever")
    assert status == "failure" and result["error"]["name"] == "Timeout"
    assert "1 s" in result["error"]["message"]


@pytest.mark.timeout(180)
def test_postgres_restart_under_running_daemon(tmp_path: Path, shared_cache: Path) -> None:
    from desktop_app.db.embedded import EmbeddedPostgres
    from desktop_app.db.migrate import migrate

    pg = EmbeddedPostgres(tmp_path / "pghome")
    url = pg.start()
    try:
        migrate(url)
        home = tmp_path / "home"
        home.mkdir()
        (home / "cache").symlink_to(shared_cache / "cache")
        (home / "envs").symlink_to(shared_cache / "envs")
        d = RunningDaemon(home=home, port=free_port(), database_url=url).start()
        try:
            d.deploy("f/pg/sleepy", "import time\n\ndef main(s: float):\n"
                                    "    time.sleep(s)\n    return 'survived'\n")
            assert d.run_wait("f/pg/sleepy", {"s": 0}) == ("success", "survived")
            job_id = d.api("POST", "jobs/run/p/f/pg/sleepy", json={"s": 3}).text
            _wait_running(d, job_id)
            pg.stop()
            time.sleep(1.0)
            pg.start()
            job = d.wait_job(job_id, timeout=60)
            assert job["success"] and job["result"] == "survived"
            # new work after the restart
            deadline = time.monotonic() + 30
            while True:
                r = d.api("POST", "jobs/run_wait_result/p/f/pg/sleepy", json={"s": 0})
                if r.status_code == 200 or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            assert r.status_code == 200 and r.json() == "survived"
        finally:
            d.stop()
    finally:
        discard_server(pg)  # also its cluster under /var/lib/tidemill/clusters (as root)
