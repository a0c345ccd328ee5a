"""Variables and resources through the API: CRUD, secrets, interpolation, errors."""

from __future__ import annotations

import pytest

from tests.e2e.daemon_harness import RunningDaemon


@pytest.mark.api_only
def test_variable_crud_and_secret_toggle(daemon: RunningDaemon) -> None:
    api = daemon.api
    assert api("POST", "variables/create", json={"path": "f/cfg/region", "value": "eu-west-1",
                                                 "is_secret": False}).status_code == 201
    dup = api("POST", "variables/create", json={"path": "f/cfg/region", "value": "x"})
    assert dup.status_code == 400 and "already exists" in dup.json()["error"]["message"]
    assert api("GET", "variables/get_value/f/cfg/region").json() == "eu-west-1"
    assert api("GET", "variables/get_value/var://f/cfg/region").json() == "eu-west-1"
    assert api("GET", "variables/exists/f/cfg/region").json() is True
    # make it secret: the value moves to the keyring, the listing no longer shows it
    assert api("POST", "variables/update/f/cfg/region", json={"is_secret": True}).status_code == 200
    got = api("GET", "variables/get/f/cfg/region").json()
    assert got["is_secret"] is True and got["value"] is None
    assert api("GET", "variables/get/f/cfg/region",
               params={"decrypt_secret": "true"}).json()["value"] == "eu-west-1"
    # new value and rename
    r = api("POST", "variables/update/f/cfg/region", json={"value": "us-east-2", "path": "f/cfg/zone"})
    assert r.status_code == 200, r.text
    assert api("GET", "variables/get_value/f/cfg/zone").json() == "us-east-2"
    assert api("GET", "variables/get_value/f/cfg/region").status_code == 404
    api("POST", "variables/create", json={"path": "f/cfg/other", "value": "1"})
    clash = api("POST", "variables/update/f/cfg/other", json={"path": "f/cfg/zone"})
    assert clash.status_code == 400 and "f/cfg/zone" in clash.json()["error"]["message"]
    listed = {v["path"]: v for v in api("GET", "variables/list").json()}
    assert listed["f/cfg/zone"]["value"] is None and listed["f/cfg/zone"]["is_secret"]
    assert api("DELETE", "variables/delete/f/cfg/zone").status_code == 200
    assert api("GET", "variables/exists/f/cfg/zone").json() is False
    missing = api("GET", "variables/get_value/f/cfg/zone")
    assert missing.status_code == 404 and "f/cfg/zone" in missing.json()["error"]["message"]
    assert api("POST", "variables/create", json={"path": "f/cfg/x"}).status_code == 400


@pytest.mark.api_only
def test_resources_interpolate_nested_references(daemon: RunningDaemon) -> None:
    api = daemon.api
    api("POST", "variables/create", json={"path": "u/admin/pw", "value": "hunter22", "is_secret": True})
    api("POST", "variables/create", json={"path": "f/cfg/host", "value": "db.lan"})
    r = api("POST", "resources/create", json={
        "path": "f/cfg/db", "resource_type": "postgresql",
        "value": {"host": "$var:f/cfg/host", "user": "app", "dbname": "app", "port": 5432,
                  "password": "$var:u/admin/pw"}})
    assert r.status_code == 201, r.text
    api("POST", "resources/create", json={"path": "f/cfg/app", "resource_type": "any",
                                          "value": {"db": "$res:f/cfg/db", "tags": ["$var:f/cfg/host"]}})
    raw = api("GET", "resources/get_value/f/cfg/app").json()
    assert raw == {"db": "$res:f/cfg/db", "tags": ["$var:f/cfg/host"]}
    full = api("GET", "resources/get_value_interpolated/$res:f/cfg/app").json()
    assert full == {"db": {"host": "db.lan", "user": "app", "dbname": "app", "port": 5432,
                           "password": "hunter22"}, "tags": ["db.lan"]}
    assert [x["path"] for x in api("GET", "resources/list",
                                   params={"resource_type": "postgresql"}).json()] == ["f/cfg/db"]
    # a dangling reference says which one
    api("POST", "resources/create", json={"path": "f/cfg/bad", "resource_type": "any",
                                          "value": {"x": "$var:f/cfg/nope"}})
    r = api("GET", "resources/get_value_interpolated/f/cfg/bad")
    assert r.status_code == 404 and "f/cfg/nope" in r.json()["error"]["message"]
    # a cycle is refused, not an endless loop
    api("POST", "resources/create", json={"path": "f/cfg/loop", "resource_type": "any",
                                          "value": {"again": "$res:f/cfg/loop"}})
    r = api("GET", "resources/get_value_interpolated/f/cfg/loop")
    assert r.status_code == 400 and "cycle" in r.json()["error"]["message"]


@pytest.mark.api_only
def test_secret_resource_fields_update_and_delete(daemon: RunningDaemon) -> None:
    api = daemon.api
    api("POST", "resources/create", json={"path": "f/cfg/slack", "resource_type": "slack",
                                          "value": {"token": "xoxb-first-token"}})
    assert api("GET", "resources/get/f/cfg/slack").json()["value"] == {"token": "$secret"}
    api("POST", "resources/update_value/f/cfg/slack", json={"value": {"token": "xoxb-second"}})
    assert api("GET", "resources/get_value/f/cfg/slack").json() == {"token": "xoxb-second"}
    assert api("DELETE", "resources/delete/f/cfg/slack").status_code == 200
    assert api("GET", "resources/get/f/cfg/slack").status_code == 404
    assert api("GET", "resources/exists/f/cfg/slack").json() is False


@pytest.mark.api_only
def test_resource_types_shipped_and_custom(daemon: RunningDaemon) -> None:
    api = daemon.api
    names = {t["name"] for t in api("GET", "resources/type/list").json()}
    assert {"postgresql", "mysql", "smtp", "slack", "http_bearer", "s3", "state"} <= names
    pg = api("GET", "resources/type/get/postgresql").json()
    assert pg["schema"]["properties"]["password"]["password"] is True
    r = api("POST", "resources/type/create", json={"name": "acme", "schema": {
        "type": "object", "properties": {"api_key": {"type": "string", "password": True}}}})
    assert r.status_code == 201
    assert api("POST", "resources/type/create", json={"name": "acme"}).status_code == 400
    assert api("GET", "resources/type/exists/acme").json() is True
    assert api("GET", "resources/type/get/nope").status_code == 404
    api("POST", "resources/create", json={"path": "f/cfg/acme", "resource_type": "acme",
                                          "value": {"api_key": "k-123456"}})
    assert api("GET", "resources/get/f/cfg/acme").json()["value"] == {"api_key": "$secret"}


def test_reference_arguments_are_resolved_at_job_start_and_masked(daemon: RunningDaemon) -> None:
    api = daemon.api
    api("POST", "variables/create", json={"path": "u/admin/dbpw", "value": "pw-s3cr3t-42",
                                          "is_secret": True})
    api("POST", "resources/create", json={
        "path": "f/cfg/pg", "resource_type": "postgresql",
        "value": {"host": "db.lan", "user": "u", "dbname": "d", "password": "$var:u/admin/dbpw"}})
    daemon.deploy("f/cfg/use", "class postgresql(dict):\n    pass\n\n"
                               "def main(db: postgresql, token: str):\n"
                               "    print('connecting with', db['password'], token)\n"
                               "    return [db['host'], len(token)]\n")
    status, result = daemon.run_wait("f/cfg/use", {"db": "$res:f/cfg/pg", "token": "$var:u/admin/dbpw"})
    assert (status, result) == ("success", ["db.lan", 12])
    job = api("GET", "jobs/list", params={"script_path_exact": "f/cfg/use"}).json()[0]
    assert job["args"] == {"db": "$res:f/cfg/pg", "token": "$var:u/admin/dbpw"}
    logs = api("GET", f"jobs_u/get_logs/{job['id']}").text
    assert "connecting with ***** *****" in logs and "pw-s3cr3t-42" not in logs
    status, result = daemon.run_wait("f/cfg/use", {"db": "$res:f/cfg/missing", "token": "x"})
    assert status == "failure" and "f/cfg/missing" in result["error"]["message"]
