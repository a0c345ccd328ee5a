"""Windmill's request rules and the API's answers: auth, 401/403/404/400/413, bodies,
headers, sync response controls, SSE, progress."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from tests.e2e.daemon_harness import RunningDaemon

# Each test deploys and runs its own items and judges only its own jobs: one daemon
# serves the module (tests/e2e/conftest.py `module_daemon`).
pytestmark = pytest.mark.shared_daemon

ECHO = "def main(body=None, x: int = 0, user_agent: str = ''):\n" \
       "    return {'body': body, 'x': x, 'ua': user_agent}\n"


def test_run_only_token_can_run_matching_paths_only(daemon: RunningDaemon) -> None:
    daemon.deploy("f/hooks/echo", ECHO)
    daemon.deploy("f/admin/secret_op", "def main():\n    return 'admin only'\n")
    token = daemon.cli("token", "create", "--label", "webhook", "--scope", "run:f/hooks/*",
                       check=True).stdout.strip()
    with daemon.http(token) as c:
        r = c.post("/api/w/main/jobs/run_wait_result/p/f/hooks/echo", json={"x": 5})
        assert r.status_code == 200 and r.json()["x"] == 5
        r = c.post("/api/w/main/jobs/run/p/f/admin/secret_op", json={})
        assert r.status_code == 403 and "f/admin/secret_op" in r.json()["error"]["message"]
        r = c.post("/api/w/main/scripts/create",
                   json={"path": "f/hooks/echo", "content": "def main(): pass", "language": "python3"})
        assert r.status_code == 403 and "run:f/hooks/*" in r.json()["error"]["message"]
        r = c.get("/api/w/main/variables/list")
        assert r.status_code == 403
        r = c.post("/api/users/tokens/create", json={"scope": "admin"})
        assert r.status_code == 403
    bad = daemon.cli("token", "create", "--scope", "run:")
    assert bad.returncode == 2 and "scope" in bad.stderr


def test_body_rules_headers_and_payload(daemon: RunningDaemon) -> None:
    daemon.deploy("f/hooks/echo", ECHO)
    with daemon.http() as c:
        # a JSON object gives the args
        assert c.post("/api/w/main/jobs/run_wait_result/p/f/hooks/echo",
                      json={"x": 3}).json()["x"] == 3
        # any other body is wrapped as {"body": ...}
        r = c.post("/api/w/main/jobs/run_wait_result/p/f/hooks/echo", json=[1, 2])
        assert r.json()["body"] == [1, 2]
        r = c.post("/api/w/main/jobs/run_wait_result/p/f/hooks/echo", content=b"plain text",
                   headers={"content-type": "text/plain"})
        assert r.json()["body"] == "plain text"
        # include_header copies headers into args (lower-cased, - → _)
        r = c.post("/api/w/main/jobs/run_wait_result/p/f/hooks/echo",
                   params={"include_header": "User-Agent"}, json={},
                   headers={"user-agent": "probe/1"})
        assert r.json()["ua"] == "probe/1"
        # GET with ?payload=base64(JSON)
        payload = base64.urlsafe_b64encode(json.dumps({"x": 9}).encode()).decode().rstrip("=")
        r = c.get("/api/w/main/jobs/run_wait_result/p/f/hooks/echo", params={"payload": payload})
        assert r.status_code == 200 and r.json()["x"] == 9
        # malformed JSON is a 400 that says so
        r = c.post("/api/w/main/jobs/run/p/f/hooks/echo", content=b"{nope",
                   headers={"content-type": "application/json"})
        assert r.status_code == 400 and "JSON" in r.json()["error"]["message"]


@pytest.mark.api_only  # no job runs: the app in-process
def test_body_over_limit_is_413(daemon: RunningDaemon) -> None:
    daemon.deploy("f/hooks/echo", ECHO)
    with daemon.http() as c:
        r = c.post("/api/w/main/jobs/run/p/f/hooks/echo",
                   content=b'{"body": "' + b"x" * (17 * 1024 * 1024) + b'"}',
                   headers={"content-type": "application/json"})
    assert r.status_code == 413 and "limit" in r.json()["error"]["message"]


def test_sync_response_controls(daemon: RunningDaemon) -> None:
    daemon.deploy("f/hooks/shaped", "def main():\n    return {'windmill_status_code': 201,"
                  " 'windmill_content_type': 'text/csv', 'windmill_headers': {'x-from': 'tm'},"
                  " 'result': 'a,b\\n1,2\\n'}\n")
    daemon.deploy("f/hooks/manual", "def main():\n    return {'wm_failure': 'quota exceeded'}\n")
    with daemon.http() as c:
        r = c.post("/api/w/main/jobs/run_wait_result/p/f/hooks/shaped", json={})
        assert (r.status_code, r.headers["content-type"].split(";")[0], r.headers["x-from"],
                r.text) == (201, "text/csv", "tm", "a,b\n1,2\n")
        r = c.post("/api/w/main/jobs/run_wait_result/p/f/hooks/manual", json={})
        assert r.json() == {"error": {"name": "ManualFailure", "message": "quota exceeded"}}


def test_scheduled_run_and_caller_chosen_job_id(daemon: RunningDaemon) -> None:
    daemon.deploy("f/hooks/echo", ECHO)
    job_id = "0190a000-0000-7000-8000-000000000001"
    with daemon.http() as c:
        r = c.post("/api/w/main/jobs/run/p/f/hooks/echo",
                   params={"scheduled_in_secs": 1, "job_id": job_id}, json={"x": 1})
        assert r.status_code == 201 and r.text == job_id
        assert c.get(f"/api/w/main/jobs_u/get/{job_id}").json()["type"] == "QueuedJob"
        dup = c.post("/api/w/main/jobs/run/p/f/hooks/echo", params={"job_id": job_id}, json={})
        assert dup.status_code == 400
    job = daemon.wait_job(job_id, timeout=30)
    started = job["started_at"].replace("Z", "+00:00")
    scheduled = job["scheduled_for"].replace("Z", "+00:00")
    assert started >= scheduled


def test_job_views_and_sse_stream(daemon: RunningDaemon) -> None:
    daemon.deploy("f/live/ticker", "import time, wmill\n\ndef main(n: int = 3):\n"
                  "    for i in range(n):\n        print(f'tick {i}', flush=True)\n"
                  "        time.sleep(0.3)\n    return 'done'\n")
    job_id = daemon.api("POST", "jobs/run/p/f/live/ticker", json={"n": 3}).text
    events = []
    with daemon.http() as c, c.stream("GET", f"/api/w/main/jobs_u/getupdate_sse/{job_id}") as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
                if events[-1]["completed"]:
                    break
    logs = "".join(e.get("new_logs", "") for e in events)
    assert "tick 0" in logs and "tick 2" in logs
    assert any(e["running"] for e in events)  # saw it live, not only the end
    assert events[-1]["job"]["result"] == "done" and events[-1]["job"]["success"]
    maybe = daemon.api("GET", f"jobs_u/completed/get_result_maybe/{job_id}").json()
    assert maybe == {"completed": True, "result": "done", "success": True, "started": True}
    assert daemon.api("GET", f"jobs_u/completed/get_result/{job_id}").json() == "done"
    listed = daemon.api("GET", "jobs/list", params={"script_path_exact": "f/live/ticker",
                                                    "success": "true"}).json()
    assert [j["id"] for j in listed] == [job_id]
    assert daemon.api("GET", "jobs/list", params={"running": "true"}).json() == []
    r = daemon.api("GET", "jobs_u/get/not-a-uuid")
    assert r.status_code == 400
    r = daemon.api("GET", "jobs_u/get/0190a000-0000-7000-8000-00000000ffff")
    assert r.status_code == 404


@pytest.mark.api_only  # no job runs: the app in-process
def test_openapi_document_is_served(daemon: RunningDaemon) -> None:
    doc = httpx.get(f"{daemon.url}/api/openapi.json", timeout=60).json()  # built on first ask
    for path in ("/api/w/{workspace}/jobs/run/p/{path}", "/api/w/{workspace}/variables/get_value/{path}",
                 "/api/w/{workspace}/resources/get_value_interpolated/{path}",
                 "/api/w/{workspace}/jobs_u/getupdate_sse/{job_id}"):
        assert path in doc["paths"], path
