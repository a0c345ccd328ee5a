"""Users, roles, folder grants and the audit log, through a real daemon.

One admin (the daemon's token) sets up an operator and developers with their own tokens;
each test then acts as them and checks what a person would: what runs, what is refused
(403 with a message naming the role or grant), and what the audit log says.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import yaml

from tests.e2e.daemon_harness import RunningDaemon
from tests.e2e.flow_helpers import flow, py

# Reads two secret variables with the job's own token (WM_TOKEN): one in the folder shared
# with the operator, one outside it. Returns who the job ran as, never a secret itself.
WHO_AM_I = '''import os, urllib.request, urllib.error

def read(path):
    url = os.environ["BASE_INTERNAL_URL"] + "/api/w/main/variables/get_value/" + path
    req = urllib.request.Request(url, headers={"Authorization": "Bearer " + os.environ["WM_TOKEN"]})
    try:
        with urllib.request.urlopen(req) as r:
            return "readable" if r.read() else "empty"
    except urllib.error.HTTPError as e:
        return e.code

def main(label: str = "x"):
    return {"as": os.environ["WM_PERMISSIONED_AS"], "user": os.environ["WM_USERNAME"],
            "shared": read("f/ops/key"), "private": read("f/private/key"), "label": label}
'''


class As:
    """Requests with one user's token."""

    def __init__(self, daemon: RunningDaemon, token: str) -> None:
        self.client = httpx.Client(base_url=daemon.url, timeout=120,
                                   headers={"Authorization": f"Bearer {token}"})

    def __call__(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return self.client.request(method, f"/api/w/main/{path}", **kw)

    def wait(self, job_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            job = self("GET", f"jobs_u/get/{job_id}").json()
            if job.get("type") == "CompletedJob":
                return job
            time.sleep(0.1)
        raise AssertionError(f"job {job_id} did not complete")


def _user(daemon: RunningDaemon, name: str, role: str) -> As:
    r = daemon.api("POST", "users/add", json={"username": name, "role": role})
    assert r.status_code == 201, r.text
    with daemon.http() as c:
        token = c.post("/api/users/tokens/create", json={"username": name, "label": name})
    assert token.status_code == 201, token.text
    return As(daemon, token.text)


def _forbidden(r: httpx.Response, *words: str) -> str:
    assert r.status_code == 403, (r.status_code, r.text)
    message = r.json()["error"]["message"]
    for word in words:
        assert word in message, message
    return message


def test_operator_runs_what_is_shared_and_nothing_else(daemon: RunningDaemon) -> None:
    admin = daemon.api
    op = _user(daemon, "olga", "operator")
    assert admin("POST", "folders/create", json={
        "name": "ops", "summary": "Operations", "extra_perms": {"u/olga": False}}).status_code == 201
    daemon.deploy("f/ops/whoami", WHO_AM_I, summary="Who runs me")
    daemon.deploy("f/private/other", "def main():\n    return 1\n")
    for path in ("f/ops/key", "f/private/key"):
        assert admin("POST", "variables/create", json={
            "path": path, "value": "s3cr3t-v4lue", "is_secret": True}).status_code == 201
    assert admin("POST", "flows/create", json={"path": "f/ops/flow", **flow(py(
        "a", "import os\ndef main():\n    return os.environ['WM_PERMISSIONED_AS']\n"))}
                 ).status_code == 201

    me = op("GET", "users/whoami").json()
    assert (me["username"], me["role"], me["operator"], me["is_admin"]) == \
        ("olga", "operator", True, False)
    assert me["folders"] == ["ops"] and me["groups"] == ["all"]

    # runs the shared script as herself; her job's token has her grants: it uses the secret
    # of the shared folder (she cannot read it herself, see below), not the one outside
    r = op("POST", "jobs/run_wait_result/p/f/ops/whoami", json={"label": "hi"})
    assert r.status_code == 200, r.text
    assert r.json() == {"as": "u/olga", "user": "olga", "shared": "readable", "private": 403,
                        "label": "hi"}
    op_job = r.headers["x-tidemill-job-id"]
    assert op("GET", f"jobs_u/completed/get_result/{op_job}").json()["as"] == "u/olga"
    # the same script run by the admin reads both: the job acts as its caller
    assert daemon.run_wait("f/ops/whoami")[1]["private"] == "readable"
    # a flow shared with her, run asynchronously, then its result read back
    flow_job = op("POST", "jobs/run/f/f/ops/flow", json={})
    assert flow_job.status_code == 201, flow_job.text
    done = op.wait(flow_job.text)
    assert done["success"] and done["result"] == "u/olga"
    # her form, without code
    form = op("GET", "scripts/get_form/p/f/ops/whoami").json()
    assert form["summary"] == "Who runs me" and "label" in form["schema"]["properties"]
    assert "content" not in form
    assert "schema" in op("GET", "flows/get_form/f/ops/flow").json()

    # refused, with the role that would be needed
    need = ("operator", "developer or admin")
    _forbidden(op("POST", "scripts/create", json={
        "path": "f/ops/whoami", "language": "python3", "content": "def main():\n    pass\n"}), *need)
    _forbidden(op("GET", "scripts/get/p/f/ops/whoami"), *need, "code")
    _forbidden(op("GET", "flows/get/f/ops/flow"), *need)
    _forbidden(op("GET", "variables/get_value/f/ops/key"), *need, "secret")
    _forbidden(op("GET", "variables/get/f/ops/key", params={"decrypt_secret": "true"}), *need)
    _forbidden(op("POST", "schedules/create", json={
        "path": "f/ops/nightly", "schedule": "0 0 3 * * *", "script_path": "f/ops/whoami"}),
        "developer or admin")
    _forbidden(op("POST", "variables/update/f/ops/key", json={"value": "x"}), *need)
    _forbidden(op("POST", "jobs/run/preview", json={"language": "python3",
                                                    "content": "def main():\n    pass\n"}))
    # nothing outside her grants: not run, not listed
    _forbidden(op("POST", "jobs/run/p/f/private/other", json={}), "read grant on folder private")
    assert [s["path"] for s in op("GET", "scripts/list").json()] == ["f/ops/whoami"]
    # a $var: argument is resolved with her grants too
    r = op("POST", "jobs/run_wait_result/p/f/ops/whoami", json={"label": "$var:f/private/key"})
    assert r.headers["x-tidemill-job-status"] == "failure"
    assert "read grant on folder private" in r.json()["error"]["message"]
    # she sees her own jobs only
    admin_job = admin("POST", "jobs/run/p/f/private/other", json={}).text
    _forbidden(op("GET", f"jobs_u/get/{admin_job}"), "operators see only their own runs")
    listed = {j["id"] for j in op("GET", "jobs/list", params={"per_page": 100}).json()}
    assert op_job in listed and flow_job.text in listed and admin_job not in listed


def test_developer_writes_only_where_granted(daemon: RunningDaemon) -> None:
    admin = daemon.api
    dev = _user(daemon, "dora", "developer")
    dan = _user(daemon, "dan", "developer")
    code = "def main():\n    return 'ok'\n"
    assert admin("POST", "folders/create", json={"name": "team"}).status_code == 201

    def deploy(path: str) -> httpx.Response:
        return dev("POST", "scripts/create", json={"path": path, "language": "python3",
                                                   "content": code})

    _forbidden(deploy("f/team/job"), "dora (developer)", "write grant on folder team")
    _forbidden(deploy("u/admin/mine"), "u/admin")
    assert deploy("u/dora/mine").status_code == 201  # her own space
    # a read grant: runs and reads the code, still cannot write
    assert admin("POST", "folders/update/team",
                 json={"extra_perms": {"u/dora": False}}).status_code == 200
    daemon.deploy("f/team/job", code)
    assert dev("POST", "jobs/run_wait_result/p/f/team/job", json={}).json() == "ok"
    assert dev("GET", "scripts/get/p/f/team/job").json()["content"] == code
    _forbidden(deploy("f/team/job"), "write grant on folder team")
    # a write grant
    assert admin("POST", "folders/update/team",
                 json={"extra_perms": {"u/dora": True}}).status_code == 200
    assert deploy("f/team/job").status_code == 201
    # a folder she creates is hers; another developer cannot change its grants
    assert dev("POST", "folders/create", json={"name": "doras"}).status_code == 201
    assert dev("GET", "folders/get/doras").json()["owners"] == ["u/dora"]
    _forbidden(dan("POST", "folders/update/doras", json={"extra_perms": {"u/dan": True}}),
               "only its owners")
    _forbidden(dan("GET", "audit/list"), "admin role")
    # an admin demotes her: the next request already has operator rights
    assert admin("POST", "users/update/dora", json={"role": "operator"}).status_code == 200
    _forbidden(deploy("u/dora/mine"), "operator")
    bad = admin("POST", "users/update/dora", json={"role": "boss"})
    assert bad.status_code == 400 and "admin, developer or operator" in str(bad.json())
    last = admin("POST", "users/update/admin", json={"role": "developer"})
    assert last.status_code == 400 and "last admin" in last.json()["error"]["message"]


def test_audit_log_cli_and_folder_meta_sync(daemon: RunningDaemon) -> None:
    admin = daemon.api
    # the CLI: add an operator, list, and make a token for them
    assert "added ivan (operator)" in daemon.cli("user", "add", "ivan", "--role", "operator",
                                                 check=True).stdout
    assert "ivan" in daemon.cli("user", "list", check=True).stdout
    token = daemon.cli("token", "create", "--user", "ivan", check=True).stdout.strip()
    ivan = As(daemon, token)
    assert ivan("GET", "users/whoami").json()["role"] == "operator"
    bad = daemon.cli("user", "add", "x", "--role", "boss")
    assert bad.returncode != 0 and "admin, developer or operator" in bad.stderr + bad.stdout

    assert admin("POST", "folders/create", json={
        "name": "shared", "summary": "For ivan", "owners": ["u/admin"],
        "extra_perms": {"u/ivan": False, "g/all": False}}).status_code == 201
    daemon.deploy("f/shared/hello", "def main():\n    return 'hi'\n")
    r = ivan("POST", "jobs/run_wait_result/p/f/shared/hello", json={})
    assert r.status_code == 200 and r.json() == "hi"

    log = admin("GET", "audit/list", params={"per_page": 50}).json()
    seen = {(e["username"], e["operation"], e["resource"]) for e in log}
    assert ("admin", "users.add", "ivan") in seen
    assert ("admin", "users.tokens.create", "ivan") in seen
    assert ("admin", "folders.create", "shared") in seen
    assert ("admin", "scripts.create", "f/shared/hello") in seen
    assert ("ivan", "jobs.run.script", "f/shared/hello") in seen
    run = next(e for e in log if e["operation"] == "jobs.run.script")
    assert run["action_kind"] == "Execute" and run["parameters"]["permissioned_as"] == "u/ivan"
    assert run["parameters"]["job_id"] == r.headers["x-tidemill-job-id"]
    assert all(set(e) >= {"id", "timestamp", "username", "operation", "action_kind", "resource",
                          "parameters"} for e in log)
    only_runs = admin("GET", "audit/list", params={"operation": "jobs.run"}).json()
    assert {e["username"] for e in only_runs} == {"ivan"}
    _forbidden(ivan("GET", "audit/list"), "admin role")

    # folder.meta.yaml: written on change, read back by an import
    admin("GET", "sync/status", params={"wait": "true"})
    meta = yaml.safe_load((daemon.home / "workspace/f/shared/folder.meta.yaml").read_text())
    assert meta == {"summary": "For ivan", "display_name": "shared", "owners": ["u/admin"],
                    "extra_perms": {"u/ivan": False, "g/all": False}}
    text = yaml.safe_dump({"summary": "Imported", "display_name": "Imported folder",
                           "owners": ["u/ivan"], "extra_perms": {"u/admin": True}})
    r = admin("POST", "sync/import", json={"files": {
        "f/imp/folder.meta.yaml": text, "f/imp/hi.py": "def main():\n    return 1\n"}})
    assert r.status_code == 200, r.text
    assert "folder imp" in r.json()["changed"]
    got = admin("GET", "folders/get/imp").json()
    assert (got["summary"], got["display_name"], got["owners"], got["extra_perms"]) == \
        ("Imported", "Imported folder", ["u/ivan"], {"u/admin": True})
    admin("GET", "sync/status", params={"wait": "true"})
    assert yaml.safe_load((daemon.home / "workspace/f/imp/folder.meta.yaml").read_text()) == \
        yaml.safe_load(text)
    broken = admin("POST", "sync/import", json={"files": {
        "f/bad/folder.meta.yaml": "owners: u/x\n"}})
    assert broken.status_code == 400 and "'owners' must be a list" in broken.json()["error"]["message"]


def test_operator_uses_a_shared_app_but_cannot_edit_it_or_see_its_code(
        daemon: RunningDaemon) -> None:
    from desktop_app.apps.model import AppDefinition
    from tests.e2e.test_apps_api import ADD_USER, FIXTURES, LIST_USERS

    daemon.deploy("f/apps/list_users", LIST_USERS)
    daemon.deploy("f/apps/add_user", ADD_USER)
    doc = AppDefinition.from_yaml((FIXTURES / "admin_panel.app.yaml").read_text()).document
    doc["value"]["runnables"].append({
        "id": "shout", "type": "inline", "language": "python3", "trigger": "button",
        "content": "import os\ndef main(word: str):\n"
                   "    return word.upper() + ' by ' + os.environ['WM_PERMISSIONED_AS']\n"})
    assert daemon.api("POST", "apps/create", json={**doc, "path": "f/apps/panel"}).status_code == 201
    daemon.api("POST", "apps/create", json={**doc, "path": "f/hidden/panel"})
    assert daemon.api("POST", "folders/create", json={
        "name": "apps", "extra_perms": {"u/otto": False}}).status_code == 201
    otto = _user(daemon, "otto", "operator")

    assert [a["path"] for a in otto("GET", "apps/list").json()] == ["f/apps/panel"]
    got = otto("GET", "apps/get/p/f/apps/panel").json()
    assert got["code_visible"] is False and got["value"]["runnables"][-1]["content"] is None
    r = otto("POST", "apps_u/execute_component/f/apps/panel", params={"wait": "true"},
             json={"component": "shout", "args": {"word": "hi"}})
    assert r.status_code == 200 and r.json() == "HI by u/otto"
    _forbidden(otto("POST", "apps/update/f/apps/panel", json={"summary": "mine"}),
               "operator", "developer or admin")
    _forbidden(otto("DELETE", "apps/delete/f/apps/panel"), "operator")
    _forbidden(otto("GET", "apps/get/p/f/hidden/panel"), "read grant on folder hidden")
    _forbidden(otto("POST", "apps_u/execute_component/f/hidden/panel",
                    json={"component": "shout", "args": {"word": "x"}}), "folder hidden")
    # an admin sees the code
    assert daemon.api("GET", "apps/get/p/f/apps/panel").json()["code_visible"] is True
