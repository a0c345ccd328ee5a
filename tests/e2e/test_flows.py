"""Flows end to end: every module type and option, with exactly asserted results."""

from __future__ import annotations

import itertools
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from tests.e2e.daemon_harness import RunningDaemon
from tests.e2e.flow_helpers import ECHO, flow, identity, js, py, sh, static

# Each test deploys and runs its own items and judges only its own jobs: one daemon
# serves the module (tests/e2e/conftest.py `module_daemon`).
pytestmark = pytest.mark.shared_daemon


def deploy_flow(d: RunningDaemon, path: str, doc: dict[str, Any]) -> None:
    r = d.api("POST", "flows/create", json={"path": path, **doc})
    assert r.status_code == 201, r.text


def run_flow(d: RunningDaemon, path: str, args: dict[str, Any] | None = None) -> tuple[str, Any]:
    r = d.api("POST", f"jobs/run_wait_result/f/{path}", json=args or {})
    assert r.status_code == 200, r.text
    return r.headers["x-tidemill-job-status"], r.json()


def test_sequence_of_languages_results_and_status(daemon: RunningDaemon) -> None:
    deploy_flow(daemon, "f/flows/seq", flow(
        py("a", "def main(x: int):\n    return {'n': x + 1}\n", x=js("flow_input.x")),
        sh("b", 'n="$1"\necho "got $n"\necho $((n * 10))\n', n=js("results.a.n")),
        identity("c"),
        py("d", "def main(prev, first):\n    return [prev, first]\n",
           prev=js("previous_result"), first=js("results.a")),
    ))
    status, result = run_flow(daemon, "f/flows/seq", {"x": 4})
    assert (status, result) == ("success", ["50", {"n": 5}])
    job_id = daemon.api("GET", "jobs/list", params={"job_kinds": "flow"}).json()[0]["id"]
    job = daemon.api("GET", f"jobs_u/get/{job_id}").json()
    mods = job["flow_status"]["modules"]
    assert [(m["id"], m["type"]) for m in mods] == [("a", "Success"), ("b", "Success"),
                                                   ("c", "Success"), ("d", "Success")]
    assert all(m.get("job") for m in mods if m["id"] != "c")
    steps = daemon.api("GET", "jobs/list", params={"parent_job": job_id}).json()
    assert len(steps) == 3 and all(s["is_flow_step"] for s in steps)
    maybe = daemon.api("GET", f"jobs_u/completed/get_result_maybe/{job_id}").json()
    assert maybe == {"completed": True, "result": ["50", {"n": 5}], "success": True,
                     "started": True}


def test_script_by_path_pinned_hash_and_subflow(daemon: RunningDaemon) -> None:
    h1 = daemon.deploy("f/lib/ver", "def main():\n    return 'v1'\n")
    daemon.deploy("f/lib/ver", "def main():\n    return 'v2'\n")
    deploy_flow(daemon, "f/flows/child", flow(py("x", "def main(v):\n    return f'child:{v}'\n",
                                                 v=js("flow_input.v"))))
    deploy_flow(daemon, "f/flows/parent", flow(
        {"id": "latest", "value": {"type": "script", "path": "f/lib/ver", "input_transforms": {}}},
        {"id": "pinned", "value": {"type": "script", "path": "f/lib/ver", "hash": h1,
                                   "input_transforms": {}}},
        {"id": "sub", "value": {"type": "flow", "path": "f/flows/child",
                                "input_transforms": {"v": js("[results.latest, results.pinned]")}}},
    ))
    assert run_flow(daemon, "f/flows/parent") == ("success", "child:['v2', 'v1']")


def test_for_loops_sequential_parallel_and_skip_failures(daemon: RunningDaemon) -> None:
    body = [py("sq", "def main(v, i):\n    return v * v + i / 100\n",
               v=js("flow_input.iter.value"), i=js("flow_input.iter.index"))]
    for parallel in (False, True):
        deploy_flow(daemon, f"f/flows/loop{int(parallel)}", flow(
            {"id": "loop", "value": {"type": "forloopflow", "iterator": js("flow_input.items"),
                                     "skip_failures": False, "parallel": parallel,
                                     "parallelism": static(2), "modules": body}},
            py("after", "def main(r):\n    return sum(r)\n", r=js("results.loop"))))
        assert run_flow(daemon, f"f/flows/loop{int(parallel)}", {"items": [1, 2, 3, 4]}) == \
            ("success", 1 + 4.01 + 9.02 + 16.03)
    deploy_flow(daemon, "f/flows/skipfail", flow(
        {"id": "loop", "value": {"type": "forloopflow", "iterator": js("[1, 0, 2]"),
                                 "skip_failures": True, "modules": [
                                     py("div", "def main(v):\n    return 10 // v\n",
                                        v=js("flow_input.iter.value"))]}}))
    assert run_flow(daemon, "f/flows/skipfail") == ("success", [10, None, 5])
    deploy_flow(daemon, "f/flows/failloop", flow(
        {"id": "loop", "value": {"type": "forloopflow", "iterator": js("[1, 0]"),
                                 "skip_failures": False, "modules": [
                                     py("div", "def main(v):\n    return 10 // v\n",
                                        v=js("flow_input.iter.value"))]}}))
    status, result = run_flow(daemon, "f/flows/failloop")
    assert status == "failure" and result["error"]["name"] == "ZeroDivisionError"
    deploy_flow(daemon, "f/flows/empty", flow(
        {"id": "loop", "value": {"type": "forloopflow", "iterator": static([]),
                                 "skip_failures": False, "modules": body}}))
    assert run_flow(daemon, "f/flows/empty") == ("success", [])


def test_while_loop_stops_on_condition(daemon: RunningDaemon) -> None:
    deploy_flow(daemon, "f/flows/while", flow(
        {"id": "w", "stop_after_if": {"expr": "result >= 3"},
         "value": {"type": "whileloopflow", "skip_failures": False, "modules": [
             py("inc", "def main(i):\n    return i + 1\n", i=js("flow_input.iter.index"))]}}))
    assert run_flow(daemon, "f/flows/while") == ("success", [1, 2, 3])


def test_branchone_and_branchall(daemon: RunningDaemon) -> None:
    deploy_flow(daemon, "f/flows/one", flow(
        {"id": "pick", "value": {"type": "branchone", "branches": [
            {"summary": "big", "expr": "flow_input.n > 10",
             "modules": [py("big", "def main():\n    return 'big'\n")]},
            {"summary": "mid", "expr": "flow_input.n > 5",
             "modules": [py("mid", "def main():\n    return 'mid'\n")]}],
            "default": [py("small", "def main():\n    return 'small'\n")]}}))
    assert run_flow(daemon, "f/flows/one", {"n": 7}) == ("success", "mid")
    assert run_flow(daemon, "f/flows/one", {"n": 70}) == ("success", "big")
    assert run_flow(daemon, "f/flows/one", {"n": 1}) == ("success", "small")
    for parallel in (True, False):
        deploy_flow(daemon, f"f/flows/all{int(parallel)}", flow(
            py("base", "def main():\n    return 3\n"),
            {"id": "fan", "value": {"type": "branchall", "parallel": parallel, "branches": [
                {"modules": [py("p1", "def main(b):\n    return b + 1\n", b=js("results.base"))]},
                {"modules": [py("p2", "def main():\n    raise RuntimeError('branch 2 broke')\n")],
                 "skip_failure": True},
                {"modules": [sh("p3", "echo three\n")]}]}}))
        status, result = run_flow(daemon, f"f/flows/all{int(parallel)}")
        assert status == "success"
        assert result[0] == 4 and result[2] == "three"
        assert result[1]["error"]["message"] == "branch 2 broke"


def test_containers_whose_steps_finish_at_once_let_the_flow_go_on(daemon: RunningDaemon) -> None:
    # Sub-flows of only identity (or skipped) steps end while their parent is still
    # launching them; the parent must still see them end.
    deploy_flow(daemon, "f/flows/instant", flow(
        {"id": "pick", "value": {"type": "branchone", "branches": [
            {"expr": "flow_input.n > 5", "modules": [identity("i1")]}],
            "default": [identity("i2")]}},
        {"id": "each", "value": {"type": "forloopflow", "iterator": js("[1, 2, 3]"),
                                 "parallel": True, "skip_failures": False,
                                 "modules": [identity("i3")]}},
        {"id": "fan", "value": {"type": "branchall", "parallel": False, "branches": [
            {"modules": [identity("i4")]}, {"modules": [identity("i5")]}]}},
        py("last", "def main(x):\n    return x\n", x=js("[results.each, results.fan]"))))
    for n in (1, 9):
        status, result = run_flow(daemon, "f/flows/instant", {"n": n})
        # identity passes the previous result on: None in each iteration, the loop's
        # results in each branch
        assert (status, result) == ("success", [[None] * 3, [[None] * 3] * 2]), result


def test_retry_then_success_and_retry_count(daemon: RunningDaemon, tmp_path: Path) -> None:
    counter = tmp_path / "tries"
    code = (f"import pathlib\n\ndef main():\n    p = pathlib.Path({str(counter)!r})\n"
            "    n = int(p.read_text()) + 1 if p.exists() else 1\n    p.write_text(str(n))\n"
            "    if n < 3:\n        raise RuntimeError(f'attempt {n} failed')\n    return n\n")
    step = py("flaky", code)
    step["retry"] = {"constant": {"attempts": 3, "seconds": 0}}
    deploy_flow(daemon, "f/flows/retry", flow(step))
    assert run_flow(daemon, "f/flows/retry") == ("success", 3)
    job_id = daemon.api("GET", "jobs/list", params={"job_kinds": "flow"}).json()[0]["id"]
    fs = daemon.api("GET", f"jobs_u/get/{job_id}").json()["flow_status"]
    assert fs["retry"]["fail_count"] == 2 and len(fs["modules"][0]["failed_retries"]) == 2
    # exponential retries give up after their attempts
    counter.unlink()
    step["retry"] = {"exponential": {"attempts": 1, "multiplier": 1, "seconds": 1,
                                     "random_factor": 10}}
    deploy_flow(daemon, "f/flows/retry2", flow(step))
    status, result = run_flow(daemon, "f/flows/retry2")
    assert status == "failure" and result["error"]["message"] == "attempt 2 failed"


def test_failure_module_gets_error_and_previous_result(daemon: RunningDaemon) -> None:
    deploy_flow(daemon, "f/flows/handler", flow(
        py("ok", "def main():\n    return 'fine'\n"),
        py("bad", "def main():\n    raise ValueError('boom')\n"),
        failure_module=py("failure", "def main(e, prev):\n"
                                     "    return {'handled': e['message'], 'step': e['step_id'],"
                                     " 'name': e['name']}\n",
                          e=js("error"), prev=js("previous_result"))))
    status, result = run_flow(daemon, "f/flows/handler")
    assert status == "failure"
    assert result == {"handled": "boom", "step": "bad", "name": "ValueError"}


def test_skip_if_stop_after_if_continue_on_error_and_mock(daemon: RunningDaemon) -> None:
    skipped = py("skipped", "def main():\n    return 'should not run'\n")
    skipped["skip_if"] = {"expr": "flow_input.skip"}
    failing = py("failing", "def main():\n    raise KeyError('k')\n")
    failing["continue_on_error"] = True
    mocked = py("mocked", "def main():\n    raise SystemExit(1)\n")
    mocked["mock"] = {"enabled": True, "return_value": {"mocked": True}}
    deploy_flow(daemon, "f/flows/opts", flow(
        py("first", "def main():\n    return 1\n"), skipped,
        py("after_skip", "def main(p):\n    return p\n", p=js("previous_result")),
        failing,
        py("sees_error", "def main(p):\n    return p['error']['name']\n", p=js("previous_result")),
        mocked,
        py("last", "def main(m, s):\n    return [m, s]\n", m=js("results.mocked"),
           s=js("results.after_skip"))))
    assert run_flow(daemon, "f/flows/opts", {"skip": True}) == \
        ("success", [{"mocked": True}, 1])
    assert run_flow(daemon, "f/flows/opts", {"skip": False})[1][1] == "should not run"

    stopper = py("check", "def main(n):\n    return n\n", n=js("flow_input.n"))
    stopper["stop_after_if"] = {"expr": "result > 5", "skip_if_stopped": False}
    deploy_flow(daemon, "f/flows/stop", flow(stopper, py("never", "def main():\n    return 'ran'\n")))
    assert run_flow(daemon, "f/flows/stop", {"n": 9}) == ("success", 9)
    assert run_flow(daemon, "f/flows/stop", {"n": 1}) == ("success", "ran")
    stopper["stop_after_if"] = {"expr": "result > 5", "skip_if_stopped": True}
    deploy_flow(daemon, "f/flows/stop_skip", flow(stopper, identity("never")))
    r = daemon.api("POST", "jobs/run_wait_result/f/f/flows/stop_skip", json={"n": 9})
    assert r.headers["x-tidemill-job-status"] == "skipped"
    stopper["stop_after_if"] = {"expr": "result > 5", "error_message": "too big"}
    deploy_flow(daemon, "f/flows/stop_err", flow(stopper, identity("never")))
    status, result = run_flow(daemon, "f/flows/stop_err", {"n": 9})
    assert status == "failure" and result["error"]["message"] == "too big"


def test_sleep_and_timeout(daemon: RunningDaemon) -> None:
    first = py("first", "import time\n\ndef main():\n    return time.time()\n")
    first["sleep"] = static(1.5)
    deploy_flow(daemon, "f/flows/sleep", flow(
        first, py("second", "import time\n\ndef main(t):\n    return time.time() - t\n",
                  t=js("results.first"))))
    status, gap = run_flow(daemon, "f/flows/sleep")
    assert status == "success" and gap >= 1.5
    slow = py("slow", "import time\n\ndef main():\n    time.sleep(30)\n")
    slow["timeout"] = static(1)
    deploy_flow(daemon, "f/flows/timeout", flow(slow))
    started = time.monotonic()
    status, result = run_flow(daemon, "f/flows/timeout")
    assert status == "failure" and result["error"]["name"] == "Timeout"
    assert time.monotonic() - started < 15


def test_invalid_flows_name_module_and_field(daemon: RunningDaemon) -> None:
    bad = flow(py("a", ECHO), py("a", ECHO),
               {"id": "loop", "value": {"type": "forloopflow", "modules": [], "skip_failures": False}})
    r = daemon.api("POST", "flows/create", json={"path": "f/flows/bad", **bad})
    assert r.status_code == 400
    msg = r.json()["error"]["message"]
    assert "'a'" in msg or "a" in msg
    assert "iterator" in msg and "loop" in msg
    r = daemon.api("POST", "flows/create", json={"path": "f/flows/bad2", "summary": "x"})
    assert r.status_code == 400
    assert daemon.api("POST", "jobs/run/f/f/flows/nope", json={}).status_code == 404
    # a step reading a result that cannot exist yet (it would get null) is refused by name
    early = flow(py("a", ECHO, x=js("results.b")), py("b", ECHO, x=js("results.b")))
    r = daemon.api("POST", "flows/create", json={"path": "f/flows/early", **early})
    assert r.status_code == 400
    msg = r.json()["error"]["message"]
    assert "step 'a': input x: results.b — step 'b' has not run yet at this point" in msg
    assert "step 'b': input x: results.b — a step cannot read its own result" in msg
    assert daemon.api("GET", "flows/exists/f/flows/early").json() is False


def test_expression_error_fails_the_step_naming_the_expression(daemon: RunningDaemon) -> None:
    # (reading a step that does not exist is refused at deploy: flows/references.py)
    deploy_flow(daemon, "f/flows/badexpr", flow(py("a", ECHO, x=js("flow_input.nope.deeper +"))))
    status, result = run_flow(daemon, "f/flows/badexpr")
    assert status == "failure"
    assert "flow_input.nope.deeper +" in result["error"]["message"]
    assert result["error"]["step_id"] == "a"


def test_cancel_a_running_flow_cancels_its_steps(daemon: RunningDaemon) -> None:
    deploy_flow(daemon, "f/flows/long", flow(
        py("slow", "import time\n\ndef main():\n    time.sleep(60)\n"), identity("after")))
    job_id = daemon.api("POST", "jobs/run/f/f/flows/long", json={}).text
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        steps = daemon.api("GET", "jobs/list", params={"parent_job": job_id, "running": "true"}).json()
        if steps and steps[0]["running"]:
            break
        time.sleep(0.1)
    assert daemon.api("POST", f"jobs_u/queue/cancel/{job_id}", json={"reason": "enough"}).status_code == 200
    job = daemon.wait_job(job_id, timeout=10)
    assert job["status"] == "canceled"
    step = daemon.wait_job(steps[0]["id"], timeout=15)
    assert step["status"] == "canceled"


def test_restart_from_step_reuses_earlier_results(daemon: RunningDaemon, tmp_path: Path) -> None:
    marker = tmp_path / "runs"
    count = (f"import pathlib\n\ndef main(tag):\n    p = pathlib.Path({str(marker)!r})\n"
             "    p.write_text(p.read_text() + tag if p.exists() else tag)\n    return tag\n")
    deploy_flow(daemon, "f/flows/restart", flow(
        py("a", count, tag=static("A")), py("b", count, tag=static("B")),
        py("c", "def main(x, prev):\n    return [x, prev]\n", x=js("results.a"),
           prev=js("previous_result"))))
    first = daemon.api("POST", "jobs/run/f/f/flows/restart", json={}).text
    assert daemon.wait_job(first)["result"] == ["A", "B"]
    assert marker.read_text() == "AB"
    r = daemon.api("POST", f"jobs/restart/f/{first}/from/c")
    assert r.status_code == 201, r.text
    again = daemon.wait_job(r.text)
    assert again["result"] == ["A", "B"] and marker.read_text() == "AB"  # a and b not re-run
    r = daemon.api("POST", f"jobs/restart/f/{first}/from/b")
    assert daemon.wait_job(r.text)["result"] == ["A", "B"] and marker.read_text() == "ABB"
    bad = daemon.api("POST", f"jobs/restart/f/{first}/from/zzz")
    assert bad.status_code == 400 and "zzz" in bad.json()["error"]["message"]


def test_early_return_answers_before_the_flow_ends(daemon: RunningDaemon) -> None:
    deploy_flow(daemon, "f/flows/early_return", flow(
        py("quick", "def main():\n    return 'accepted'\n"),
        py("slow", "import time\n\ndef main():\n    time.sleep(3)\n    return 'done'\n"),
        early_return="quick"))
    started = time.monotonic()
    assert run_flow(daemon, "f/flows/early_return") == ("success", "accepted")
    assert time.monotonic() - started < 2.5
    job = daemon.api("GET", "jobs/list", params={"job_kinds": "flow"}).json()[0]
    assert daemon.wait_job(job["id"], timeout=30)["result"] == "done"


def test_cache_ttl_reuses_a_recent_result(daemon: RunningDaemon, tmp_path: Path) -> None:
    counter = tmp_path / "computed"
    step = py("slow", f"import pathlib\n\ndef main(x: int):\n"
                      f"    p = pathlib.Path({str(counter)!r})\n"
                      "    p.write_text(p.read_text() + 'x' if p.exists() else 'x')\n"
                      "    return x * 10\n", x=js("flow_input.x"))
    step["cache_ttl"] = 60
    deploy_flow(daemon, "f/flows/cached", flow(step))
    assert run_flow(daemon, "f/flows/cached", {"x": 1}) == ("success", 10)
    assert run_flow(daemon, "f/flows/cached", {"x": 1}) == ("success", 10)  # from the cache
    assert run_flow(daemon, "f/flows/cached", {"x": 2}) == ("success", 20)  # other inputs
    assert counter.read_text() == "xx"
    job_id = daemon.api("GET", "jobs/list", params={"job_kinds": "flow"}).json()[1]["id"]
    assert daemon.api("GET", f"jobs_u/get/{job_id}").json()["flow_status"]["modules"][0]["cached"]


def test_concurrent_limit_runs_one_at_a_time(daemon: RunningDaemon) -> None:
    work = py("work", "import time\n\ndef main():\n    t0 = time.time()\n    time.sleep(1)\n"
                      "    return [t0, time.time()]\n")
    deploy_flow(daemon, "f/flows/single", flow(work, concurrent_limit=1))
    ids = [daemon.api("POST", "jobs/run/f/f/flows/single", json={}).text for _ in range(3)]
    spans = sorted(daemon.wait_job(j, timeout=60)["result"] for j in ids)
    assert len(spans) == 3
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end - 0.05, spans  # never two at once


def test_stop_after_all_iters_if(daemon: RunningDaemon) -> None:
    loop = {"id": "loop", "stop_after_all_iters_if": {"expr": "all_iters.length > 2"},
            "value": {"type": "forloopflow", "iterator": js("flow_input.items"),
                      "skip_failures": False, "modules": [
                          py("id", ECHO, x=js("flow_input.iter.value"))]}}
    deploy_flow(daemon, "f/flows/alliters", flow(loop, py("after", "def main():\n    return 'ran'\n")))
    assert run_flow(daemon, "f/flows/alliters", {"items": [1, 2, 3]}) == ("success", [1, 2, 3])
    assert run_flow(daemon, "f/flows/alliters", {"items": [1, 2]}) == ("success", "ran")


def test_same_worker_steps_share_a_folder(daemon: RunningDaemon) -> None:
    write = sh("write", "echo 'from step one' > shared/note.txt\necho written\n")
    loop = {"id": "loop", "value": {"type": "forloopflow", "iterator": static([1, 2]),
                                    "skip_failures": False, "modules": [
                                        sh("append", 'v="$1"\necho "iter $v" >> shared/note.txt\n'
                                                     'echo ok\n', v=js("flow_input.iter.value"))]}}
    read = py("read", "def main():\n    return open('shared/note.txt').read().splitlines()\n")
    deploy_flow(daemon, "f/flows/same", flow(write, loop, read, same_worker=True))
    assert run_flow(daemon, "f/flows/same") == ("success", ["from step one", "iter 1", "iter 2"])
    # another run has its own folder
    assert run_flow(daemon, "f/flows/same") == ("success", ["from step one", "iter 1", "iter 2"])


def test_every_job_a_flow_starts_has_a_time_ordered_id(daemon: RunningDaemon) -> None:
    """Job ids are UUIDv7 whatever pushes the job (the API, the flow engine's steps, a
    parallel loop's iterations pushed together): retention deletes a batch of jobs that sit
    together in every index keyed by job id only because of it (docs: "Job history upkeep")."""
    deploy_flow(daemon, "f/flows/ids", flow(
        py("a", "def main():\n    return [1, 2, 3]\n"),
        {"id": "loop", "value": {"type": "forloopflow", "iterator": js("results.a"),
                                 "skip_failures": False, "parallel": True,
                                 "parallelism": static(3),
                                 "modules": [py("x", "def main(v):\n    return v\n",
                                                v=js("flow_input.iter.value"))]}}))
    assert run_flow(daemon, "f/flows/ids") == ("success", [1, 2, 3])
    listed = daemon.api("GET", "jobs/list", params={"script_path_exact": "f/flows/ids",
                                                    "job_kinds": "flow"}).json()
    jobs = [j for j in listed if j["parent_job"] is None]  # the flow; then its descendants
    for parent in jobs:  # breadth first: the list grows as it is walked
        jobs += daemon.api("GET", "jobs/list", params={"parent_job": parent["id"]}).json()
    # the flow, step a, three iterations (each a flow job, as in Windmill) and their steps x
    assert len(jobs) == 8, [(j["id"], j["job_kind"], j["parent_job"]) for j in jobs]
    for job in jobs:
        uid = UUID(job["id"])
        assert uid.version == 7, f"job {uid} ({job.get('script_path')}) is not a UUIDv7"
        made = datetime.fromisoformat(job["created_at"].replace("Z", "+00:00"))
        assert abs((uid.int >> 80) / 1000 - made.timestamp()) < 5, (uid, job["created_at"])
