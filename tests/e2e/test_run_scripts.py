"""Deploy and run Python and Bash scripts through the CLI and the HTTP API."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.e2e.daemon_harness import RunningDaemon

# Each test deploys and runs its own items and judges only its own jobs: one daemon
# serves the module (tests/e2e/conftest.py `module_daemon`).
pytestmark = pytest.mark.shared_daemon

HELLO_PY = textwrap.dedent('''
    import six  # a third-party requirement, resolved with uv at deploy
    from datetime import datetime

    def main(name: str, times: int = 2, when: datetime = None, raw: bytes = b""):
        return {"greeting": " ".join([f"hello {name}"] * times), "six": six.PY3,
                "year": when.year if when else None, "raw": raw.decode()}
''')


def test_deploy_and_run_python_with_requirement(daemon: RunningDaemon, tmp_path: Path) -> None:
    script = tmp_path / "hello.py"
    script.write_text(HELLO_PY)
    daemon.cli("deploy", str(script), "--path", "f/demo/hello", check=True)
    res = daemon.cli("run", "f/demo/hello", "-a", "name=Ada", "-a", "times=3",
                     "-a", "when=2024-05-01T10:00:00Z", "-a", "raw=aGk=", check=True)
    assert json.loads(res.stdout) == {"greeting": "hello Ada hello Ada hello Ada", "six": True,
                                      "year": 2024, "raw": "hi"}
    script_info = daemon.api("GET", "scripts/get/p/f/demo/hello").json()
    assert "six==" in script_info["lock"]


def test_run_bash_positional_args_and_last_line(daemon: RunningDaemon, tmp_path: Path) -> None:
    script = tmp_path / "greet.sh"
    script.write_text(textwrap.dedent('''
        name="$1"
        count="${2:-1}"
        flags="$3"
        echo "working for $name"
        echo "count=$count flags=$flags"
    '''))
    daemon.cli("deploy", str(script), "--path", "f/demo/greet", check=True)
    res = daemon.cli("run", "f/demo/greet", "--args", '{"name": "Bo", "flags": {"x": 1}}',
                     check=True)
    # the default applies to the missing middle arg; non-strings arrive as JSON text
    assert json.loads(res.stdout) == 'count=1 flags={"x": 1}'
    jobs = json.loads(daemon.cli("jobs", "--json", check=True).stdout)
    logs = daemon.cli("logs", jobs[0]["id"], check=True)
    assert "working for Bo" in logs.stdout


def test_bash_result_json_and_failure_exit_code(daemon: RunningDaemon) -> None:
    daemon.deploy("f/demo/json", 'echo noise\necho \'{"a": [1, 2]}\' > result.json\n', "bash")
    assert daemon.run_wait("f/demo/json") == ("success", {"a": [1, 2]})
    daemon.deploy("f/demo/boom", 'echo "about to fail"\necho "bad thing" >&2\nexit 3\n', "bash")
    status, result = daemon.run_wait("f/demo/boom")
    assert status == "failure"
    assert result["error"]["exit_code"] == 3
    assert "code 3" in result["error"]["message"] and "bad thing" in result["error"]["message"]
    res = daemon.cli("run", "f/demo/boom")  # a failure is printed as text (error, log tail)
    assert res.returncode == 1 and res.stdout == ""
    assert res.stderr.startswith("error: ") and "code 3" in res.stderr.splitlines()[0]
    assert "\n  about to fail\n" in res.stderr
    res = daemon.cli("run", "f/demo/boom", "--json")
    assert res.returncode == 1 and json.loads(res.stdout)["error"]["exit_code"] == 3


def test_python_exception_is_a_failed_result_naming_the_line(daemon: RunningDaemon) -> None:
    daemon.deploy("f/demo/fail", "def helper():\n    raise ValueError('nope')\n\n"
                                 "def main():\n    helper()\n")
    status, result = daemon.run_wait("f/demo/fail")
    assert status == "failure"
    err = result["error"]
    assert err["name"] == "ValueError" and err["message"] == "nope"
    assert 'main.py", line 2, in helper' in err["stack"]
    assert "python_wrapper" not in err["stack"]


def test_async_main_and_print_goes_to_log(daemon: RunningDaemon) -> None:
    daemon.deploy("f/demo/am", "import asyncio\n\nasync def main(x: int):\n"
                               "    print('thinking')\n    await asyncio.sleep(0.01)\n    return x * 2\n")
    job_id = daemon.api("POST", "jobs/run/p/f/demo/am", json={"x": 21}).text
    job = daemon.wait_job(job_id)
    assert job["success"] and job["result"] == 42 and job["script_path"] == "f/demo/am"
    assert "thinking" in daemon.api("GET", f"jobs_u/get_logs/{job_id}").text


def test_each_deploy_is_a_version_and_jobs_record_it(daemon: RunningDaemon) -> None:
    h1 = daemon.deploy("f/demo/v", "def main():\n    return 1\n")
    h2 = daemon.deploy("f/demo/v", "def main():\n    return 2\n")
    assert h1 != h2
    job1 = daemon.wait_job(daemon.api("POST", f"jobs/run/h/{h1}", json={}).text)
    job2 = daemon.wait_job(daemon.api("POST", "jobs/run/p/f/demo/v", json={}).text)
    assert (job1["script_hash"], job1["result"]) == (h1, 1)
    assert (job2["script_hash"], job2["result"]) == (h2, 2)
    history = daemon.api("GET", "scripts/history/p/f/demo/v").json()
    assert [v["script_hash"] for v in history] == [h2, h1]
