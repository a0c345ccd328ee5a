"""Cancel ends every process of a job, also one that left the job's process group and
session (`setsid`): the tree is found through psutil, as on Windows, not only by group."""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.e2e.daemon_harness import RunningDaemon, free_port


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a killed child not yet reaped by its parent is a zombie: not running
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_cancel_kills_a_child_that_left_the_process_group(database_url: str,
                                                          tmp_path: Path) -> None:
    # Unsandboxed, as on macOS and Windows (a sandbox's PID namespace would end the
    # child anyway, and would hide its real pid from this test).
    daemon = RunningDaemon(home=tmp_path / "home", port=free_port(), database_url=database_url,
                           extra_env={"TIDEMILL_SANDBOX": "0"})
    daemon.start()
    try:
        _cancel_and_check(daemon, tmp_path)
    finally:
        daemon.stop()


def _cancel_and_check(daemon: RunningDaemon, tmp_path: Path) -> None:
    pidfile = tmp_path / "escaped.pid"
    # `setsid` in a background job of a non-interactive shell: a new session and group,
    # still a child of the job's shell.
    daemon.deploy("f/tree/escape", f"setsid sleep 300 &\necho $! > {pidfile}\nwait\n", "bash")
    job_id = daemon.api("POST", "jobs/run/p/f/tree/escape", json={}).text
    deadline = time.monotonic() + 60
    while not (pidfile.exists() and pidfile.read_text().strip()):
        assert time.monotonic() < deadline, "the job never started its child"
        time.sleep(0.05)
    child = int(pidfile.read_text())
    while os.getsid(child) != child:  # `$!` is known before the child has called setsid()
        assert time.monotonic() < deadline, "the child never left the job's session"
        time.sleep(0.02)
    assert daemon.cli("cancel", job_id).returncode == 0
    assert daemon.wait_job(job_id, timeout=30)["status"] == "canceled"
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), "the escaped child outlived its canceled job"
