"""Bad input gets a clear message and loses nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.daemon_harness import RunningDaemon


def _no_jobs(daemon: RunningDaemon) -> bool:
    return daemon.api("GET", "jobs/list").json() == []


@pytest.mark.api_only
def test_syntax_error_names_the_line(daemon: RunningDaemon, tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def main(x: int):\n    return (x +\n\ndef other(): pass\n")
    res = daemon.cli("deploy", str(bad), "--path", "f/demo/bad")
    assert res.returncode == 2
    assert "line" in res.stderr and "syntax" in res.stderr.lower()
    assert daemon.api("GET", "scripts/get/p/f/demo/bad").status_code == 404
    res = daemon.cli("schema", str(bad))
    assert res.returncode == 2 and "line" in res.stderr


@pytest.mark.api_only
def test_arguments_that_do_not_fit_start_no_job(daemon: RunningDaemon) -> None:
    daemon.deploy("f/demo/typed", "def main(n: int, mode: str = 'a'):\n    return n\n")
    r = daemon.api("POST", "jobs/run/p/f/demo/typed", json={"n": "abc"})
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["field"] == "n" and "integer" in err["message"]
    r = daemon.api("POST", "jobs/run/p/f/demo/typed", json={})
    assert r.status_code == 400 and r.json()["error"]["field"] == "n"
    res = daemon.cli("run", "f/demo/typed", "-a", "n=notanumber")
    assert res.returncode == 2 and "n" in res.stderr
    assert _no_jobs(daemon)


def test_the_api_enforces_the_whole_schema_the_form_shows(daemon: RunningDaemon) -> None:
    schema = {"type": "object", "required": ["times", "code"], "properties": {
        "times": {"type": "integer", "minimum": 1, "maximum": 5},
        "code": {"type": "string", "pattern": "^[A-Z]{3}$"}}}
    daemon.deploy("f/demo/ruled", "def main(times: int, code: str):\n    return code * times\n",
                  schema=schema)
    r = daemon.api("POST", "jobs/run/p/f/demo/ruled", json={"times": 0, "code": "ABC"})
    assert r.status_code == 400
    assert r.json()["error"]["field"] == "times"
    assert r.json()["error"]["message"] == "argument 'times': must be at least 1"
    r = daemon.api("POST", "jobs/run/p/f/demo/ruled", json={"times": 2, "code": "abc"})
    assert r.status_code == 400
    assert r.json()["error"]["field"] == "code"
    assert r.json()["error"]["message"] == "argument 'code': must match ^[A-Z]{3}$"
    assert _no_jobs(daemon)
    assert daemon.run_wait("f/demo/ruled", {"times": 2, "code": "ABC"}) == ("success", "ABCABC")


@pytest.mark.api_only
def test_unknown_path_is_404_naming_it(daemon: RunningDaemon) -> None:
    r = daemon.api("POST", "jobs/run/p/f/nowhere/thing", json={})
    assert r.status_code == 404 and "f/nowhere/thing" in r.json()["error"]["message"]
    res = daemon.cli("run", "f/nowhere/thing")
    assert res.returncode == 2 and "f/nowhere/thing" in res.stderr
    r = daemon.api("GET", "no/such/endpoint")
    assert r.status_code == 404 and "/api/w/main/no/such/endpoint" in r.json()["error"]["message"]


def test_unresolvable_requirement_fails_that_job_only(daemon: RunningDaemon) -> None:
    daemon.deploy("f/demo/nodeps", "# requirements:\n# tidemill-no-such-package-xyz==1.0\n\n"
                                   "def main():\n    return 1\n")
    daemon.deploy("f/demo/ok", "def main():\n    return 'fine'\n")
    status, result = daemon.run_wait("f/demo/nodeps")
    assert status == "failure" and "tidemill-no-such-package-xyz" in result["error"]["message"]
    job = daemon.api("GET", "jobs/list", params={"script_path_exact": "f/demo/nodeps"}).json()[0]
    logs = daemon.api("GET", f"jobs_u/get_logs/{job['id']}").text
    assert "tidemill-no-such-package-xyz" in logs
    assert daemon.run_wait("f/demo/ok") == ("success", "fine")


def test_result_not_json_and_too_large(daemon: RunningDaemon) -> None:
    daemon.deploy("f/demo/obj", "def main():\n    return object()\n")
    status, result = daemon.run_wait("f/demo/obj")
    assert status == "failure" and result["error"]["name"] == "ResultNotSerializable"
    assert "object" in result["error"]["message"]
    daemon.deploy("f/demo/big", "def main():\n    return 'x' * (9 * 1024 * 1024)\n")
    status, result = daemon.run_wait("f/demo/big")
    assert status == "failure" and result["error"]["name"] == "ResultTooLarge"
    assert "MB" in result["error"]["message"]
    # common non-JSON values are converted rather than refused
    daemon.deploy("f/demo/conv", "import datetime, decimal\n\ndef main():\n"
                                 "    return {'d': datetime.date(2024, 1, 2), 'n': decimal.Decimal('1.5'),"
                                 " 't': (1, 2)}\n")
    assert daemon.run_wait("f/demo/conv") == ("success", {"d": "2024-01-02", "n": 1.5, "t": [1, 2]})


def test_second_daemon_on_same_home_refuses(daemon: RunningDaemon) -> None:
    res = daemon.cli("daemon", "--home", str(daemon.home), "--port", "0",
                     "--database-url", daemon.database_url or "")
    assert res.returncode != 0
    assert "already running" in res.stderr and str(daemon.proc.pid if daemon.proc else "") in res.stderr


@pytest.mark.api_only
def test_missing_token_and_bad_token(daemon: RunningDaemon) -> None:
    import httpx

    r = httpx.get(f"{daemon.url}/api/w/main/jobs/list")
    assert r.status_code == 401 and "token" in r.json()["error"]["message"]
    r = httpx.get(f"{daemon.url}/api/w/main/jobs/list", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    ok = httpx.get(f"{daemon.url}/api/w/main/jobs/list", params={"token": daemon.token})
    assert ok.status_code == 200 and isinstance(ok.json(), list)
    assert json.loads(daemon.cli("jobs", "--json").stdout) == []
