"""Issue 15, validation at create: a definition Git sync could not record (a path no file
can have) or that could never run (a flow that calls itself) is refused with a 400 naming
the field, and nothing is stored. API served in-process on the test's database (no worker)."""

from __future__ import annotations

from typing import Any

import pytest
from psycopg import Connection

SCRIPT = {"path": "f/ok/hello", "language": "bash", "content": "echo hi\n"}
LONG = "f/ok/" + "n" * 300

BAD_PATHS = [
    (LONG, "component of 300 bytes"),
    ("f/ok/.git/x", "'.git' component"),
    ("f/.GIT/x", "'.git' component"),
    ("f/ok/con", "Windows reserves"),
    ("f/ok/a:b", "character ':'"),
    ("f/ok/trailing.", "ends with a dot"),
    ("x/ok/y", "must be f/<folder>/<name>"),
]


def _count(url: str, table: str) -> int:
    with Connection.connect(url) as conn:
        cur = conn.execute(f"SELECT count(*) FROM {table}")
        row = cur.fetchone()
        return int(row[0]) if row else 0


def _field(r: Any) -> str | None:
    return r.json()["error"].get("field")


@pytest.fixture
def api(api_server: Any) -> Any:
    r = api_server.api("POST", "scripts/create", json=SCRIPT)
    assert r.status_code == 201, r.text
    r = api_server.api("POST", "flows/create", json={
        "path": "f/ok/leaf", "value": {"modules": []}})
    assert r.status_code == 201, r.text
    return api_server


@pytest.mark.parametrize(("path", "why"), BAD_PATHS)
def test_bad_paths_are_refused_for_every_kind(api: Any, database_url: str,
                                                    path: str, why: str) -> None:
    bodies: list[tuple[str, dict[str, Any], str]] = [
        ("scripts/create", {**SCRIPT, "path": path}, "script"),
        ("flows/create", {"path": path, "value": {"modules": []}}, "flow"),
        ("variables/create", {"path": path, "value": "v", "is_secret": False,
                              "description": ""}, "variable"),
        ("resources/create", {"path": path, "value": {}, "resource_type": "c_any"},
         "resource"),
        ("apps/create", {"path": path, "value": {"grid": []}, "summary": "",
                         "policy": {"execution_mode": "viewer"}}, "app"),
        ("schedules/create", {"path": path, "schedule": "0 0 * * * *",
                              "script_path": SCRIPT["path"]}, "schedule"),
        ("http_triggers/create", {"path": path, "route_path": "hook",
                                  "script_path": SCRIPT["path"]}, "http_trigger"),
        ("websocket_triggers/create", {"path": path, "url": "ws://127.0.0.1:1/x",
                                       "script_path": SCRIPT["path"]}, "websocket_trigger"),
    ]
    tables = {"script": "scripts", "flow": "flows", "variable": "variables",
              "resource": "resources", "app": "apps", "schedule": "schedules",
              "http_trigger": "http_triggers", "websocket_trigger": "event_triggers"}
    for route, body, kind in bodies:
        before = _count(database_url, tables[kind])
        r = api.api("POST", route, json=body)
        assert r.status_code == 400, f"{route} {path!r}: {r.status_code} {r.text}"
        assert _field(r) == "path", f"{route}: {r.text}"
        assert why in r.json()["error"]["message"], f"{route}: {r.text}"
        assert _count(database_url, tables[kind]) == before, f"{route} stored something"


def test_a_rename_to_a_bad_path_is_refused(api: Any) -> None:
    r = api.api("POST", "flows/update/f/ok/leaf", json={
        "path": "f/ok/.git", "value": {"modules": []}})
    assert r.status_code == 400 and _field(r) == "path", r.text
    assert (api.api("GET", "flows/get/f/ok/leaf")).status_code == 200


def test_a_resource_type_name_that_cannot_be_a_file_is_refused(
        api: Any) -> None:
    for name in ("a/b", ".git", "x" * 300):
        r = api.api("POST", "resources/type/create", json={"name": name, "schema": {}})
        assert r.status_code == 400 and _field(r) == "name", r.text
        assert (api.api("GET", f"resources/type/exists/{name}")).json() is False \
            if "/" not in name else True


def _calls(path: str, step: str = "a") -> dict[str, Any]:
    return {"modules": [{"id": step, "value": {"type": "flow", "path": path,
                                               "input_transforms": {}}}]}


def test_a_flow_calling_itself_is_refused(api: Any,
                                               database_url: str) -> None:
    before = _count(database_url, "flows")
    r = api.api("POST", "flows/create", json={"path": "f/ok/self",
                                                  "value": _calls("f/ok/self")})
    assert r.status_code == 400, r.text
    assert _field(r) == "value"
    assert "step 'a' runs the flow f/ok/self itself" in r.json()["error"]["message"]
    assert _count(database_url, "flows") == before


def test_a_flow_calling_itself_inside_a_loop_is_refused(api: Any) -> None:
    value = {"modules": [{"id": "loop", "value": {
        "type": "forloopflow", "iterator": {"type": "javascript", "expr": "[1]"},
        "modules": [{"id": "inner", "value": {"type": "flow", "path": "f/ok/deep",
                                              "input_transforms": {}}}]}}]}
    r = api.api("POST", "flows/create", json={"path": "f/ok/deep", "value": value})
    assert r.status_code == 400 and _field(r) == "value", r.text
    assert "'inner'" in r.json()["error"]["message"]


def test_a_cycle_through_other_flows_is_refused(api: Any) -> None:
    # b → c exists; c is then changed to call a; a → b would close a → b → c → a.
    assert (api.api("POST", "flows/create", json={
        "path": "f/ok/c", "value": {"modules": []}})).status_code == 201
    assert (api.api("POST", "flows/create", json={
        "path": "f/ok/b", "value": _calls("f/ok/c")})).status_code == 201
    assert (api.api("POST", "flows/update/f/ok/c", json={
        "value": _calls("f/ok/a")})).status_code == 200  # a does not exist yet: fine
    r = api.api("POST", "flows/create", json={"path": "f/ok/a",
                                                  "value": _calls("f/ok/b", "first")})
    assert r.status_code == 400 and _field(r) == "value", r.text
    message = r.json()["error"]["message"]
    assert "f/ok/b → f/ok/c" in message, message
    assert (api.api("GET", "flows/exists/f/ok/a")).json() is False


def test_a_flow_calling_another_flow_is_accepted(api: Any) -> None:
    r = api.api("POST", "flows/create", json={"path": "f/ok/caller",
                                                  "value": _calls("f/ok/leaf")})
    assert r.status_code == 201, r.text


@pytest.mark.parametrize(("body", "field"), [
    ({"route_path": "a//b"}, "route_path"),
    ({"route_path": "hook", "script_path": None}, "script_path"),
    ({"route_path": "hook", "script_path": "f/ok/missing"}, "script_path"),
    ({"route_path": "hook", "http_method": "brew"}, "http_method"),
    ({"route_path": "hook", "is_flow": "yes"}, "is_flow"),
    ({"route_path": "hook", "authentication_method": "api_key"},
     "authentication_resource_path"),
])
def test_a_bad_http_trigger_body_names_its_field(api: Any,
                                                       database_url: str,
                                                       body: dict[str, Any],
                                                       field: str) -> None:
    full = {"path": "f/ok/hook", "script_path": SCRIPT["path"], **body}
    r = api.api("POST", "http_triggers/create", json=full)
    assert r.status_code == 400, r.text
    assert _field(r) == field, r.text
    assert _count(database_url, "http_triggers") == 0


@pytest.mark.parametrize(("body", "field"), [
    ({"url": "ws://127.0.0.1:1/x", "mode": "sometimes"}, "mode"),
    ({"url": "ws://127.0.0.1:1/x", "retry": 3}, "retry"),
    ({"url": "ws://127.0.0.1:1/x", "script_path": "f/ok/missing"}, "script_path"),
    ({"url": 7}, "url"),
])
def test_a_bad_event_trigger_body_names_its_field(api: Any,
                                                        body: dict[str, Any],
                                                        field: str) -> None:
    full = {"path": "f/ok/ws", "script_path": SCRIPT["path"], **body}
    r = api.api("POST", "websocket_triggers/create", json=full)
    assert r.status_code == 400, r.text
    assert _field(r) == field, r.text
