"""HTTP route triggers on a real daemon: /api/r/<route> with `:params`, per-trigger
authentication (HMAC signature, API key, basic), a preprocessor reshaping the request,
async mode, disabled triggers, and the definitions API's 400s.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx
import psycopg
import pytest

from tests.e2e.daemon_harness import RunningDaemon
from tests.e2e.flow_helpers import flow, js, py

ECHO = "def main(**kwargs):\n    return kwargs\n"
PRE = '''def preprocessor(event):
    return {"id": event["params"]["id"], "method": event["method"],
            "who": event["body"].get("who"), "q": event["query"].get("q"),
            "kind": event["kind"], "agent": event["headers"].get("x-agent")}


def main(id: str, method: str, who: str = "", q: str = "", kind: str = "", agent: str = ""):
    return {"id": id, "method": method, "who": who, "q": q, "kind": kind, "agent": agent}
'''
SECRET = "whsec-42"


def _jobs(url: str, trigger: str) -> int:
    with psycopg.connect(url, autocommit=True) as c:
        row = c.execute("SELECT (SELECT count(*) FROM job_queue WHERE trigger_path = %s)"
                        " + (SELECT count(*) FROM job_completed WHERE trigger_path = %s)",
                        (trigger, trigger)).fetchone()
    assert row is not None
    return int(row[0])


def _create(d: RunningDaemon, **body: Any) -> httpx.Response:
    return d.api("POST", "http_triggers/create", json=body)


def _route(d: RunningDaemon, method: str, route: str, **kw: Any) -> httpx.Response:
    with httpx.Client(base_url=d.url, timeout=60) as c:
        return c.request(method, f"/api/r/{route}", **kw)


def _resource(d: RunningDaemon, path: str, rtype: str, value: dict[str, Any],
              secret_fields: tuple[str, ...]) -> None:
    schema = {"type": "object", "properties": {
        k: {"type": "string", **({"password": True} if k in secret_fields else {})}
        for k in value}}
    r = d.api("POST", "resources/type/create", json={"name": rtype, "schema": schema})
    assert r.status_code == 201, r.text
    r = d.api("POST", "resources/create",
              json={"path": path, "resource_type": rtype, "value": value})
    assert r.status_code == 201, r.text


def test_signed_route_with_param_and_preprocessor(daemon: RunningDaemon,
                                                  database_url: str) -> None:
    daemon.deploy("f/http/pre", PRE)
    _resource(daemon, "f/http/hook_secret", "hmac_secret", {"secret": SECRET}, ("secret",))
    r = _create(daemon, path="f/http/signed", route_path="orders/:id/paid", http_method="post",
                script_path="f/http/pre", is_flow=False, request_type="sync",
                authentication_method="signature",
                authentication_resource_path="f/http/hook_secret")
    assert r.status_code == 201, r.text
    got = daemon.api("GET", "http_triggers/get/f/http/signed").json()
    assert got["route_path"] == "orders/:id/paid" and got["mode"] == "enabled"

    body = json.dumps({"who": "ada"}).encode()
    sig = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    r = _route(daemon, "POST", "orders/A-17/paid?q=x", content=body,
               headers={"content-type": "application/json", "x-signature": sig,
                        "x-agent": "curl"})
    assert r.status_code == 200, r.text
    assert r.json() == {"id": "A-17", "method": "POST", "who": "ada", "q": "x",
                        "kind": "http", "agent": "curl"}
    assert _jobs(database_url, "f/http/signed") == 1
    with psycopg.connect(database_url, autocommit=True) as c:
        row = c.execute("SELECT trigger_kind, trigger_path FROM job_completed WHERE id = %s",
                        (r.headers["x-tidemill-job-id"],)).fetchone()
    assert row == ("http", "f/http/signed")

    for bad in ("sha256=" + "0" * 64, "", "garbage"):
        headers = {"content-type": "application/json", **({"x-signature": bad} if bad else {})}
        r = _route(daemon, "POST", "orders/A-18/paid", content=body, headers=headers)
        assert r.status_code == 401, r.text
    # a valid signature of another body is refused too
    r = _route(daemon, "POST", "orders/A-18/paid", content=b'{"who": "eve"}',
               headers={"content-type": "application/json", "x-signature": sig})
    assert r.status_code == 401, r.text
    assert _jobs(database_url, "f/http/signed") == 1

    # another method or a route that does not match: 404
    assert _route(daemon, "GET", "orders/A-17/paid").status_code == 404
    assert _route(daemon, "POST", "orders/A-17").status_code == 404


def test_api_key_basic_async_and_disabled(daemon: RunningDaemon, database_url: str) -> None:
    daemon.deploy("f/http/echo", ECHO)
    _resource(daemon, "f/http/key", "hook_key", {"api_key": "k-123", "header": "x-api-key"},
              ("api_key",))
    _resource(daemon, "f/http/basic", "hook_basic", {"username": "bob", "password": "pw"},
              ("password",))
    assert _create(daemon, path="f/http/bykey", route_path="key/:name", http_method="put",
                   script_path="f/http/echo", authentication_method="api_key",
                   authentication_resource_path="f/http/key").status_code == 201
    r = _route(daemon, "PUT", "key/x", json={"a": 1}, headers={"x-api-key": "k-123"})
    assert r.status_code == 200 and r.json() == {"a": 1}, r.text
    r = _route(daemon, "PUT", "key/x", json={"a": 1}, headers={"x-api-key": "nope"})
    assert r.status_code == 401
    assert _jobs(database_url, "f/http/bykey") == 1

    assert _create(daemon, path="f/http/bybasic", route_path="basic", http_method="post",
                   script_path="f/http/echo", authentication_method="basic_http",
                   authentication_resource_path="f/http/basic", wrap_body=True,
                   raw_string=True).status_code == 201
    r = _route(daemon, "POST", "basic", json=[1, 2], auth=("bob", "pw"))
    assert r.status_code == 200, r.text
    assert r.json() == {"body": [1, 2], "raw_string": "[1,2]"}
    assert _route(daemon, "POST", "basic", json=[1], auth=("bob", "bad")).status_code == 401
    assert _route(daemon, "POST", "basic", json=[1]).status_code == 401
    assert _jobs(database_url, "f/http/bybasic") == 1

    assert _create(daemon, path="f/http/later", route_path="later/:id", http_method="post",
                   script_path="f/http/echo", request_type="async").status_code == 201
    r = _route(daemon, "POST", "later/9", json={"n": 5})
    assert r.status_code == 200, r.text
    done = daemon.wait_job(r.text)
    assert done["success"] and done["result"] == {"n": 5}, done

    r = daemon.api("POST", "http_triggers/setmode/f/http/later", json={"mode": "disabled"})
    assert r.status_code == 200, r.text
    r = _route(daemon, "POST", "later/9", json={"n": 6})
    assert r.status_code == 503 and "disabled" in r.json()["error"]["message"], r.text
    assert _jobs(database_url, "f/http/later") == 1
    listed = daemon.api("GET", "http_triggers/list").json()
    assert {t["path"] for t in listed} == {"f/http/bykey", "f/http/bybasic", "f/http/later"}
    assert daemon.api("DELETE", "http_triggers/delete/f/http/later").status_code == 200
    assert daemon.api("GET", "http_triggers/exists/f/http/later").json() is False
    assert _route(daemon, "POST", "later/9", json={}).status_code == 404


@pytest.mark.api_only
def test_definition_errors_name_the_field(daemon: RunningDaemon) -> None:
    daemon.deploy("f/http/echo", ECHO)
    base = {"path": "f/http/t", "route_path": "a/:id", "http_method": "post",
            "script_path": "f/http/echo"}
    for patch, field in (({"route_path": "a//b"}, "route_path"),
                         ({"route_path": "a/:x/:x"}, "route_path"),
                         ({"script_path": "f/http/missing"}, "script_path"),
                         ({"http_method": "trace"}, "http_method"),
                         ({"authentication_method": "signature"}, "authentication_resource_path")):
        r = _create(daemon, **{**base, **patch})
        assert r.status_code == 400 and field in r.json()["error"]["message"], (patch, r.text)
    assert _create(daemon, **base).status_code == 201
    r = _create(daemon, **{**base, "path": "f/http/t2", "route_path": "a/:other"})
    assert r.status_code == 400 and "route_path" in r.json()["error"]["message"], r.text
    assert _create(daemon, **{**base, "path": "f/http/t3", "http_method": "get"}).status_code == 201
    r = daemon.api("POST", "http_triggers/update/f/http/t", json={"route_path": "b/:id"})
    assert r.status_code == 200, r.text
    assert daemon.api("GET", "http_triggers/get/f/http/t").json()["route_path"] == "b/:id"


def test_flow_route(daemon: RunningDaemon, database_url: str) -> None:
    r = daemon.api("POST", "flows/create", json={"path": "f/http/flow", **flow(
        py("a", "def main(n):\n    return n * 2\n", n=js("flow_input.n")))})
    assert r.status_code == 201, r.text
    assert _create(daemon, path="f/http/flowtrig", route_path="double", http_method="post",
                   script_path="f/http/flow", is_flow=True).status_code == 201
    r = _route(daemon, "POST", "double", json={"n": 21})
    assert r.status_code == 200 and r.json() == 42, r.text
    assert _jobs(database_url, "f/http/flowtrig") == 1


def test_token_route(daemon: RunningDaemon, database_url: str) -> None:
    daemon.deploy("f/http/echo", ECHO)
    assert _create(daemon, path="f/http/bytoken", route_path="tok", http_method="post",
                   script_path="f/http/echo", authentication_method="token").status_code == 201
    assert _route(daemon, "POST", "tok", json={"a": 1}).status_code == 401
    r = _route(daemon, "POST", "tok", json={"a": 1},
               headers={"authorization": "Bearer not-a-token"})
    assert r.status_code == 401
    assert _jobs(database_url, "f/http/bytoken") == 0
    r = _route(daemon, "POST", "tok", json={"a": 1},
               headers={"authorization": f"Bearer {daemon.token}"})
    assert r.status_code == 200 and r.json() == {"a": 1}, r.text
