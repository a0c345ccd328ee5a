"""A script's and a flow's runtime settings, honoured as a Windmill user expects:
`concurrent_limit` (with `concurrency_key` and `concurrency_time_window_s`), `cache_ttl`,
`priority`, `timeout` and `tag` — on one real daemon with four workers for the module."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from tests.e2e.daemon_harness import RunningDaemon, free_port
from tests.e2e.flow_helpers import flow, js, py, static
from tests.support.pg import create_database, drop_database

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def settings_daemon(pg_server, template_database: str, tmp_path_factory: pytest.TempPathFactory,
                    shared_cache: Path) -> Iterator[RunningDaemon]:
    name = f"test_{uuid.uuid4().hex}"
    url = create_database(pg_server.url, name, template=template_database)
    home = tmp_path_factory.mktemp("settings") / "home"
    home.mkdir()
    for sub in ("cache", "envs"):
        (shared_cache / sub).mkdir(parents=True, exist_ok=True)
        (home / sub).symlink_to(shared_cache / sub)
    d = RunningDaemon(home=home, port=free_port(), database_url=url, workers=4)
    d.start()
    try:
        yield d
    finally:
        d.stop()
        drop_database(pg_server.url, name)


def _workdir(d: RunningDaemon, name: str) -> Path:
    # Under the test's folder, which the sandbox lets jobs write (daemon_harness shares it).
    out = d.home.parent / f"{name}-{uuid.uuid4().hex[:6]}"
    out.mkdir()
    return out


SPAN = """\
import os
import time

def main(out: str, n: int, hold: float = 1.5):
    start = time.time()
    time.sleep(hold)
    with open(os.path.join(out, f"{n}.txt"), "w") as f:
        f.write(f"{start} {time.time()}")
    return n
"""


def _spans(out: Path) -> list[tuple[float, float]]:
    return sorted(tuple(map(float, p.read_text().split())) for p in out.glob("*.txt"))  # type: ignore[misc]


def _most_at_once(spans: list[tuple[float, float]]) -> int:
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    now = most = 0
    for _, step in events:  # an end sorts before a start at the same instant
        now += step
        most = max(most, now)
    return most


def _run_all(d: RunningDaemon, path: str, args: list[dict[str, object]],
             timeout: float = 180) -> list[dict[str, object]]:
    ids = []
    for a in args:
        r = d.api("POST", f"jobs/run/p/{path}", json=a)
        assert r.status_code == 201, r.text
        ids.append(r.text.strip('"'))
    return [d.wait_job(i, timeout=timeout) for i in ids]


def test_ten_jobs_with_a_limit_of_two_never_run_more_than_two_at_once(
        settings_daemon: RunningDaemon) -> None:
    d = settings_daemon
    d.deploy("f/limits/two", SPAN, concurrent_limit=2)
    out = _workdir(d, "two")
    jobs = _run_all(d, "f/limits/two", [{"out": str(out), "n": n} for n in range(10)])
    assert [j["success"] for j in jobs] == [True] * 10, jobs
    spans = _spans(out)
    assert len(spans) == 10
    # Four workers were free: without the limit four would overlap; with it, two at most
    # (and two do, so the limit is not a queue of one).
    assert _most_at_once(spans) == 2, spans


def test_a_custom_key_limits_per_argument_value(settings_daemon: RunningDaemon) -> None:
    d = settings_daemon
    d.deploy("f/limits/per_user", SPAN.replace("n: int", "n: int, user: str = ''"),
             concurrent_limit=1, concurrency_key="$workspace/report-$args[user]")
    out_a, out_b = _workdir(d, "a"), _workdir(d, "b")
    jobs = _run_all(d, "f/limits/per_user",
                    [{"out": str(out), "n": n, "user": u, "hold": 1.0}
                     for n in range(3) for u, out in (("ann", out_a), ("bob", out_b))])
    assert all(j["success"] for j in jobs)
    # One at a time per user; the two users' jobs are free to overlap each other.
    assert _most_at_once(_spans(out_a)) == 1 and _most_at_once(_spans(out_b)) == 1
    assert _most_at_once(_spans(out_a) + _spans(out_b)) == 2


def test_a_time_window_spaces_the_starts(settings_daemon: RunningDaemon) -> None:
    d = settings_daemon
    d.deploy("f/limits/window", SPAN, concurrent_limit=1, concurrency_time_window_s=3)
    out = _workdir(d, "window")
    jobs = _run_all(d, "f/limits/window", [{"out": str(out), "n": n, "hold": 0.0}
                                           for n in range(2)])
    assert all(j["success"] for j in jobs)
    (s1, e1), (s2, _) = _spans(out)
    # The first job ended at once, yet the second waited out the window from its start.
    assert e1 - s1 < 2.5 and s2 - s1 >= 2.5, (s1, e1, s2)


def test_cache_ttl_reuses_the_result_of_the_same_arguments(settings_daemon: RunningDaemon) -> None:
    d = settings_daemon
    code = ("import os, uuid\n\ndef main(out: str, x: int):\n"
            "    open(os.path.join(out, f'{x}-{uuid.uuid4()}'), 'w').close()\n"
            "    return {'x': x, 'run': str(uuid.uuid4())}\n")
    d.deploy("f/limits/cached", code, cache_ttl=60)
    out = _workdir(d, "cache")
    first = d.run_wait("f/limits/cached", {"out": str(out), "x": 1})
    again = d.run_wait("f/limits/cached", {"out": str(out), "x": 1})
    other = d.run_wait("f/limits/cached", {"out": str(out), "x": 2})
    assert first[0] == again[0] == other[0] == "success"
    assert again[1] == first[1] and other[1]["run"] != first[1]["run"]
    assert sorted(p.name.split("-")[0] for p in out.iterdir()) == ["1", "2"]  # ran twice, not 3


def test_a_scripts_timeout_kills_it_with_a_clear_error(settings_daemon: RunningDaemon) -> None:
    d = settings_daemon
    d.deploy("f/limits/slow", "import time\n\ndef main():\n    time.sleep(60)\n", timeout=1)
    started = time.monotonic()
    status, result = d.run_wait("f/limits/slow")
    assert status == "failure" and result["error"]["name"] == "Timeout"
    assert "timeout of 1 s" in result["error"]["message"]
    assert time.monotonic() - started < 50


def test_tagged_jobs_wait_for_a_tagged_worker_which_takes_them_by_priority(
        settings_daemon: RunningDaemon, tmp_path: Path) -> None:
    d = settings_daemon
    code = "import os\n\ndef main(n: int):\n    return os.environ['WM_WORKER']\n"
    d.deploy("f/limits/low", code, tag="solo")
    d.deploy("f/limits/high", code, tag="solo", priority=50)
    ids = [d.api("POST", "jobs/run/p/f/limits/low", json={"n": n}).text.strip('"')
           for n in range(3)]
    high = d.api("POST", "jobs/run/p/f/limits/high", json={"n": 9}).text.strip('"')
    time.sleep(2)  # the daemon's four workers take language tags only: nothing runs
    for job_id in (*ids, high):
        assert d.api("GET", f"jobs_u/get/{job_id}").json()["type"] == "QueuedJob"
    with _tag_worker(d, "solo", tmp_path / "solo-worker.log"):
        jobs = {i: d.wait_job(i, timeout=120) for i in (*ids, high)}
    assert {j["result"] for j in jobs.values()} == {"solo-1"}, (tmp_path / "solo-worker.log").read_text()
    started = {i: datetime.fromisoformat(str(j["started_at"])) for i, j in jobs.items()}
    assert min(started, key=started.__getitem__) == high  # queued last, ran first


@contextlib.contextmanager
def _tag_worker(d: RunningDaemon, tag: str, log_path: Path) -> Iterator[None]:
    """`tidemill worker --tags TAG` against the daemon's database, for the block."""
    log = open(log_path, "wb")
    worker = subprocess.Popen(
        [sys.executable, "-m", "desktop_app.cli.main", "worker", "--database-url",
         str(d.database_url), "--home", str(d.home), "--name", "solo-1", "--tags", tag],
        stdout=log, stderr=subprocess.STDOUT, env=d.env())
    log.close()
    try:
        yield
    finally:
        worker.terminate()
        worker.wait(30)


# -- the same settings on flows -------------------------------------------------------------

def _deploy_flow(d: RunningDaemon, path: str, doc: dict[str, object]) -> None:
    r = d.api("POST", "flows/create", json={"path": path, **doc})
    assert r.status_code == 201, r.text


def _run_flow(d: RunningDaemon, path: str, args: dict[str, object]) -> str:
    r = d.api("POST", f"jobs/run/f/{path}", json=args)
    assert r.status_code == 201, r.text
    return r.text.strip('"')


def test_a_flows_cache_ttl_reuses_the_whole_runs_result(settings_daemon: RunningDaemon) -> None:
    d = settings_daemon
    out = _workdir(d, "flowcache")
    step = py("work", "import os, uuid\n\ndef main(out: str, x: int):\n"
                      "    open(os.path.join(out, f'{x}-{uuid.uuid4()}'), 'w').close()\n"
                      "    return {'x': x, 'run': str(uuid.uuid4())}\n",
              out=js("flow_input.out"), x=js("flow_input.x"))
    _deploy_flow(d, "f/limits/flow_cached", flow(step, cache_ttl=60))
    first, again, other = (d.wait_job(_run_flow(d, "f/limits/flow_cached",
                                                {"out": str(out), "x": x}))
                           for x in (1, 1, 2))
    assert first["success"] and again["success"] and other["success"]
    assert again["result"] == first["result"] and other["result"]["run"] != first["result"]["run"]
    assert sorted(p.name.split("-")[0] for p in out.iterdir()) == ["1", "2"]  # 2 runs, not 3


def test_a_flows_time_window_spaces_its_runs(settings_daemon: RunningDaemon) -> None:
    d = settings_daemon
    out = _workdir(d, "flowwindow")
    step = py("work", SPAN, out=js("flow_input.out"), n=js("flow_input.n"), hold=static(0.0))
    _deploy_flow(d, "f/limits/flow_window",
                 flow(step, concurrent_limit=1, concurrency_time_window_s=3))
    ids = [_run_flow(d, "f/limits/flow_window", {"out": str(out), "n": n}) for n in range(2)]
    assert all(d.wait_job(i, timeout=120)["success"] for i in ids)
    (s1, e1), (s2, _) = _spans(out)
    assert e1 - s1 < 2.5 and s2 - s1 >= 2.5, (s1, e1, s2)


def test_a_flows_priority_orders_its_steps_jobs(settings_daemon: RunningDaemon,
                                                tmp_path: Path) -> None:
    d = settings_daemon
    code = "import os\n\ndef main(n: int):\n    return os.environ['WM_WORKER']\n"
    step = py("where", code, n=js("flow_input.n"))
    step["value"]["tag"] = "solo_flow"
    _deploy_flow(d, "f/limits/flow_low", flow(step))
    _deploy_flow(d, "f/limits/flow_high", flow(step, priority=40))
    low = [_run_flow(d, "f/limits/flow_low", {"n": n}) for n in range(3)]
    high = _run_flow(d, "f/limits/flow_high", {"n": 9})
    time.sleep(2)  # no worker takes `solo_flow` yet: every step job waits
    with _tag_worker(d, "solo_flow", tmp_path / "solo-flow-worker.log"):
        runs = {i: d.wait_job(i, timeout=120) for i in (*low, high)}
    assert all(r["success"] and r["result"] == "solo-1" for r in runs.values()), runs
    step_started = {}
    for run_id in runs:
        (child,) = d.api("GET", "jobs/list", params={"parent_job": run_id}).json()
        step_started[run_id] = datetime.fromisoformat(str(child["started_at"]))
    assert min(step_started, key=step_started.__getitem__) == high


@pytest.mark.parametrize(("where", "field", "value"), [
    ("flow", "cache_ttl", -1), ("flow", "concurrent_limit", "two"),
    ("flow", "concurrency_time_window_s", -3), ("flow", "priority", 1.5),
    ("step", "priority", "high"), ("step", "cache_ttl", -60),
])
def test_a_flows_bad_setting_is_refused_naming_it(settings_daemon: RunningDaemon, where: str,
                                                  field: str, value: object) -> None:
    step = py("a", "def main():\n    return 1\n")
    doc = flow(step, **{field: value}) if where == "flow" else flow({**step, field: value})
    r = settings_daemon.api("POST", "flows/create", json={"path": "f/limits/bad_flow", **doc})
    assert r.status_code == 400, r.text
    assert f"{field}: must be a whole number" in r.text, r.text


@pytest.mark.parametrize(("field", "value", "says"), [
    ("concurrent_limit", -1, "'concurrent_limit' must be at least 0"),
    ("concurrent_limit", "two", "'concurrent_limit' must be a whole number"),
    ("concurrency_time_window_s", -5, "'concurrency_time_window_s' must be at least 0"),
    ("concurrency_key", 7, "'concurrency_key' must be a string"),
    ("cache_ttl", -60, "'cache_ttl' must be at least 0"),
    ("priority", "high", "'priority' must be a whole number"),
    ("timeout", 0, "'timeout' must be at least 1"),
    ("tag", "gpu workers", "'tag' must be one word"),
])
def test_a_bad_setting_is_refused_naming_the_field(settings_daemon: RunningDaemon, field: str,
                                                   value: object, says: str) -> None:
    r = settings_daemon.api("POST", "scripts/create", json={
        "path": "f/limits/bad", "content": "def main():\n    return 1\n", "language": "python3",
        field: value})
    assert r.status_code == 400, r.text
    assert says in r.text, r.text
    assert settings_daemon.api("GET", "scripts/get/p/f/limits/bad").status_code == 404
