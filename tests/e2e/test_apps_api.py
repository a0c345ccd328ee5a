"""Apps through the API on a real daemon: CRUD, versions, running an app's runnables (also
with a run-only token), and the app's files in the Git-synced workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from desktop_app.apps.folder import load_app_folder
from desktop_app.apps.model import AppDefinition
from desktop_app.core.folder_files import collect_files
from tests.e2e.daemon_harness import RunningDaemon

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "apps"
LIST_USERS = "def main(limit: int = 10):\n    return [{'name': 'ada', 'limit': limit}]\n"
ADD_USER = "def main(name: str, email: str = ''):\n    return {'added': name, 'email': email}\n"


def _doc(name: str) -> dict[str, Any]:
    return AppDefinition.from_yaml((FIXTURES / name).read_text()).document


def _settle(d: RunningDaemon) -> None:
    r = d.api("GET", "sync/status", params={"wait": "true"})
    assert r.status_code == 200 and r.json()["errors"] == 0, d.log()


@pytest.mark.api_only
def test_app_crud_versions_and_bad_input(daemon: RunningDaemon) -> None:
    doc = _doc("admin_panel.app.yaml")
    r = daemon.api("POST", "apps/create", json={**doc, "path": "f/admin/users"})
    assert r.status_code == 201, r.text
    got = daemon.api("GET", "apps/get/p/f/admin/users").json()
    assert got["summary"] == "Users admin" and got["policy"] == {"execution_mode": "viewer"}
    # the definition comes back with its keys in the order they were sent
    assert list(got["value"]["components"][2]) == ["id", "type", "x", "y", "w", "h", "props"]
    assert got["value"] == doc["value"] and got["versions"] == [got["id"]]
    assert daemon.api("GET", "apps/exists/f/admin/users").json() is True
    assert daemon.api("GET", "apps/exists/f/admin/none").json() is False
    assert [a["path"] for a in daemon.api("GET", "apps/list").json()] == ["f/admin/users"]

    again = daemon.api("POST", "apps/create", json={**doc, "path": "f/admin/users"})
    assert again.status_code == 400 and "already exists" in again.text
    r = daemon.api("POST", "apps/update/f/admin/users", json={"summary": "Users (v2)"})
    assert r.status_code == 200, r.text
    got2 = daemon.api("GET", "apps/get/p/f/admin/users").json()
    assert got2["summary"] == "Users (v2)" and got2["value"] == doc["value"]  # kept
    assert len(got2["versions"]) == 2

    bad = dict(doc, value={"components": [{"id": "t", "type": "slider"}]})
    r = daemon.api("POST", "apps/create", json={**bad, "path": "f/admin/bad"})
    assert r.status_code == 400 and "component t: unknown type 'slider'" in r.text
    r = daemon.api("POST", "apps/create", json={"path": "f/admin/bad", "summary": "x"})
    assert r.status_code == 400 and "'value'" in r.text
    r = daemon.api("POST", "apps/create", json={**doc, "path": "nowhere"})
    assert r.status_code == 400 and "f/<folder>/<name>" in r.text
    r = daemon.api("POST", "apps/update/f/admin/users", json={"value": "nope"})
    assert r.status_code == 400 and "'value'" in r.text

    r = daemon.api("POST", "apps/update/f/admin/users", json={"path": "f/admin/people"})
    assert r.status_code == 200 and r.text == "f/admin/people"
    assert daemon.api("GET", "apps/exists/f/admin/users").json() is False
    assert daemon.api("DELETE", "apps/delete/f/admin/people").status_code == 200
    r = daemon.api("GET", "apps/get/p/f/admin/people")
    assert r.status_code == 404 and "app not found" in r.text


@pytest.mark.api_only  # no job runs: the API in-process
def test_cli_deploys_app_folders_and_says_what_is_wrong(daemon: RunningDaemon,
                                                        tmp_path: Path) -> None:
    folder = tmp_path / "users.app"
    folder.mkdir()
    (folder / "app.yaml").write_text((FIXTURES / "dashboard.app.yaml").read_text())
    res = daemon.cli("deploy", str(folder), "--path", "f/sales/board", check=True)
    assert "deployed app f/sales/board (5 components)" in res.stderr
    res = daemon.cli("deploy", str(folder), "--path", "f/sales/board", check=True)
    assert len(daemon.api("GET", "apps/get/p/f/sales/board").json()["versions"]) == 2
    (folder / "app.yaml").write_text("summary: x\nvalue:\n  components:\n"
                                     "    - {id: t, type: text, x: 11, y: 0, w: 4, h: 1}\n")
    res = daemon.cli("deploy", str(folder), "--path", "f/sales/bad")
    assert res.returncode != 0 and "component t: it must fit the 12-column grid" in res.stderr
    res = daemon.cli("gui", "--screenshot", str(tmp_path / "x.png"), "--view", "app",
                     "--path", "f/sales/missing")
    assert res.returncode != 0 and "app not found at path 'f/sales/missing'" in res.stderr
    res = daemon.cli("gui", "--screenshot", str(tmp_path / "x.png"), "--view", "app")
    assert res.returncode != 0 and "needs --path" in res.stderr
    res = daemon.cli("gui", "--screenshot", str(tmp_path / "ok.png"), "--view", "app",
                     "--path", "f/sales/board")
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "ok.png").read_bytes()[:4] == b"\x89PNG"


def test_runnables_run_as_deployed_and_a_run_only_token_cannot_edit(
        daemon: RunningDaemon) -> None:
    daemon.deploy("f/admin/list_users", LIST_USERS)
    daemon.deploy("f/admin/add_user", ADD_USER)
    doc = _doc("admin_panel.app.yaml")
    doc["value"]["runnables"][0]["inputs"] = {"limit": 3}  # static: the app's value wins
    doc["value"]["runnables"].append({
        "id": "shout", "type": "inline", "language": "python3", "trigger": "button",
        "content": "def main(word: str):\n    return word.upper()\n"})
    assert daemon.api("POST", "apps/create",
                      json={**doc, "path": "f/apps/users"}).status_code == 201

    def execute(runnable: str, args: dict[str, Any], token: str | None = None) -> Any:
        with daemon.http(token) as http:
            return http.post("/api/w/main/apps_u/execute_component/f/apps/users",
                             params={"wait": "true"},
                             json={"component": runnable, "args": args})

    r = execute("list_users", {"limit": 99})
    assert r.status_code == 200 and r.json() == [{"name": "ada", "limit": 3}]
    assert execute("add_user", {"name": "bob"}).json() == {"added": "bob", "email": ""}
    assert execute("shout", {"word": "mill"}).json() == "MILL"
    job_id = execute("shout", {"word": "x"}).headers["x-tidemill-job-id"]
    job = daemon.api("GET", f"jobs_u/get/{job_id}").json()
    assert job["created_by"] == "admin"
    r = execute("ghost", {})
    assert r.status_code == 404 and "no runnable 'ghost'" in r.text
    r = execute("add_user", {})
    assert r.status_code == 400 and "name" in r.text
    r = daemon.api("POST", "apps_u/execute_component/f/apps/users", json={"args": {}})
    assert r.status_code == 400 and "'component'" in r.text

    token = daemon.cli("token", "create", "--scope", "run:f/apps/*", check=True).stdout.strip()
    assert execute("shout", {"word": "op"}, token).json() == "OP"
    with daemon.http(token) as http:
        got = http.get("/api/w/main/apps/get/p/f/apps/users").json()
        assert got["code_visible"] is False
        assert got["value"]["runnables"][-1]["content"] is None
        r = http.post("/api/w/main/apps/update/f/apps/users", json={"summary": "mine"})
        assert r.status_code == 403
        r = http.request("DELETE", "/api/w/main/apps/delete/f/apps/users")
        assert r.status_code == 403
        # the run-only token cannot run code of its own: only the app's runnables
        r = http.post("/api/w/main/jobs/run_wait_result/preview",
                      json={"content": "def main():\n    return 1\n", "language": "python3"})
        assert r.status_code == 403
    r = execute("shout", {"word": "x"}, token="not-a-token")
    assert r.status_code == 401


@pytest.mark.api_only
def test_apps_are_synced_as_app_folders_and_import_back(daemon: RunningDaemon) -> None:
    admin = _doc("admin_panel.app.yaml")
    dashboard = _doc("dashboard.app.yaml")
    for path, doc in (("f/admin/users", admin), ("f/sales/board", dashboard)):
        assert daemon.api("POST", "apps/create", json={**doc, "path": path}).status_code == 201
    _settle(daemon)
    root = daemon.home / "workspace"
    # no inline script: the synced app.yaml is the very file the app came from
    assert (root / "f/admin/users.app/app.yaml").read_text() == \
        (FIXTURES / "admin_panel.app.yaml").read_text()
    board = root / "f/sales/board.app"
    assert sorted(p.name for p in board.iterdir()) == ["app.yaml", "sales.inline_script.py"]
    assert "'!inline sales.inline_script.py'" in (board / "app.yaml").read_text()
    assert load_app_folder(board) == dashboard

    files = collect_files(root)
    assert daemon.api("DELETE", "apps/delete/f/sales/board").status_code == 200
    _settle(daemon)
    assert not board.exists()
    r = daemon.api("POST", "sync/import", json={"files": {
        k: v for k, v in files.items() if k.startswith("f/sales/")}})
    assert r.status_code == 200, r.text
    got = daemon.api("GET", "apps/get/p/f/sales/board").json()
    assert got["value"] == dashboard["value"] and got["summary"] == "Sales dashboard"
    _settle(daemon)
    assert load_app_folder(board) == dashboard
