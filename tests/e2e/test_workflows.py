"""Workflow-as-code with the real `wmill` SDK: each task its own job, the workflow
holding no worker between rounds, checkpoints replayed."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.daemon_harness import RunningDaemon, free_port

# Each test deploys and runs its own items and judges only its own jobs: one daemon
# serves the module (tests/e2e/conftest.py `module_daemon`).
pytestmark = pytest.mark.shared_daemon

HEADER = "import asyncio, os, random\nimport wmill\nfrom wmill import task, workflow, step, TaskError\n\n"


def _deploy(d: RunningDaemon, path: str, body: str) -> None:
    d.deploy(path, HEADER + body)


def test_sequential_tasks_and_status(daemon: RunningDaemon) -> None:
    _deploy(daemon, "f/wac/seq", (
        "@task\nasync def double(x: int):\n    print(f'doubling {x}')\n    return x * 2\n\n"
        "@workflow\nasync def main(n: int):\n    a = await double(n)\n    b = await double(a)\n"
        "    return [a, b]\n"))
    job_id = daemon.api("POST", "jobs/run/p/f/wac/seq", json={"n": 3}).text
    job = daemon.wait_job(job_id, timeout=60)
    assert job["success"] and job["result"] == [6, 12]
    view = daemon.api("GET", f"jobs_u/get/{job_id}").json()["workflow_as_code_status"]
    assert view["order"] == ["double", "double_2"]
    children = daemon.api("GET", "jobs/list", params={"parent_job": job_id}).json()
    assert len(children) == 2 and all(c["success"] for c in children)
    assert {view["steps"][k]["job"] for k in view["order"]} == {c["id"] for c in children}
    assert "doubling 3" in daemon.api("GET", f"jobs_u/get_logs/{view['steps']['double']['job']}").text


def test_ten_parallel_tasks(daemon: RunningDaemon) -> None:
    _deploy(daemon, "f/wac/par", (
        "@task\nasync def square(x: int):\n    return x * x\n\n"
        "@workflow\nasync def main():\n"
        "    return list(await asyncio.gather(*(square(i) for i in range(10))))\n"))
    status, result = daemon.run_wait("f/wac/par")
    assert (status, result) == ("success", [i * i for i in range(10)])


def test_retry_then_success(daemon: RunningDaemon, tmp_path: Path) -> None:
    counter = tmp_path / "tries"
    _deploy(daemon, "f/wac/retry", (
        f"P = {str(counter)!r}\n\n"
        "@task(retry={'attempts': 3})\nasync def flaky():\n"
        "    n = int(open(P).read()) + 1 if os.path.exists(P) else 1\n"
        "    open(P, 'w').write(str(n))\n"
        "    if n < 3:\n        raise RuntimeError(f'try {n} failed')\n    return n\n\n"
        "@workflow\nasync def main():\n    return await flaky()\n"))
    assert daemon.run_wait("f/wac/retry") == ("success", 3)
    assert counter.read_text() == "3"


def test_caught_task_error_runs_compensation(daemon: RunningDaemon) -> None:
    _deploy(daemon, "f/wac/saga", (
        "@task\nasync def charge():\n    raise ValueError('card declined')\n\n"
        "@task\nasync def refund(reason: str):\n    return f'refunded: {reason}'\n\n"
        "@workflow\nasync def main():\n    try:\n        await charge()\n"
        "        return 'charged'\n    except TaskError as e:\n"
        "        return await refund(str(e.result['error']['message']))\n"))
    assert daemon.run_wait("f/wac/saga") == ("success", "refunded: card declined")


def test_step_value_stays_the_same_across_replays(daemon: RunningDaemon) -> None:
    _deploy(daemon, "f/wac/stable", (
        "@task\nasync def echo(v: float):\n    return v\n\n"
        "@workflow\nasync def main():\n    r = await step('roll', lambda: random.random())\n"
        "    seen = await echo(r)\n    again = await echo(r)\n    return [r, seen, again]\n"))
    status, (r, seen, again) = daemon.run_wait("f/wac/stable")
    assert status == "success" and r == seen == again


def test_sleep_frees_the_only_worker(database_url: str, tmp_path: Path) -> None:
    d = RunningDaemon(home=tmp_path / "home", port=free_port(), database_url=database_url,
                      workers=1).start()
    try:
        _deploy(d, "f/wac/nap", ("@workflow\nasync def main():\n    t = await step('t0', lambda: __import__('time').time())\n"
                                 "    await wmill.sleep(5)\n"
                                 "    t1 = await step('t1', lambda: __import__('time').time())\n"
                                 "    return t1 - t\n"))
        d.deploy("f/wac/quick", "def main():\n    return 'ran while the workflow slept'\n")
        wf = d.api("POST", "jobs/run/p/f/wac/nap", json={}).text
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # until the workflow is parked in its sleep
            view = d.api("GET", f"jobs_u/get/{wf}").json()
            if "workflow_as_code_status" in view and not view["running"]:
                break
            time.sleep(0.05)
        started = time.monotonic()
        assert d.run_wait("f/wac/quick") == ("success", "ran while the workflow slept")
        assert time.monotonic() - started < 3  # the single worker was free
        assert d.api("GET", f"jobs_u/get/{wf}").json()["type"] == "QueuedJob"
        job = d.wait_job(wf, timeout=60)
        assert job["success"] and job["result"] >= 5
    finally:
        d.stop()


def test_wait_for_approval_resumed_through_its_url(daemon: RunningDaemon) -> None:
    _deploy(daemon, "f/wac/approve", (
        "@workflow\nasync def main():\n"
        "    urls = await step('urls', lambda: wmill.get_approval_urls('mgr'))\n"
        "    await step('tell', lambda: print('RESUME ' + urls['resume'], flush=True))\n"
        "    answer = await wmill.wait_for_approval(key='mgr', timeout=120)\n"
        "    return answer\n"))
    job_id = daemon.api("POST", "jobs/run/p/f/wac/approve", json={}).text
    url = None
    deadline = time.monotonic() + 60
    while url is None and time.monotonic() < deadline:
        m = re.search(r"RESUME (\S+)", daemon.api("GET", f"jobs_u/get_logs/{job_id}").text)
        url = m.group(1) if m else None
        time.sleep(0.1)
    assert url, "the workflow never printed its approval URL"
    forged = url[:-4] + "beef" if "?" not in url else url.replace("/wac_resume/", "/wac_resume/x")
    assert httpx.post(forged, json={}).status_code in (400, 403, 404)
    # the link answers only once the workflow waits on the step (an early answer is a 404)
    deadline = time.monotonic() + 60
    while (r := httpx.post(url, json={"ok": True})).status_code == 404:
        assert time.monotonic() < deadline, r.text
        time.sleep(0.2)
    assert r.status_code == 200, r.text
    job = daemon.wait_job(job_id, timeout=60)
    assert job["success"] and job["result"] == {"value": {"ok": True}, "approver": "anonymous",
                                                "approved": True}


def test_wait_for_approval_without_self_approval_needs_another_signed_in_user(
        daemon: RunningDaemon) -> None:
    # wait_for_approval(self_approval=False): the starter (admin) may not approve their
    # own workflow, and nobody may anonymously; another signed-in user may, named as approver
    _deploy(daemon, "f/wac/four_eyes", (
        "@workflow\nasync def main():\n"
        "    return await wmill.wait_for_approval(key='mgr', timeout=300, self_approval=False)\n"))
    job_id = daemon.api("POST", "jobs/run/p/f/wac/four_eyes", json={}).text
    assert daemon.api("POST", "users/add", json={"username": "bob", "role": "operator"}
                      ).status_code == 201
    with daemon.http() as c:
        bob = c.post("/api/users/tokens/create", json={"username": "bob", "label": "b"}).text
    urls: dict[str, str] = {}
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:  # until the workflow waits for its approval
        urls = daemon.api("GET", f"jobs/wac_approval_urls/{job_id}/mgr").json()
        if httpx.get(urls["approvalPage"]).status_code == 200:
            break
        time.sleep(0.3)
    page = httpx.get(urls["approvalPage"]).text
    assert "may not approve it" in page and 'id="tm-token"' in page  # the page says the rule
    anonymous = httpx.post(urls["resume"], json={})
    assert anonymous.status_code == 403 and "signed-in approver" in anonymous.text
    own = httpx.post(urls["resume"], json={}, headers={"Authorization": f"Bearer {daemon.token}"})
    assert own.status_code == 403 and "self-approval is disabled" in own.text
    assert httpx.post(urls["cancel"], json={}).status_code == 403  # rejecting too
    assert daemon.api("GET", f"jobs_u/get/{job_id}").json()["type"] == "QueuedJob"
    ok = httpx.post(urls["resume"], json={"go": 1}, headers={"Authorization": f"Bearer {bob}"})
    assert ok.status_code == 200, ok.text
    job = daemon.wait_job(job_id, timeout=60)
    assert job["success"] and job["result"] == {"value": {"go": 1}, "approver": "bob",
                                                "approved": True}


def test_nondeterministic_body_is_detected(daemon: RunningDaemon, tmp_path: Path) -> None:
    marker = tmp_path / "seen"
    _deploy(daemon, "f/wac/nondet", (
        f"M = {str(marker)!r}\n\n"
        "@task\nasync def task_a():\n    return 'a'\n\n@task\nasync def task_b():\n    return 'b'\n\n"
        "@workflow\nasync def main():\n    if os.path.exists(M):\n        return await task_b()\n"
        "    open(M, 'w').close()\n    return await task_a()\n"))
    status, result = daemon.run_wait("f/wac/nondet")
    assert status == "failure" and result["error"]["name"] == "NondeterminismError"
    assert "'task_a'" in result["error"]["message"] and "'task_b'" in result["error"]["message"]


def test_tidemill_is_the_same_module_as_wmill(daemon: RunningDaemon) -> None:
    daemon.deploy("f/wac/alias", (
        "import tidemill\nfrom tidemill import task, workflow\n\n"
        # (a task parameter may not be called `name`: the wmill SDK itself takes that keyword)
        "@task\nasync def hello(who: str):\n    return f'hello {who}'\n\n"
        "@workflow\nasync def main(who: str):\n"
        "    import wmill\n    assert tidemill is wmill\n    return await hello(who)\n"))
    status, result = daemon.run_wait("f/wac/alias", {"who": "Ada"})
    assert (status, result) == ("success", "hello Ada"), result


def test_parallel_helper_with_concurrency(daemon: RunningDaemon) -> None:
    _deploy(daemon, "f/wac/parhelper", (
        "@task\nasync def inc(x: int):\n    return x + 1\n\n"
        "@workflow\nasync def main(items: list[int]):\n"
        "    return await wmill.parallel(items, inc, concurrency=2)\n"))
    status, result = daemon.run_wait("f/wac/parhelper", {"items": [1, 2, 3, 4, 5]})
    assert (status, result) == ("success", [2, 3, 4, 5, 6])
