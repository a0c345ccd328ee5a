"""Bounded logs through a real daemon: a 50 MB print is cut at the cap and says so, the
log is read in pages (get_logs with offsets, the SSE stream), and fetching a big log
again and again leaves the daemon's memory flat."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.e2e.daemon_harness import RunningDaemon

MB = 1024 * 1024
# 50 MB of 64-byte lines, as fast as bash can write them
PRINT_50MB = 'yes "$(printf \'%063d\' 7)" | head -c 52428800\necho done >&2\n'


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def _run(daemon: RunningDaemon, path: str) -> str:
    job_id = daemon.api("POST", f"jobs/run/p/{path}", json={}).text
    job = daemon.wait_job(job_id, timeout=180)
    assert job["success"], (job["result"], (job.get("logs") or "")[-2000:])
    return job_id


def test_a_50mb_log_is_capped_and_fetching_it_20_times_keeps_memory_flat(
        daemon: RunningDaemon) -> None:
    daemon.deploy("f/logs/big", PRINT_50MB, "bash")
    job_id = _run(daemon, "f/logs/big")
    pid = json.loads((daemon.home / "daemon.json").read_text())["pid"]
    assert pid == daemon.proc.pid if daemon.proc else True
    before = _rss_kb(pid)
    sizes = set()
    with daemon.http() as c:
        for _ in range(20):
            with c.stream("GET", f"/api/w/main/jobs_u/get_logs/{job_id}") as r:
                assert r.status_code == 200
                size, last = 0, b""
                for part in r.iter_bytes():
                    size += len(part)
                    last = (last + part)[-400:]
            sizes.add(size)
    grown_mb = (_rss_kb(pid) - before) / 1024
    (size,) = sizes
    assert 10 * MB <= size < 10 * MB + 1000, size  # the default cap, plus the notes
    tail = last.decode().rstrip("\n").splitlines()[-1]
    # 50 MB + "done\n" from stderr, less the 10 MB kept
    assert tail.startswith("[tidemill] log truncated: 40.0 MB (41943045 bytes) of output dropped"
                           " after the 10.0 MB log limit"), tail
    assert grown_mb < 50, f"the daemon grew {grown_mb:.0f} MB over 20 fetches of a 10 MB log"
    print(f"daemon RSS {before / 1024:.0f} MB → grew {grown_mb:.1f} MB over 20 fetches")


def test_logs_read_by_offset_and_by_the_stream_are_the_same_text(daemon: RunningDaemon) -> None:
    r = daemon.api("POST", "workspaces/edit_job_settings", json={"log_max_bytes": 3 * MB})
    assert r.status_code == 200 and r.json()["log_max_bytes"] == 3 * MB, r.text
    daemon.deploy("f/logs/big", PRINT_50MB, "bash")
    job_id = _run(daemon, "f/logs/big")
    whole = daemon.api("GET", f"jobs_u/get_logs/{job_id}").text
    assert 3 * MB < len(whole) < 3 * MB + 1000 and "after the 3.0 MB log limit" in whole
    sliced = daemon.api("GET", f"jobs_u/get_logs/{job_id}",
                        params={"offset": MB + 5, "limit": 100}).text
    assert sliced == whole[MB + 5:MB + 105]
    downloaded = daemon.api("GET", f"jobs_u/get_logs/{job_id}", params={"download": "true"})
    assert downloaded.headers["content-disposition"] == f'attachment; filename="{job_id}.log"'
    events = []
    with daemon.http() as c, c.stream("GET", f"/api/w/main/jobs_u/getupdate_sse/{job_id}",
                                      params={"log_offset": 10}) as r:
        for line in r.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
                if events[-1]["completed"]:
                    break
    assert len(events) >= 3  # in pages, not one 3 MB event
    assert "".join(e.get("new_logs", "") for e in events) == whole[10:]
    assert events[-1]["log_offset"] == len(whole)
    # a script's own cap wins over the workspace's
    daemon.deploy("f/logs/small", PRINT_50MB, "bash", log_max_bytes=1000)
    small = daemon.api("GET", f"jobs_u/get_logs/{_run(daemon, 'f/logs/small')}").text
    assert small.startswith(("0" * 62 + "7\n") * 15) and "after the 1000 bytes log limit" in small
    assert len(small) < 1400


@pytest.mark.api_only  # no job runs: the API in-process
def test_bad_log_settings_are_refused_with_the_field_named(daemon: RunningDaemon) -> None:
    r = daemon.api("POST", "workspaces/edit_job_settings", json={"log_max_bytes": "10MB"})
    assert r.status_code == 400 and "'log_max_bytes' must be a whole number" in r.text
    r = daemon.api("POST", "workspaces/edit_job_settings", json={"log_cap": 5})
    assert r.status_code == 400 and "unknown setting 'log_cap'" in r.text
    r = daemon.api("POST", "scripts/create", json={
        "path": "f/logs/x", "content": "echo", "language": "bash", "log_max_bytes": "lots"})
    assert r.status_code == 400 and "'log_max_bytes' must be a whole number" in r.text
    assert daemon.api("GET", "workspaces/job_settings").json()["log_max_bytes"] is None
    assert os.environ.get("TIDEMILL_HOME") != str(daemon.home)
