"""Log search and pruning from the command line, against a real daemon: `tidemill logs
--grep` (with path and status), the API's filters and its 400 for a too-short text,
`tidemill jobs prune`."""

from __future__ import annotations

import time

from tests.e2e.daemon_harness import RunningDaemon

SCRIPT = 'x="$1"\necho "start"\necho "Payment 100% done for $x"\n[ "$x" != bad ] || exit 3\n'


def test_logs_grep_finds_jobs_by_their_log_text(daemon: RunningDaemon) -> None:
    daemon.deploy("f/pay/charge", SCRIPT, "bash")
    daemon.deploy("f/other/charge", SCRIPT, "bash")
    ids = {x: daemon.api("POST", "jobs/run/p/f/pay/charge", json={"x": x}).text
           for x in ("alice", "bad")}
    other = daemon.api("POST", "jobs/run/p/f/other/charge", json={"x": "carol"}).text
    for job_id in (*ids.values(), other):
        daemon.wait_job(job_id)

    res = daemon.cli("logs", "--grep", "100% DONE", check=True)  # any case, % is literal
    lines = res.stdout.splitlines()
    assert len(lines) == 3 and all("Payment 100% done for" in ln for ln in lines), res.stdout
    res = daemon.cli("logs", "--grep", "100% done", "--path", "f/pay/", "--status", "failure",
                     check=True)
    (line,) = res.stdout.splitlines()
    assert line.startswith(ids["bad"]) and "failure" in line and line.endswith(
        "Payment 100% done for bad"), line
    assert daemon.cli("logs", "--grep", "1x0% done").returncode == 1  # the _ and % escape
    nothing = daemon.cli("logs", "--grep", "no such text anywhere")
    assert nothing.returncode == 1 and "no job log contains" in nothing.stderr
    short = daemon.api("GET", "jobs/list", params={"log_search": "ab"})
    assert short.status_code == 400 and "at least 3 characters" in short.text
    assert "Payment" in daemon.cli("logs", ids["bad"], check=True).stdout  # one job's log


def test_jobs_prune_applies_the_policy_now(daemon: RunningDaemon) -> None:
    daemon.deploy("f/pay/charge", SCRIPT, "bash")
    job_id = daemon.api("POST", "jobs/run/p/f/pay/charge", json={"x": "a"}).text
    daemon.wait_job(job_id)
    kept = daemon.cli("jobs", "prune", check=True)
    assert kept.stdout.startswith("deleted 0 finished job(s)"), kept.stdout
    daemon.api("POST", "workspaces/edit_job_settings", json={"keep_success_secs": 1})
    time.sleep(1.5)
    res = daemon.cli("jobs", "prune", check=True)
    assert res.stdout.startswith("deleted 1 finished job(s)"), res.stdout
    assert daemon.api("GET", f"jobs_u/get/{job_id}").status_code == 404
    bad = daemon.cli("jobs", "tidy")
    assert bad.returncode != 0 and "unknown jobs action 'tidy'" in bad.stderr + bad.stdout
