"""Attacks on the API of a real daemon, each a hole that was open (issue 16).

A caller without rights supplies `$var:`/`$res:` arguments, a run-only token reads what it
must not, a page under another name reaches the daemon (DNS rebinding), approval links are
built from a forged Host. Every test asserts what an attacker would look for: the secret's
text is absent from every answer.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.e2e.daemon_harness import RunningDaemon
from tests.e2e.flow_helpers import flow, js, py, static
from tests.security.conftest import PUBLIC_URL

SECRET_VAR = "sk-var-7d1e40c9aa"
SECRET_PW = "pw-res-93ab5f17ee"
HELLO = "def main(name):\n    return 'hi ' + str(name)\n"


class World:
    """What the admin set up, and the attackers' credentials."""

    def __init__(self, daemon: RunningDaemon) -> None:
        self.d = daemon
        admin = daemon.api
        for path in ("f/x/hello", "f/y/hello"):
            daemon.deploy(path, HELLO, summary="Say hi")
        assert admin("POST", "variables/create", json={
            "path": "f/sec/key", "value": SECRET_VAR, "is_secret": True}).status_code == 201
        assert admin("POST", "resources/type/create", json={"name": "secdb", "schema": {
            "type": "object", "properties": {"host": {"type": "string"},
                                             "password": {"type": "string", "password": True}}}}
                     ).status_code == 201
        assert admin("POST", "resources/create", json={
            "path": "f/sec/db", "resource_type": "secdb",
            "value": {"host": "db.local", "password": SECRET_PW}}).status_code == 201
        r = admin("POST", "http_triggers/create", json={
            "path": "f/x/hello_route", "route_path": "hello", "http_method": "post",
            "script_path": "f/x/hello", "is_flow": False, "request_type": "sync",
            "authentication_method": "none"})
        assert r.status_code == 201, r.text
        r = admin("POST", "http_triggers/create", json={
            "path": "f/x/token_route", "route_path": "hello_tok", "http_method": "post",
            "script_path": "f/x/hello", "is_flow": False, "request_type": "sync",
            "authentication_method": "token"})
        assert r.status_code == 201, r.text
        r = admin("POST", "http_triggers/create", json={
            "path": "f/x/form_route", "route_path": "form", "http_method": "post",
            "script_path": "f/x/hello", "is_flow": False, "request_type": "sync",
            "authentication_method": "none", "allow_form_posts": True})
        assert r.status_code == 201, r.text
        greet = py("a", "def main(name, key):\n    return {'name': name, 'key_len': len(key)}\n",
                   name=js("flow_input.name"), key=static("$var:f/sec/key"))
        assert admin("POST", "flows/create", json={"path": "f/x/greet", **flow(greet)}
                     ).status_code == 201
        r = admin("POST", "http_triggers/create", json={
            "path": "f/x/greet_route", "route_path": "greet", "http_method": "post",
            "script_path": "f/x/greet", "is_flow": True, "request_type": "sync",
            "authentication_method": "none"})
        assert r.status_code == 201, r.text
        ask = py("ask", "def main():\n    return 'asked'\n")
        ask["suspend"] = {"required_events": 1, "timeout": 600}
        assert admin("POST", "flows/create", json={"path": "f/y/approve", **flow(ask)}
                     ).status_code == 201
        with daemon.http() as c:
            r = c.post("/api/users/tokens/create", json={"label": "hook", "scope": "run:f/x/*"})
        assert r.status_code == 201, r.text
        self.run_token = r.text
        # an admin's own run, the kind a run-only token must not read
        status, _ = daemon.run_wait("f/y/hello", {"name": "admin-private-run"})
        assert status == "success"
        self.admin_job = self._last_job("f/y/hello")

    def _last_job(self, path: str) -> str:
        jobs = self.d.api("GET", "jobs/list", params={"script_path_exact": path}).json()
        return str(jobs[0]["id"])

    def as_run_token(self, method: str, path: str, **kw: Any) -> httpx.Response:
        with self.d.http(self.run_token) as c:
            return c.request(method, f"/api/w/main/{path}", **kw)

    def route(self, route: str, **kw: Any) -> httpx.Response:
        with httpx.Client(base_url=self.d.url, timeout=120) as c:
            return c.post(f"/api/r/{route}", **kw)


@pytest.fixture(scope="module")
def world(running_daemon: RunningDaemon) -> World:
    return World(running_daemon)


def _no_secret(r: httpx.Response) -> None:
    text = r.text + "".join(r.headers.values())
    assert SECRET_VAR not in text and SECRET_PW not in text, (r.status_code, r.text)


@pytest.mark.parametrize("ref", ["$var:f/sec/key", "$res:f/sec/db"])
def test_unauthenticated_route_passes_references_as_plain_strings(world: World, ref: str) -> None:
    r = world.route("hello", json={"name": ref})
    _no_secret(r)
    assert r.status_code == 200 and r.json() == f"hi {ref}", r.text


def test_flow_input_from_an_unauthenticated_route_stays_text_in_its_steps(world: World) -> None:
    """The flow author's own static `$var:` still resolves (its length comes back); what
    the caller sent reaches the step as the text it was."""
    r = world.route("greet", json={"name": "$var:f/sec/key"})
    _no_secret(r)
    assert r.status_code == 200, r.text
    assert r.json() == {"name": "$var:f/sec/key", "key_len": len(SECRET_VAR)}


@pytest.mark.parametrize("ref", ["$var:f/sec/key", "$res:f/sec/db"])
def test_browser_form_post_to_an_unauthenticated_route(world: World, ref: str) -> None:
    # Any web page the user opens can send these without a CORS preflight.
    for kw in ({"data": {"name": ref}},
               {"content": f"name={ref}", "headers": {"content-type": "text/plain"}},
               {"files": {"name": (None, ref)}}):
        r = world.route("hello", **kw)
        _no_secret(r)
        assert r.status_code == 403, r.text
        assert "allow_form_posts" in r.json()["error"]["message"]
    # a route that opted in accepts the form, and still does not resolve the reference
    r = world.route("form", data={"name": ref})
    _no_secret(r)
    assert r.status_code == 200 and r.json() == f"hi {ref}", r.text


@pytest.mark.parametrize("ref", ["$var:f/sec/key", "$res:f/sec/db"])
def test_run_only_token_passes_references_as_plain_strings(world: World, ref: str) -> None:
    r = world.as_run_token("POST", "jobs/run_wait_result/p/f/x/hello", json={"name": ref})
    _no_secret(r)
    assert r.status_code == 200 and r.json() == f"hi {ref}", r.text
    # the job it started is its own to read, and shows no secret either
    job = r.headers["x-tidemill-job-id"]
    for path in (f"jobs_u/get/{job}", f"jobs_u/get_logs/{job}",
                 f"jobs_u/completed/get_result/{job}"):
        mine = world.as_run_token("GET", path)
        _no_secret(mine)
        assert mine.status_code == 200, (path, mine.text)


def test_signed_in_caller_still_resolves_references(world: World) -> None:
    """No regression: the admin's own `$var:` argument is resolved with the admin's rights."""
    status, result = world.d.run_wait("f/x/hello", {"name": "$var:f/sec/key"})
    assert status == "success" and result == f"hi {SECRET_VAR}"


def test_a_route_authenticated_by_a_token_resolves_only_for_a_person(world: World) -> None:
    admin = world.route("hello_tok", json={"name": "$var:f/sec/key"},
                        headers={"Authorization": f"Bearer {world.d.token}"})
    assert admin.status_code == 200 and admin.json() == f"hi {SECRET_VAR}", admin.text
    hook = world.route("hello_tok", json={"name": "$var:f/sec/key"},
                       headers={"Authorization": f"Bearer {world.run_token}"})
    _no_secret(hook)
    assert hook.status_code == 200 and hook.json() == "hi $var:f/sec/key", hook.text


def test_a_cross_site_cookie_is_no_credential(world: World) -> None:
    """A page on another site cannot ride on a `token` cookie (wmill's CLI sends one)."""
    with httpx.Client(base_url=world.d.url, timeout=60) as c:
        c.cookies.set("token", world.d.token)
        r = c.post("/api/w/main/jobs/run_wait_result/p/f/x/hello", json={"name": "x"},
                   headers={"sec-fetch-site": "cross-site"})
        assert r.status_code == 401, r.text
        assert c.get("/api/w/main/variables/get_value/f/sec/key",
                     headers={"sec-fetch-site": "cross-site"}).status_code == 401


def _refused_for_scope(r: httpx.Response) -> None:
    _no_secret(r)
    assert r.status_code == 403, r.text
    assert "run:f/x/*" in r.json()["error"]["message"], r.text


def test_run_only_token_reads_nothing_but_its_own_jobs(world: World) -> None:
    job = world.admin_job
    for method, path in (("GET", "users/list"), ("GET", "jobs/list"),
                         ("GET", f"jobs_u/get/{job}"), ("GET", f"jobs_u/get_logs/{job}"),
                         ("GET", f"jobs_u/completed/get_result/{job}"),
                         ("GET", f"jobs_u/completed/get_result_maybe/{job}"),
                         ("GET", "scripts/get_form/p/f/y/hello"),
                         ("GET", "scripts/get_form/p/f/x/hello"),
                         ("GET", "resources/get/f/sec/db"), ("GET", "variables/list"),
                         ("GET", "users/whoami"), ("GET", "flows/get_form/f/y/approve")):
        _refused_for_scope(world.as_run_token(method, path))
    # nor may it run outside its globs
    _refused_for_scope(world.as_run_token("POST", "jobs/run_wait_result/p/f/y/hello",
                                          json={"name": "x"}))


def _suspended_step(d: RunningDaemon, flow_job: str) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = d.api("GET", f"jobs_u/get/{flow_job}").json()
        module = job["flow_status"]["modules"][0]
        if module["type"] == "WaitingForEvents":
            return str(module["job"])
        time.sleep(0.1)
    raise AssertionError(f"the flow never suspended: {job['flow_status']}")


def test_run_only_token_cannot_get_or_use_approval_links(world: World) -> None:
    d = world.d
    flow_job = d.api("POST", "jobs/run/f/f/y/approve", json={}).text
    step = _suspended_step(d, flow_job)
    for job in (step, flow_job):
        r = world.as_run_token("GET", f"jobs/resume_urls/{job}/0")
        _refused_for_scope(r)
        assert "resume" not in r.text.lower().replace("resume_urls", "")
    # without the signature the resume endpoint refuses it, token or not
    with d.http(world.run_token) as c:
        r = c.post(f"/api/w/main/jobs_u/resume/{step}/0/{'0' * 64}", json={})
    assert r.status_code == 403, r.text
    assert d.api("GET", f"jobs_u/get/{flow_job}").json()["flow_status"]["modules"][0][
        "type"] == "WaitingForEvents"
    # the admin may, and the link is built from the configured public URL
    urls = d.api("GET", f"jobs/resume_urls/{step}/0").json()
    assert all(u.startswith(PUBLIC_URL + "/") for u in urls.values()), urls
    d.api("POST", f"jobs_u/queue/cancel/{flow_job}", json={})


def test_foreign_host_is_refused_and_links_ignore_host(world: World) -> None:
    d = world.d
    with httpx.Client(base_url=d.url, timeout=60,
                      headers={"Authorization": f"Bearer {d.token}"}) as c:
        r = c.get("/api/w/main/users/whoami", headers={"host": "evil.example"})
        assert r.status_code == 421, r.text
        message = r.json()["error"]["message"]
        assert "evil.example" in message and "--allowed-host" in message, message
        r = c.post("/api/r/hello", json={"name": "$var:f/sec/key"},
                   headers={"host": f"evil.example:{d.port}"})
        assert r.status_code == 421 and SECRET_VAR not in r.text
        for host in (f"127.0.0.1:{d.port}", f"localhost:{d.port}", "tidemill.example.test:8443"):
            assert c.get("/api/w/main/users/whoami", headers={"host": host}).status_code == 200
        flow_job = c.post("/api/w/main/jobs/run/f/f/y/approve", json={}).text
        step = _suspended_step(d, flow_job)
        urls = c.get(f"/api/w/main/jobs/resume_urls/{step}/0",
                     headers={"host": f"localhost:{d.port}"}).json()
        assert all(u.startswith(PUBLIC_URL + "/") for u in urls.values()), urls
        c.post(f"/api/w/main/jobs_u/queue/cancel/{flow_job}", json={})
