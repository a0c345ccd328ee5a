"""The flow fast path (worker/worker.py `_complete`, queue.claim_child): the worker that
completes a flow step claims the flow's next step in the same transaction and runs it next,
so a sequential flow stays on one warm worker — and each step still runs in a process of
its own."""

from __future__ import annotations

from tests.e2e.daemon_harness import RunningDaemon
from tests.e2e.flow_helpers import flow, js, py

# A fresh process has no TM_STEP_SEEN: a step run in a process that ran another step would
# find the variable its predecessor set (and the module-level list would not be empty).
STEP = ("import os\nSEEN = []\n\n"
        "def main(prev):\n"
        "    fresh = 'TM_STEP_SEEN' not in os.environ and not SEEN\n"
        "    os.environ['TM_STEP_SEEN'] = '1'\n"
        "    SEEN.append(1)\n"
        "    return (prev or 0) + (1 if fresh else 1000)\n")


def test_a_sequential_flow_runs_on_the_worker_that_completed_each_step(
        daemon: RunningDaemon) -> None:
    steps = [py(f"s{i}", STEP, prev=js("previous_result")) for i in range(12)]
    r = daemon.api("POST", "flows/create", json={"path": "f/fast/seq", **flow(*steps)})
    assert r.status_code == 201, r.text
    r = daemon.api("POST", "jobs/run_wait_result/f/f/fast/seq", json={})
    assert r.status_code == 200, r.text
    assert r.headers["x-tidemill-job-status"] == "success"
    assert r.json() == 12  # every step ran, each in a fresh process
    flow_id = daemon.api("GET", "jobs/list", params={"job_kinds": "flow"}).json()[0]["id"]
    runs = daemon.api("GET", "jobs/list", params={"parent_job": flow_id, "per_page": 100}).json()
    assert len(runs) == 12
    # The daemon has 2 workers, both woken by each step's NOTIFY; without the fast path the
    # steps spread over both.
    assert len({s["worker"] for s in runs}) == 1, [s["worker"] for s in runs]
