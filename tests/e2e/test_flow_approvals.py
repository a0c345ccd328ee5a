"""Approval steps: the flow waits holding no worker; signed URLs resume or cancel it."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.e2e.daemon_harness import RunningDaemon
from tests.e2e.flow_helpers import flow, js, py

# Each test deploys and runs its own items and judges only its own jobs: one daemon
# serves the module (tests/e2e/conftest.py `module_daemon`).
pytestmark = pytest.mark.shared_daemon

ASK = "import wmill\n\ndef main():\n    return wmill.get_resume_urls(approver='ops')\n"


def _approval_flow(d: RunningDaemon, path: str) -> None:
    ask = py("ask", ASK)
    ask["suspend"] = {"required_events": 1, "timeout": 120}
    use = py("use", "def main(r, rs, a, p):\n    return {'resume': r, 'count': len(rs),"
                    " 'approvers': a, 'prev_is_urls': 'resume' in p}\n",
             r=js("resume"), rs=js("resumes"), a=js("approvers"), p=js("previous_result"))
    r = d.api("POST", "flows/create", json={"path": path, **flow(ask, use)})
    assert r.status_code == 201, r.text


def _wait_suspended(d: RunningDaemon, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = d.api("GET", f"jobs_u/get/{job_id}").json()
        if job["flow_status"]["modules"][0]["type"] == "WaitingForEvents":
            return job
        time.sleep(0.1)
    raise AssertionError(f"flow never suspended: {job['flow_status']}")


def test_approval_resumes_with_payload_and_holds_no_worker(daemon: RunningDaemon) -> None:
    _approval_flow(daemon, "f/flows/approve")
    job_id = daemon.api("POST", "jobs/run/f/f/flows/approve", json={}).text
    job = _wait_suspended(daemon, job_id)
    time.sleep(0.5)
    running = daemon.api("GET", "jobs/list", params={"running": "true"}).json()
    assert [j["job_kind"] for j in running] == ["flow"]  # no step occupies a worker
    ask_job = job["flow_status"]["modules"][0]["job"]
    urls = daemon.api("GET", f"jobs_u/completed/get_result/{ask_job}").json()
    assert set(urls) == {"approvalPage", "resume", "cancel"}
    forged = urls["resume"].replace("approver=ops", "approver=mallory")
    assert httpx.post(forged, json={}).status_code == 403
    r = httpx.post(urls["resume"], json={"ok": True, "note": "ship it"})
    assert r.status_code == 200, r.text
    done = daemon.wait_job(job_id, timeout=60)
    assert done["success"] and done["result"] == {
        "resume": {"ok": True, "note": "ship it"}, "count": 1, "approvers": ["ops"],
        "prev_is_urls": True}
    # the link is spent: the flow no longer waits
    assert httpx.post(urls["resume"], json={}).status_code == 404


def test_cancel_url_ends_the_flow_as_canceled(daemon: RunningDaemon) -> None:
    _approval_flow(daemon, "f/flows/deny")
    job_id = daemon.api("POST", "jobs/run/f/f/flows/deny", json={}).text
    job = _wait_suspended(daemon, job_id)
    urls = daemon.api("GET", "jobs_u/completed/get_result/"
                             f"{job['flow_status']['modules'][0]['job']}").json()
    assert httpx.get(urls["cancel"]).status_code == 200
    done = daemon.wait_job(job_id, timeout=30)
    assert done["status"] == "canceled" and "ops" in done["result"]["error"]["message"]


def test_approval_timeout_fails_the_flow(daemon: RunningDaemon) -> None:
    ask = py("ask", "def main():\n    return 1\n")
    ask["suspend"] = {"required_events": 1, "timeout": 1}
    daemon.api("POST", "flows/create", json={"path": "f/flows/late", **flow(ask)})
    r = daemon.api("POST", "jobs/run_wait_result/f/f/flows/late", json={})
    assert r.headers["x-tidemill-job-status"] == "failure"
    assert r.json()["error"]["name"] == "SuspendTimeout"
