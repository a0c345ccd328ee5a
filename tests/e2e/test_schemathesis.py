"""schemathesis against a live daemon's /api/openapi.json: no request, however malformed,
is answered with a 5xx, and every answer fits the response schema the OpenAPI declares.

The daemon holds a few real items first (two scripts, a flow, variables, a resource, a
finished and a scheduled job); schemathesis draws path parameters from them part of the time, so
its requests reach the handlers' logic instead of stopping at a 404.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.daemon_harness import RunningDaemon
from tests.e2e.flow_helpers import flow, py

ECHO = "def main(x: int = 0, name: str = '', flag: bool = False):\n" \
       "    return {'x': x, 'name': name, 'flag': flag}\n"
SHOUT = 'msg="$1"\necho "${msg^^}"\n'

# Per operation; about a minute on 2 cores. TIDEMILL_FUZZ_EXAMPLES / _SEED explore further.
EXAMPLES = int(os.environ.get("TIDEMILL_FUZZ_EXAMPLES", "60"))
SEED = os.environ.get("TIDEMILL_FUZZ_SEED", "20261126")


def _seed_items(daemon: RunningDaemon) -> dict[str, list[str]]:
    hashes = [daemon.deploy("f/fuzz/echo", ECHO), daemon.deploy("f/fuzz/shout", SHOUT, "bash")]
    for body in ({"path": "f/fuzz/plain", "value": "hello", "is_secret": False},
                 {"path": "f/fuzz/secret", "value": "s3cr3t", "is_secret": True}):
        assert daemon.api("POST", "variables/create", json=body).status_code == 201
    r = daemon.api("POST", "resources/create", json={
        "path": "f/fuzz/db", "resource_type": "postgresql",
        "value": {"host": "db.local", "password": "pw", "user": "$var:f/fuzz/plain"}})
    assert r.status_code == 201, r.text
    r = daemon.api("POST", "flows/create", json={
        "path": "f/fuzz/flow", **flow(py("a", "def main():\n    return 1\n"))})
    assert r.status_code == 201, r.text
    r = daemon.api("POST", "jobs/run_wait_result/p/f/fuzz/echo", json={"x": 1})
    assert r.status_code == 200, r.text
    finished = r.headers["x-tidemill-job-id"]
    scheduled = daemon.api("POST", "jobs/run/p/f/fuzz/echo", params={"scheduled_in_secs": 3600},
                           json={}).text
    return {
        "workspaces": ["main"],
        "paths": ["f/fuzz/echo", "f/fuzz/shout", "f/fuzz/plain", "f/fuzz/secret", "f/fuzz/db",
                  "f/fuzz/flow"],
        "hashes": hashes,
        "jobs": [finished, scheduled],
        "finished_jobs": [finished],
        "types": ["postgresql", "state"],
    }


def _binding(param: str, dictionary: str, p: float = 0.6) -> str:
    return f'"path.{param}" = {{ dictionary = "{dictionary}", probability = {p} }}'


def _config(items: dict[str, list[str]]) -> str:
    lines = ["request-timeout = 60"]
    for name, values in items.items():
        lines += [f"[dictionaries.{name}]", "values = [" + ", ".join(f'"{v}"' for v in values) + "]"]
    lines += ["[parameters]", _binding("workspace", "workspaces", 0.9), _binding("path", "paths"),
              _binding("hash_", "hashes"), _binding("job_id", "jobs"), _binding("name", "types")]
    # The live stream of a job that runs in an hour stays open until then, as it should;
    # schemathesis would read each for the whole request timeout (and `getupdate` waits
    # half a second for news of a job that has none).
    lines += ["[[operations]]", 'include-path-regex = "getupdate"', "request-timeout = 3",
              f"parameters = {{ {_binding('job_id', 'finished_jobs')} }}"]
    return "\n".join(lines) + "\n"


# About 150 operations now (users, folders, audit, apps, triggers…): 4-5 minutes on a busy
# 2-core machine, over the suite's default 300 s; schemathesis itself is bounded at 600 s.
@pytest.mark.timeout(660)
def test_no_request_gets_a_server_error(daemon: RunningDaemon, tmp_path: Path) -> None:
    config = tmp_path / "schemathesis.toml"
    config.write_text(_config(_seed_items(daemon)))
    cmd = [sys.executable, "-m", "schemathesis.cli", "--no-color", "--config-file", str(config),
           "run", f"{daemon.url}/api/openapi.json",
           "--header", f"Authorization: Bearer {daemon.token}",
           "--checks", "not_a_server_error,response_schema_conformance",
           "--max-examples", str(EXAMPLES), "--seed", SEED, "--workers", "1",
           "--warnings", "off", "--suppress-health-check", "all",
           "--report", "ndjson", "--report-dir", str(tmp_path / "report")]
    res = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600,
                         env={**os.environ, "NO_COLOR": "1"})
    out = res.stdout + res.stderr
    assert res.returncode == 0, f"schemathesis found failures:\n{out[-20000:]}"
    assert "generated" in out, out[-5000:]  # it did run cases
    # An exception that escaped a handler after its response had started (a stream) is
    # not seen by the client; the daemon's log shows it.
    assert "Exception in ASGI application" not in daemon.log(), daemon.log()[-10000:]
