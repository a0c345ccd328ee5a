"""Regressions for the 500s schemathesis found: each malformed request gets a 4xx that
says what is wrong, and the daemon keeps serving."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.daemon_harness import RunningDaemon

W = "/api/w/main"
HELLO = {"path": "f/robust/hello", "language": "python3", "content": "def main(): pass"}

# (method, url, request kwargs, status, text the error message must contain)
MALFORMED: list[tuple[str, str, dict[str, Any], int, str]] = [
    # a body that is missing, not JSON, or not an object, where one is read
    ("POST", "/api/users/tokens/create", {}, 400, "JSON object body"),
    ("POST", "/api/users/tokens/create", {"json": [1]}, 400, "JSON object"),
    ("POST", W + "/scripts/create", {}, 400, "JSON object body"),
    ("POST", W + "/scripts/create", {"content": b"{nope"}, 400, "not valid JSON"),
    ("POST", W + "/jobs/run/preview", {}, 400, "JSON object body"),
    ("POST", W + "/jobs/run_wait_result/preview", {"json": "code"}, 400, "JSON object"),
    ("POST", W + "/variables/create", {"content": b"nope"}, 400, "not valid JSON"),
    ("POST", W + "/variables/update/f/robust/plain", {}, 400, "JSON object body"),
    ("POST", W + "/resources/create", {"json": []}, 400, "JSON object"),
    ("POST", W + "/resources/update/f/robust/db", {}, 400, "JSON object body"),
    ("POST", W + "/resources/update_value/f/robust/db", {"json": "x"}, 400, "JSON object"),
    ("POST", W + "/resources/type/create", {}, 400, "JSON object body"),
    ("POST", W + "/job_metrics/set_progress/00000000-0000-0000-0000-000000000000", {}, 400,
     "JSON object body"),
    ("POST", W + "/flows/create", {}, 400, "JSON object body"),
    ("POST", W + "/jobs/wac/inline_checkpoint/00000000-0000-0000-0000-000000000000", {}, 400,
     "JSON object body"),
    ("POST", W + "/jobs/wac/inline_checkpoint/00000000-0000-0000-0000-000000000000",
     {"json": {"key": "k", "duration_ms": "slow"}}, 400, "'duration_ms'"),
    ("POST", W + "/flows/update/f/robust/flow", {"json": [1]}, 400, "JSON object"),
    # an approval link whose signature holds non-ASCII text (compare_digest raised)
    ("GET", W + "/jobs_u/resume/00000000-0000-0000-0000-000000000000/0/%C3%A9", {}, 403,
     "invalid signature"),
    ("POST", W + "/jobs_u/cancel/00000000-0000-0000-0000-000000000000/0/%C3%A9", {}, 403,
     "invalid signature"),
    # fields of the wrong type (were 500s from PostgreSQL or AttributeError)
    ("POST", "/api/users/tokens/create", {"json": {"expiration": 5}}, 400, "'expiration'"),
    ("POST", "/api/users/tokens/create", {"json": {"expiration": "soon"}}, 400, "invalid value"),
    ("POST", W + "/scripts/create", {"json": {**HELLO, "timeout": "x"}}, 400, "'timeout'"),
    ("POST", W + "/scripts/create", {"json": {**HELLO, "summary": 5}}, 400, "'summary'"),
    ("POST", W + "/scripts/create", {"json": {**HELLO, "schema": [1]}}, 400, "'schema'"),
    ("POST", W + "/jobs/run/preview",
     {"json": {"content": "def main(): pass", "language": "python3", "tag": 5}}, 400, "'tag'"),
    ("POST", W + "/jobs/run/preview",
     {"json": {"content": "def main(): pass", "language": "python3", "args": [1]}}, 400, "'args'"),
    ("POST", W + "/variables/update/f/robust/plain", {"json": {"path": 5}}, 400, "'path'"),
    ("POST", W + "/resources/create",
     {"json": {"path": "f/robust/r", "value": {}, "resource_type": "postgresql",
               "description": 7}}, 400, "'description'"),
    ("POST", W + "/resources/type/create", {"json": {"name": "t", "schema": "s"}}, 400, "'schema'"),
    # NUL characters, which PostgreSQL text cannot hold
    ("GET", W + "/resources/list?path_start=%00", {}, 400, "NUL"),
    ("GET", W + "/variables/get/f/robust/x%00", {}, 400, "NUL"),
    ("POST", W + "/scripts/create", {"json": {**HELLO, "path": "f/robust/x\u0000"}}, 400, "NUL"),
    ("POST", W + "/jobs/run/p/f/robust/echo", {"json": {"name": "a\u0000b"}}, 400, "invalid value"),
    # JSON nested deeper than the parser's recursion limit
    ("POST", W + "/jobs/run/p/f/robust/echo",
     {"content": b"[" * 100_000, "headers": {"content-type": "application/json"}}, 400, "JSON"),
    ("POST", W + "/variables/create", {"content": b"[" * 100_000}, 400, "JSON"),
]


@pytest.mark.api_only
def test_malformed_requests_get_a_400_not_a_500(daemon: RunningDaemon) -> None:
    daemon.deploy("f/robust/echo", "def main(name: str = ''):\n    return name\n")
    assert daemon.api("POST", "variables/create",
                      json={"path": "f/robust/plain", "value": "v"}).status_code == 201
    assert daemon.api("POST", "resources/create", json={
        "path": "f/robust/db", "resource_type": "postgresql", "value": {"host": "h"}}
    ).status_code == 201
    wrong = []
    for method, url, kw, status, text in MALFORMED:
        # one client per request: a 500 closes the connection
        with daemon.http() as c:
            r = c.request(method, url, **kw)
        if r.status_code != status or text not in r.text:
            wrong.append(f"{method} {url} {str(kw)[:60]} → {r.status_code} {r.text[:200]}")
    assert not wrong, "\n".join(wrong)
    assert "Exception in ASGI application" not in daemon.log()


def test_list_filters_and_odd_types_that_were_500s(daemon: RunningDaemon) -> None:
    daemon.deploy("f/robust/echo", "def main():\n    return 1\n")
    later = daemon.api("POST", "jobs/run/p/f/robust/echo", params={"scheduled_in_secs": 3600},
                       json={}).text
    with daemon.http() as c:
        # running jobs with a final status: none (was a SQL syntax error)
        for q in ("running=true&success=true", "running=true&status=success"):
            r = c.get(f"{W}/jobs/list?{q}")
            assert r.status_code == 200 and r.json() == [], r.text
        # a page past bigint's range is simply empty
        r = c.get(f"{W}/jobs/list?page=99999999999999999999999")
        assert r.status_code == 200 and r.json() == [], r.text
        # a cancel reason that is not a string is kept as its JSON text
        r = c.post(f"{W}/jobs_u/queue/cancel/{later}", json={"reason": {"why": "test"}})
        assert r.status_code == 200, r.text
        assert c.get(f"{W}/jobs_u/get/{later}").json()["canceled_reason"] == '{"why": "test"}'
        # a resource type whose schema's properties is not an object has no secret fields
        assert c.post(f"{W}/resources/type/create",
                      json={"name": "odd", "schema": {"properties": [1]}}).status_code == 201
        r = c.post(f"{W}/resources/create",
                   json={"path": "f/robust/odd", "resource_type": "odd", "value": {"a": "b"}})
        assert r.status_code == 201, r.text
        assert c.get(f"{W}/resources/get_value/f/robust/odd").json() == {"a": "b"}
    assert "Exception in ASGI application" not in daemon.log()


def test_openapi_declares_bodies_and_slashed_paths(daemon: RunningDaemon) -> None:
    with daemon.http() as c:
        ops = c.get("/api/openapi.json").json()["paths"]
    body = ops["/api/w/{workspace}/scripts/create"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"]["required"] == \
        ["path", "content", "language"]
    assert "requestBody" in ops["/api/w/{workspace}/jobs/run/p/{path}"]["post"]
    params = {p["name"]: p for p in ops["/api/w/{workspace}/scripts/get/p/{path}"]["get"]["parameters"]}
    assert params["path"]["schema"]["examples"] == ["f/examples/hello"]
    params = {p["name"]: p for p in ops["/api/w/{workspace}/jobs_u/get/{job_id}"]["get"]["parameters"]}
    assert params["job_id"]["schema"]["format"] == "uuid"
