"""NATS triggers on a real daemon against a real nats-server (one per module): core NATS
subjects with wildcards and headers, a JetStream durable consumer, a wrong password and a
server that goes away (the status says why, the waits grow, the trigger comes back), and
the 400s of bad definitions and of bad sync files (NATS and Postgres replication triggers).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.daemon_harness import RunningDaemon, free_port
from tests.e2e.event_peers import NatsServer, wait_for
from tests.e2e.test_event_triggers import _create, _get, _wait_runs

SCRIPT = '''def main(payload: str, subject: str, headers: dict, payload_encoding: str):
    return {"payload": payload, "subject": subject, "headers": headers,
            "encoding": payload_encoding}
'''


@pytest.fixture(scope="module")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    server = NatsServer(tmp_path_factory.mktemp("nats"), user="orders", password="nats-pw-9")
    try:
        yield server
    finally:
        server.close()


def _resource(d: RunningDaemon, path: str, value: dict[str, Any]) -> None:
    r = d.api("POST", "resources/create", json={"path": path, "resource_type": "nats",
                                                "value": value})
    assert r.status_code == 201, r.text


def _status(d: RunningDaemon, path: str, want: str) -> dict[str, Any]:
    seen: list[dict[str, Any]] = []

    def check() -> dict[str, Any] | None:
        seen[:] = [_get(d, "nats", path)]
        return seen[0] if seen[0]["status"] == want else None
    try:
        return dict(wait_for(f"{path} {want}", check, timeout=60))
    except AssertionError as exc:  # say what the trigger showed instead
        raise AssertionError(f"{exc}; the trigger: {seen}") from exc


def test_nats_trigger_runs_scripts_and_reconnects(daemon: RunningDaemon, database_url: str,
                                                   nats_server: NatsServer) -> None:
    daemon.deploy("f/ev/on_nats", SCRIPT)
    _resource(daemon, "f/ev/nats", {"servers": [nats_server.url], "user": "orders",
                                     "password": "nats-pw-9"})
    # the password is a secret field: kept in the keyring, not shown
    assert "nats-pw-9" not in daemon.api("GET", "resources/get/f/ev/nats").text
    r = _create(daemon, "nats", path="f/ev/orders", script_path="f/ev/on_nats",
                nats_resource_path="$res:f/ev/nats", subjects=["orders.*.created", "audit.>"])
    assert r.status_code == 201, r.text
    got = _status(daemon, "f/ev/orders", "connected")
    assert got["subjects"] == ["orders.*.created", "audit.>"] and got["use_jetstream"] is False

    nats_server.publish("orders.eu.created", b'{"id": 1}', headers={"X-Shop": "north"})
    nats_server.publish("orders.eu.shipped", b"not subscribed")
    nats_server.publish("audit.login.ok", b"\xff\xfe")  # not UTF-8: base64
    runs = _wait_runs(database_url, "f/ev/orders", 2)
    results = sorted((r["result"] for r in runs), key=lambda x: x["subject"])
    assert [r["kind"] for r in runs] == ["nats", "nats"]
    assert results[0] == {"payload": "//4=", "subject": "audit.login.ok", "headers": {},
                          "encoding": "base64"}
    assert results[1] == {"payload": '{"id": 1}', "subject": "orders.eu.created",
                          "headers": {"X-Shop": "north"}, "encoding": "utf-8"}
    listed = [t for t in daemon.api("GET", "triggers/list").json() if t["kind"] == "nats"]
    assert listed[0]["detail"] == "orders.*.created, audit.> on f/ev/nats"

    # JetStream: a durable consumer on a stream; each message is acknowledged once queued
    nats_server.add_stream("SHIPMENTS", ["ship.>"])
    r = _create(daemon, "nats", path="f/ev/ship", script_path="f/ev/on_nats",
                nats_resource_path="f/ev/nats", subjects=["ship.>"], use_jetstream=True,
                stream_name="SHIPMENTS", consumer_name="tidemill_ship")
    assert r.status_code == 201, r.text
    _status(daemon, "f/ev/ship", "connected")
    nats_server.js_publish("ship.parcel", b"p-1")
    [run] = _wait_runs(database_url, "f/ev/ship", 1)
    assert run["result"]["payload"] == "p-1" and run["result"]["subject"] == "ship.parcel"

    # the server goes away: the status says so and the waits between attempts grow
    nats_server.stop()
    first = wait_for("the lost connection", lambda: (lambda g: g if g["last_error"] and
                                                     g["status"] != "connected" else None)(
        _get(daemon, "nats", "f/ev/orders")))
    assert "reconnecting in" in first["last_error"], first

    def delay() -> float | None:
        found = re.search(r"reconnecting in ([0-9.]+) s",
                          _get(daemon, "nats", "f/ev/orders")["last_error"] or "")
        return float(found.group(1)) if found and float(found.group(1)) >= 1.5 else None
    assert wait_for("a longer wait (back-off)", delay, timeout=60) >= 1.5
    # the server is back: the trigger connects again and runs the next message
    nats_server.start()
    _status(daemon, "f/ev/orders", "connected")
    nats_server.publish("orders.us.created", b"again")
    runs = _wait_runs(database_url, "f/ev/orders", 3, timeout=60)
    assert "again" in [r["result"]["payload"] for r in runs]

    # a wrong password: the server's refusal is the trigger's error, retried with back-off
    _resource(daemon, "f/ev/nats_wrong", {"servers": [nats_server.url], "user": "orders",
                                          "password": "wrong"})
    assert _create(daemon, "nats", path="f/ev/intruder", script_path="f/ev/on_nats",
                   nats_resource_path="f/ev/nats_wrong", subjects=[">"]).status_code == 201
    refused = wait_for("the refusal", lambda: (lambda g: g if g["last_error"] else None)(
        _get(daemon, "nats", "f/ev/intruder")), timeout=60)
    assert "authorization" in refused["last_error"].lower(), refused
    assert "reconnecting in" in refused["last_error"]
    # an unreachable server: the same
    _resource(daemon, "f/ev/nats_dead", {"servers": [f"nats://127.0.0.1:{free_port()}"]})
    assert _create(daemon, "nats", path="f/ev/dead", script_path="f/ev/on_nats",
                   nats_resource_path="f/ev/nats_dead", subjects=["x"]).status_code == 201
    dead = wait_for("the unreachable server", lambda: (lambda g: g if g["last_error"] else
                                                       None)(_get(daemon, "nats", "f/ev/dead")),
                    timeout=60)
    assert "reconnecting in" in dead["last_error"] and dead["status"] in ("error",
                                                                          "connecting"), dead
    # disabled: no listener, and the status says so
    assert daemon.api("POST", "nats_triggers/setenabled/f/ev/dead",
                      json={"enabled": False}).status_code == 200
    assert _get(daemon, "nats", "f/ev/dead")["status"] == "disabled"
    assert "Traceback" not in daemon.log()


BAD = [
    ({"subjects": ["orders..created"]}, "'subjects[0]' 'orders..created' has an empty token"),
    ({"subjects": ["a.>.b"]}, "'>' only as the whole last token"),
    ({"subjects": ["a b"]}, "must not contain spaces"),
    ({"subjects": []}, "'subjects' must be a non-empty list"),
    ({"subjects": ["a"], "nats_resource_path": None}, "'nats_resource_path' is required"),
    ({"subjects": ["a"], "nats_resource_path": "f/ev/none"},
     "'nats_resource_path': no resource at 'f/ev/none'"),
    ({"subjects": ["a"], "nats_resource_path": "f/ev/pg"},
     "the resource 'f/ev/pg' is a postgresql, not a nats"),
    ({"subjects": ["a"], "use_jetstream": True}, "'stream_name' is required"),
    ({"subjects": ["a"], "use_jetstream": "yes"}, "'use_jetstream' must be true or false"),
    ({"subjects": ["a"], "use_jetstream": True, "stream_name": "A.B"},
     "'stream_name' must be a JetStream name"),
]


@pytest.mark.api_only
def test_bad_nats_definitions_are_400s_naming_the_field(daemon: RunningDaemon) -> None:
    daemon.deploy("f/ev/echo", "def main(**kw):\n    return kw\n")
    _resource(daemon, "f/ev/nats", {"servers": ["nats://127.0.0.1:4222"]})
    assert daemon.api("POST", "resources/create", json={
        "path": "f/ev/pg", "resource_type": "postgresql",
        "value": {"host": "127.0.0.1", "user": "u", "dbname": "d"}}).status_code == 201
    for body, says in BAD:
        full = {"path": "f/ev/bad", "script_path": "f/ev/echo",
                "nats_resource_path": "f/ev/nats", **body}
        r = _create(daemon, "nats", **full)
        assert r.status_code == 400, (body, r.text)
        assert says in r.json()["error"]["message"], (body, r.text)
        assert daemon.api("GET", "nats_triggers/exists/f/ev/bad").json() is False

    # Windmill's sync files of a NATS trigger and of a Postgres replication trigger import,
    # and a bad one is a 400 naming the item and the field, changing nothing
    files = {"f/ev/echo.py": "def main(**kw):\n    return kw\n",
             "f/ev/orders.nats_trigger.yaml": (
                 "script_path: f/ev/echo\nis_flow: false\nmode: disabled\n"
                 "nats_resource_path: f/ev/nats\nuse_jetstream: false\n"
                 "subjects:\n  - orders.>\n"),
             "f/ev/changes.postgres_trigger.yaml": (
                 "script_path: f/ev/echo\nis_flow: false\nmode: disabled\n"
                 "postgres_resource_path: f/ev/pg\nreplication_slot_name: wm_slot\n"
                 "publication_name: wm_pub\npublication:\n  transaction_to_track: [Insert]\n"
                 "  table_to_track:\n    - schema_name: public\n      table_to_track:\n"
                 "        - table_name: orders\n          columns_name: [id, total]\n")}
    r = daemon.api("POST", "sync/import", json={"files": files})
    assert r.status_code == 200, r.text
    assert daemon.api("GET", "nats_triggers/get/f/ev/orders").json()["subjects"] == ["orders.>"]
    pg = daemon.api("GET", "postgres_triggers/get/f/ev/changes").json()
    assert pg["publication"]["table_to_track"][0]["table_to_track"][0]["columns_name"] == \
        ["id", "total"]
    bad = {**files, "f/ev/orders.nats_trigger.yaml": files["f/ev/orders.nats_trigger.yaml"]
           .replace("orders.>", "orders.>.x")}
    r = daemon.api("POST", "sync/import", json={"files": bad})
    assert r.status_code == 400 and "nats trigger f/ev/orders: 'subjects[0]'" in r.text, r.text
    assert daemon.api("GET", "nats_triggers/get/f/ev/orders").json()["subjects"] == ["orders.>"]
