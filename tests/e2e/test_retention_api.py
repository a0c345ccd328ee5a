"""Retention through a real daemon: with a 1-second policy its own pruning round removes
finished jobs and their logs while a running job keeps going; `jobs/prune` does a round on
demand; `/api/database/usage` says what takes the space."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.daemon_harness import RunningDaemon, free_port


@pytest.fixture
def pruning_daemon(database_url: str, tmp_path: Path) -> Iterator[RunningDaemon]:
    d = RunningDaemon(home=tmp_path / "home", port=free_port(), database_url=database_url,
                      extra_env={"TIDEMILL_PRUNE_INTERVAL_S": "1"})
    d.start()
    try:
        yield d
    finally:
        d.stop()


def test_a_one_second_policy_prunes_finished_jobs_not_running_ones(
        pruning_daemon: RunningDaemon) -> None:
    d = pruning_daemon
    d.deploy("f/ret/quick", 'echo "quick $1"\n', "bash")
    # longer than the tail a worker holds back while masking secrets: it shows at once
    d.deploy("f/ret/slow", "printf 'slow started %0300d\\n' 0\nsleep 60\n", "bash")
    slow = d.api("POST", "jobs/run/p/f/ret/slow", json={}).text
    quick = [d.api("POST", "jobs/run/p/f/ret/quick", json={}).text for _ in range(3)]
    for job_id in quick:
        d.wait_job(job_id)
        assert "quick" in d.api("GET", f"jobs_u/get_logs/{job_id}").text
    deadline = time.monotonic() + 60
    while "slow started" not in d.api("GET", f"jobs_u/get_logs/{slow}").text:
        assert time.monotonic() < deadline, "the slow job never started"
        time.sleep(0.2)
    r = d.api("POST", "workspaces/edit_job_settings",
              json={"keep_success_secs": 1, "keep_failure_secs": 1})
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the daemon's own rounds, one a second
        if all(d.api("GET", f"jobs_u/get/{j}").status_code == 404 for j in quick):
            break
        time.sleep(0.5)
    for job_id in quick:
        assert d.api("GET", f"jobs_u/get/{job_id}").status_code == 404
        assert d.api("GET", f"jobs_u/get_logs/{job_id}").status_code == 404
    running = d.api("GET", f"jobs_u/get/{slow}").json()
    assert "running" in running, running
    assert running["running"] and "slow started" in running["logs"]
    assert d.api("POST", f"jobs_u/queue/cancel/{slow}", json={}).status_code == 200
    d.wait_job(slow)
    time.sleep(1.5)
    report = d.api("POST", "jobs/prune").json()  # on demand: the canceled run is a failure
    assert d.api("GET", f"jobs_u/get/{slow}").status_code == 404, report
    usage = d.api("GET", "../../database/usage").json()
    names = [t["table"] for t in usage["tables"]]
    assert usage["database_bytes"] > 1_000_000 and "job_completed" in names
    assert all(t["total_bytes"] >= t["table_bytes"] >= 0 for t in usage["tables"])
    sizes = [t["total_bytes"] for t in usage["tables"]]
    assert sizes == sorted(sizes, reverse=True)


def test_doctor_shows_the_database_size(daemon: RunningDaemon) -> None:
    from tests.e2e.test_doctor import doctor, findings

    res = doctor(daemon.home, "--only", "storage", "--json", env={"TIDEMILL_URL": daemon.url})
    (found,) = findings(res)
    assert found["status"] == "ok", found
    assert found["detail"].startswith("database ") and "largest: " in found["detail"]
    stopped = doctor(daemon.home.parent / "nohome", "--only", "storage", "--json")
    assert "not running" in findings(stopped)[0]["detail"]
