"""Event triggers on real daemons against real local peers: a WebSocket server (filters,
initial messages, the peer dropping and the trigger reconnecting), mail sent with smtplib to
the daemon's SMTP listener (attachment included), NOTIFY from psycopg on a postgresql
resource (and the LISTEN connection killed), MQTT through a real mosquitto with a failure
handler; enable/disable, last_error for unreachable peers, one owner across two daemons,
and the 400s of bad definitions.
"""

from __future__ import annotations

import json
import smtplib
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.e2e.daemon_harness import RunningDaemon, free_port
from tests.e2e.event_peers import Mosquitto, WebSocketPeer, wait_for
from tests.e2e.flow_helpers import flow, js, py
from tests.support.pg import postgresql_resource

ECHO_JSON = "import json\n\ndef main(msg: str, url: str = ''):\n    return json.loads(msg)\n"
ECHO = "def main(**kwargs):\n    return kwargs\n"


def _create(d: RunningDaemon, kind: str, **body: Any) -> httpx.Response:
    return d.api("POST", f"{kind}_triggers/create", json=body)


def _get(d: RunningDaemon, kind: str, path: str) -> dict[str, Any]:
    r = d.api("GET", f"{kind}_triggers/get/{path}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def _runs(url: str, trigger_path: str) -> list[dict[str, Any]]:
    """Finished runs a trigger started, oldest first."""
    with psycopg.connect(url, autocommit=True) as c:
        rows = c.execute("SELECT status, result, trigger_kind FROM job_completed"
                         " WHERE trigger_path = %s AND parent_job IS NULL ORDER BY created_at",
                         (trigger_path,)).fetchall()
    return [{"status": s, "result": r, "kind": k} for s, r, k in rows]


def _wait_runs(url: str, trigger_path: str, n: int, timeout: float = 30) -> list[dict[str, Any]]:
    return list(wait_for(f"{n} runs of {trigger_path}",
                         lambda: (lambda r: r if len(r) >= n else None)(_runs(url, trigger_path)),
                         timeout=timeout))


def test_websocket_trigger_filters_reconnects_and_disables(daemon: RunningDaemon,
                                                           database_url: str) -> None:
    peer = WebSocketPeer()
    try:
        daemon.deploy("f/ev/ws", ECHO_JSON)
        r = _create(daemon, "websocket", path="f/ev/ws_orders", script_path="f/ev/ws",
                    is_flow=False, url=peer.url, filters=[{"key": "type", "value": "order"}],
                    initial_messages=[{"raw_message": "subscribe orders"}],
                    can_return_message=True)
        assert r.status_code == 201, r.text
        wait_for("the trigger to connect and subscribe",
                 lambda: peer.received.count("subscribe orders") == 1 and peer.clients)
        for msg in ({"type": "order", "n": 1}, {"type": "noise", "n": 99},
                    {"type": "order", "n": 2}):
            peer.send(json.dumps(msg))
        runs = _wait_runs(database_url, "f/ev/ws_orders", 2)
        assert [r["result"]["n"] for r in runs] == [1, 2]  # the filter kept n=99 out

        # A definition broken behind the API's back (no url) fails alone, and says why.
        with psycopg.connect(database_url, autocommit=True) as c:
            c.execute("INSERT INTO event_triggers (kind, path, script_path, config, edited_by,"
                      " permissioned_as) VALUES ('websocket', 'f/ev/broken', 'f/ev/ws', '{}',"
                      " 'admin', 'u/admin'); NOTIFY tidemill_triggers")
        broken = wait_for("the broken trigger's error", lambda: (lambda g: g if g["last_error"]
                          else None)(_get(daemon, "websocket", "f/ev/broken")))
        assert "KeyError" in broken["last_error"] and "'url'" in broken["last_error"]
        assert daemon.api("DELETE", "websocket_triggers/delete/f/ev/broken").status_code == 200
        assert {r["kind"] for r in runs} == {"websocket"}
        # can_return_message: each run's result came back on the WebSocket
        replies = wait_for("the results sent back", lambda: (lambda got: got if len(got) == 2
                           else None)([json.loads(m) for m in peer.received if m[0] == "{"]))
        assert sorted(m["n"] for m in replies) == [1, 2]
        got = _get(daemon, "websocket", "f/ev/ws_orders")
        assert got["status"] == "connected" and got["enabled"] and got["server_id"]
        assert got["events_total"] == 2 and got["last_server_ping"] and got["error"] is None

        # The peer dies without a goodbye: the trigger reconnects, subscribes again and
        # keeps delivering.
        peer.drop_all()
        wait_for("a reconnect", lambda: peer.connects == 2 and peer.clients
                 and peer.received.count("subscribe orders") == 2)
        peer.send(json.dumps({"type": "order", "n": 3}))
        assert [r["result"]["n"] for r in _wait_runs(database_url, "f/ev/ws_orders", 3)] == \
            [1, 2, 3]

        # Disabled: the daemon lets go of the connection; nothing more runs.
        r = daemon.api("POST", "websocket_triggers/setenabled/f/ev/ws_orders",
                       json={"enabled": False})
        assert r.status_code == 200, r.text
        wait_for("the connection to close", lambda: not peer.clients)
        assert _get(daemon, "websocket", "f/ev/ws_orders")["status"] == "disabled"
        r = daemon.api("POST", "websocket_triggers/setmode/f/ev/ws_orders",
                       json={"mode": "enabled"})
        assert r.status_code == 200, r.text
        wait_for("a new connection once enabled", lambda: peer.connects == 3 and peer.clients)
        assert len(_runs(database_url, "f/ev/ws_orders")) == 3

        # An edit restarts the listener with the new definition, no daemon restart.
        r = daemon.api("POST", "websocket_triggers/update/f/ev/ws_orders",
                       json={"filters": [{"key": "type", "value": "refund"}]})
        assert r.status_code == 200, r.text
        wait_for("the edited trigger to reconnect", lambda: peer.connects == 4 and peer.clients)
        peer.send(json.dumps({"type": "order", "n": 4}))
        peer.send(json.dumps({"type": "refund", "n": 5}))
        assert [r["result"]["n"] for r in _wait_runs(database_url, "f/ev/ws_orders", 4)] == \
            [1, 2, 3, 5]
        # Deleted: the connection goes.
        assert daemon.api("DELETE", "websocket_triggers/delete/f/ev/ws_orders").status_code == 200
        wait_for("the connection to close after delete", lambda: not peer.clients)

        # Windmill's computed URL ($script: + url_runnable_args) and a first message that
        # is a script's result
        daemon.deploy("f/ev/ws_url", "def main(port: int):\n"
                                     "    return f'ws://127.0.0.1:{port}/computed'\n")
        daemon.deploy("f/ev/greet", "def main(who: str):\n    return f'hello {who}'\n")
        r = _create(daemon, "websocket", path="f/ev/ws_computed", script_path="f/ev/ws",
                    url="$script:f/ev/ws_url", url_runnable_args={"port": peer.port},
                    initial_messages=[{"runnable_result": {"path": "f/ev/greet",
                                                           "args": {"who": "ada"},
                                                           "is_flow": False}}])
        assert r.status_code == 201, r.text
        wait_for("the computed connection and its greeting",
                 lambda: "hello ada" in peer.received and peer.clients)
    finally:
        peer.stop()


@pytest.fixture
def mail_daemon(database_url: str, tmp_path: Path, shared_cache: Path) -> Iterator[RunningDaemon]:
    home = tmp_path / "home"
    home.mkdir()
    for sub in ("cache", "envs"):
        (shared_cache / sub).mkdir(parents=True, exist_ok=True)
        (home / sub).symlink_to(shared_cache / sub)
    d = RunningDaemon(home=home, port=free_port(), database_url=database_url,
                      extra_env={"TIDEMILL_SMTP_PORT": str(free_port())})
    d.start()
    try:
        yield d
    finally:
        d.stop()


MAIL_SCRIPT = '''import base64

def main(sender: str, subject: str, text_body: str, attachments: list, recipients: list):
    a = attachments[0]
    return {"sender": sender, "subject": subject, "text": text_body.strip(),
            "to": recipients, "file": a["filename"], "type": a["content_type"],
            "content": base64.b64decode(a["content_base64"]).decode()}
'''


PRE_MAIL = '''def preprocessor(event):
    return {"kind": event["kind"], "trigger": event["trigger_path"],
            "title": event["subject"], "files": [a["filename"] for a in event["attachments"]]}


def main(kind: str, trigger: str, title: str, files: list):
    return {"kind": kind, "trigger": trigger, "title": title, "files": files}
'''


def test_email_trigger_runs_with_sender_subject_body_and_attachment(
        mail_daemon: RunningDaemon, database_url: str) -> None:
    d = mail_daemon
    smtp_port = int(d.extra_env["TIDEMILL_SMTP_PORT"])
    d.deploy("f/ev/mail", MAIL_SCRIPT)
    r = _create(d, "email", path="f/ev/inbox", script_path="f/ev/mail", local_part="orders")
    assert r.status_code == 201, r.text
    wait_for("the SMTP listener", lambda: _get(d, "email", "f/ev/inbox")["status"] == "listening")

    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "ada@example.com", "orders@tidemill.local", "PO 17"
    msg.set_content("Please ship 3 crates.\n")
    msg.add_attachment(b"sku,qty\nA1,3\n", maintype="text", subtype="csv",
                       filename="order.csv")
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as s:
        s.send_message(msg)
        # nobody receives mail for this address: refused before the mail is sent
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            s.sendmail("ada@example.com", ["nobody@tidemill.local"], "Subject: x\n\nx")
    code, text = refused.value.recipients["nobody@tidemill.local"]
    assert code == 550 and b"no Tidemill email trigger receives mail" in text

    [run] = _wait_runs(database_url, "f/ev/inbox", 1)
    assert run["status"] == "success", run
    assert run["result"] == {"sender": "ada@example.com", "subject": "PO 17",
                             "text": "Please ship 3 crates.", "to": ["orders@tidemill.local"],
                             "file": "order.csv", "type": "text/csv",
                             "content": "sku,qty\nA1,3\n"}
    # the trigger's path is an address too
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as s:
        s.send_message(msg, to_addrs=["f/ev/inbox@localhost"])
    assert len(_wait_runs(database_url, "f/ev/inbox", 2)) == 2

    # a script with preprocessor(event) gets the event and shapes main's arguments
    d.deploy("f/ev/pre_mail", PRE_MAIL)
    assert _create(d, "email", path="f/ev/pre_inbox", script_path="f/ev/pre_mail",
                   local_part="pre").status_code == 201
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as s:
        s.send_message(msg, to_addrs=["pre@tidemill.local"])
    [run] = _wait_runs(database_url, "f/ev/pre_inbox", 1)
    assert run["result"] == {"kind": "email", "trigger": "f/ev/pre_inbox", "title": "PO 17",
                             "files": ["order.csv"]}, run
    # disabled: the address is refused
    assert d.api("POST", "email_triggers/setenabled/f/ev/inbox",
                 json={"enabled": False}).status_code == 200
    time.sleep(0.3)
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as s, \
            pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        s.send_message(msg)
    assert b"f/ev/inbox" in refused.value.recipients["orders@tidemill.local"][1]
    assert b"is disabled" in refused.value.recipients["orders@tidemill.local"][1]


def test_postgres_trigger_listens_and_survives_a_killed_connection(
        daemon: RunningDaemon, database_url: str) -> None:
    value = postgresql_resource(database_url)
    r = daemon.api("POST", "resources/create", json={"path": "f/ev/db",
                                                     "resource_type": "postgresql",
                                                     "value": value})
    assert r.status_code == 201, r.text
    daemon.deploy("f/ev/pg", ECHO)
    r = _create(daemon, "postgres", path="f/ev/pg_orders", script_path="f/ev/pg",
                postgres_resource_path="f/ev/db", channel="orders_changed")
    assert r.status_code == 201, r.text

    def listener_pid() -> int | None:
        with psycopg.connect(database_url, autocommit=True) as c:
            row = c.execute("SELECT pid FROM pg_stat_activity WHERE application_name ="
                            " 'tidemill trigger f/ev/pg_orders'").fetchone()
        return row[0] if row else None

    first = wait_for("the LISTEN connection", listener_pid)
    wait_for("connected", lambda: _get(daemon, "postgres", "f/ev/pg_orders")["status"]
             == "connected")
    with psycopg.connect(database_url, autocommit=True) as c:
        c.execute("NOTIFY orders_changed, '{\"id\": 7}'")
    [run] = _wait_runs(database_url, "f/ev/pg_orders", 1)
    assert run["status"] == "success"
    assert run["result"]["channel"] == "orders_changed"
    assert json.loads(run["result"]["payload"]) == {"id": 7}

    # The database drops the listener's connection: it reconnects and listens again.
    with psycopg.connect(database_url, autocommit=True) as c:
        c.execute("SELECT pg_terminate_backend(%s)", (first,))
    wait_for("a new LISTEN connection", lambda: (lambda p: p and p != first)(listener_pid()))
    wait_for("connected again", lambda: _get(daemon, "postgres", "f/ev/pg_orders")["status"]
             == "connected")
    with psycopg.connect(database_url, autocommit=True) as c:
        c.execute("NOTIFY orders_changed, 'second'")
    assert _wait_runs(database_url, "f/ev/pg_orders", 2)[1]["result"]["payload"] == "second"
    # what happened stays readable, with its time, while the trigger is healthy again
    got = _get(daemon, "postgres", "f/ev/pg_orders")
    assert "reconnecting in" in got["last_error"] and got["status"] == "connected"

    # a flow as the target: its input is the notification
    r = daemon.api("POST", "flows/create", json={"path": "f/ev/pg_flow", **flow(
        py("a", "def main(p):\n    return p.upper()\n", p=js("flow_input.payload")))})
    assert r.status_code == 201, r.text
    assert _create(daemon, "postgres", path="f/ev/pg_to_flow", script_path="f/ev/pg_flow",
                   is_flow=True, postgres_resource_path="f/ev/db",
                   channel="flow_please").status_code == 201
    wait_for("the flow trigger", lambda: _get(daemon, "postgres", "f/ev/pg_to_flow")["status"]
             == "connected")
    with psycopg.connect(database_url, autocommit=True) as c:
        c.execute("NOTIFY flow_please, 'shout'")
    [run] = _wait_runs(database_url, "f/ev/pg_to_flow", 1)
    assert run == {"status": "success", "result": "SHOUT", "kind": "postgres"}


MQTT_SCRIPT = '''def main(payload: str, topic: str):
    if payload == "boom":
        raise ValueError("sensor exploded")
    return {"topic": topic, "t": float(payload)}
'''
FAILS = "def main(**kwargs):\n    raise RuntimeError('no stock for ' + str(kwargs.get('sku')))\n"
ON_FAIL = '''def main(error: dict, trigger_path: str, job_id: str, path: str, team: str):
    return {"msg": error["message"], "trigger": trigger_path, "path": path, "team": team}
'''


def test_mqtt_trigger_and_failure_handlers(daemon: RunningDaemon, database_url: str,
                                           tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path, users={"sensor": "mqtt-pw-123"})  # a password is required
    try:
        daemon.deploy("f/ev/temp", MQTT_SCRIPT)
        daemon.deploy("f/ev/on_fail", ON_FAIL)
        # the resource names its host through a secret variable (read from the keyring)
        r = daemon.api("POST", "variables/create", json={
            "path": "f/ev/broker_host", "value": "127.0.0.1", "is_secret": True})
        assert r.status_code == 201, r.text
        r = daemon.api("POST", "resources/create", json={
            "path": "f/ev/broker", "resource_type": "mqtt",
            "value": {"broker": "$var:f/ev/broker_host", "port": broker.port,
                      "username": "sensor", "password": "mqtt-pw-123"}})
        assert r.status_code == 201, r.text
        assert "mqtt-pw-123" not in daemon.api("GET", "resources/get/f/ev/broker").text
        r = _create(daemon, "mqtt", path="f/ev/temps", script_path="f/ev/temp",
                    mqtt_resource_path="$res:f/ev/broker",
                    subscribe_topics=[{"topic": "sensors/+/temp", "qos": "qos1"}],
                    error_handler_path="script/f/ev/on_fail",
                    error_handler_args={"team": "ops"})
        assert r.status_code == 201, r.text
        wait_for("the subscription", lambda: _get(daemon, "mqtt", "f/ev/temps")["status"]
                 == "connected")
        # a wrong password: the broker's refusal is the trigger's last error
        assert _create(daemon, "mqtt", path="f/ev/intruder", script_path="f/ev/temp",
                       broker_url=f"mqtt://sensor:wrong@127.0.0.1:{broker.port}",
                       subscribe_topics=["#"]).status_code == 201
        refused = wait_for("the refusal", lambda: (lambda g: g if g["last_error"] else None)(
            _get(daemon, "mqtt", "f/ev/intruder")))
        assert "reconnecting in" in refused["last_error"], refused
        assert "authori" in refused["last_error"].lower() or \
            "password" in refused["last_error"].lower(), refused
        broker.publish("sensors/kitchen/temp", "21.5")
        broker.publish("other/topic", "1")  # not subscribed
        [run] = _wait_runs(database_url, "f/ev/temps", 1)
        assert run["result"] == {"topic": "sensors/kitchen/temp", "t": 21.5}
        assert run["kind"] == "mqtt"

        broker.publish("sensors/cellar/temp", "boom")
        runs = _wait_runs(database_url, "f/ev/temps", 2)
        assert runs[1]["status"] == "failure"
        [handled] = _wait_runs(database_url, "mqtt/f/ev/temps", 1)
        assert handled["status"] == "success", handled
        assert handled["result"] == {"msg": "sensor exploded", "trigger": "mqtt/f/ev/temps",
                                     "path": "f/ev/temp", "team": "ops"}
    finally:
        broker.stop()

    # HTTP route triggers take a failure handler the same way
    daemon.deploy("f/ev/fails", FAILS)
    r = daemon.api("POST", "http_triggers/create", json={
        "path": "f/ev/order_hook", "route_path": "ev/orders", "script_path": "f/ev/fails",
        "request_type": "async", "error_handler_path": "f/ev/on_fail",
        "error_handler_args": {"team": "shop"}})
    assert r.status_code == 201, r.text
    with httpx.Client(base_url=daemon.url, timeout=30) as c:
        assert c.post("/api/r/ev/orders", json={"sku": "A1"}).status_code == 200
    [handled] = _wait_runs(database_url, "http/f/ev/order_hook", 1)
    assert handled["result"] == {"msg": "no stock for A1", "trigger": "http/f/ev/order_hook",
                                 "path": "f/ev/fails", "team": "shop"}


def test_one_daemon_owns_a_trigger_and_another_takes_over(daemon: RunningDaemon,
                                                          database_url: str,
                                                          tmp_path: Path) -> None:
    home = tmp_path / "second"
    home.mkdir()
    for sub in ("cache", "envs"):
        (home / sub).symlink_to(daemon.home / sub)
    other = RunningDaemon(home=home, port=free_port(), database_url=database_url).start()
    peer = WebSocketPeer()
    try:
        daemon.deploy("f/ev/ws", ECHO_JSON)
        assert _create(daemon, "websocket", path="f/ev/shared", script_path="f/ev/ws",
                       url=peer.url).status_code == 201
        wait_for("one connection", lambda: peer.clients)
        time.sleep(2.5)  # both daemons had two rounds: still one listener
        assert peer.connects == 1 and len(peer.clients) == 1
        owner = _get(daemon, "websocket", "f/ev/shared")["server_id"]
        victim = daemon if owner.endswith(f"-{daemon.proc.pid}") else other  # type: ignore[union-attr]
        survivor = other if victim is daemon else daemon
        victim.kill9()
        wait_for("the other daemon to take over", lambda: peer.connects == 2 and peer.clients,
                 timeout=20)
        peer.send(json.dumps({"n": 5}))
        assert _wait_runs(database_url, "f/ev/shared", 1)[0]["result"] == {"n": 5}
        assert _get(survivor, "websocket", "f/ev/shared")["server_id"] != owner

        # The survivor's manager loses its database session (and so its locks): it stops
        # listening at once, reconnects, takes the trigger again, and delivery goes on.
        with psycopg.connect(database_url, autocommit=True) as c:
            killed = c.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                               " WHERE application_name LIKE 'tidemill trigger manager %'"
                               ).fetchall()
        assert killed == [(True,)]
        wait_for("a new listener after the manager reconnected",
                 lambda: peer.connects == 3 and peer.clients, timeout=20)
        peer.send(json.dumps({"n": 6}))
        assert [r["result"]["n"] for r in _wait_runs(database_url, "f/ev/shared", 2)] == [5, 6]
        assert survivor.proc is not None and survivor.proc.poll() is None
    finally:
        peer.stop()
        other.stop()


BAD_DEFINITIONS: list[tuple[str, dict[str, Any], str]] = [
    ("websocket", {"url": "wss://x.test/a", "script_path": "f/ev/missing"},
     "'script_path': no script at 'f/ev/missing'"),
    ("websocket", {"url": "http://x.test/a"}, "must start with ws:// or wss://"),
    ("websocket", {"url": "ws://:80/"}, "has no host"),
    ("websocket", {"url": "ws://x.test", "filters": [{"value": 1}]}, "'filters' must be"),
    ("websocket", {"url": "ws://x.test", "initial_messages": ["hi"]}, "initial_messages[0]"),
    ("websocket", {"url": "ws://x.test", "mode": "sometimes"}, "'mode' must be"),
    ("websocket", {"url": "$script:f/ev/no_url_maker"},
     "'url' or 'initial_messages': no script at 'f/ev/no_url_maker'"),
    ("websocket", {"url": "ws://x.test", "error_handler_path": "script/f/ev/nope"},
     "'error_handler_path': no script or flow"),
    ("postgres", {"postgres_resource_path": "f/ev/nowhere", "channel": "c"},
     "'postgres_resource_path': no resource at 'f/ev/nowhere'"),
    ("postgres", {"postgres_resource_path": "f/ev/db", "channel": "bad channel"},
     "'channel' must be a PostgreSQL identifier"),
    ("postgres", {"postgres_resource_path": "f/ev/db"}, "or 'channel' (NOTIFY)"),
    ("mqtt", {"broker_url": "mqtt://h:1883", "subscribe_topics": [{"topic": "a/#/b"}]},
     "'#' only as the whole last level"),
    ("mqtt", {"broker_url": "http://h", "subscribe_topics": ["a"]}, "mqtt://host:1883"),
    ("mqtt", {"subscribe_topics": ["a"]}, "'mqtt_resource_path' (an mqtt resource) or"),
    ("mqtt", {"broker_url": "mqtt://h", "subscribe_topics": [{"topic": "a", "qos": 7}]},
     "qos0, qos1 or qos2"),
    ("email", {"local_part": "two words"}, "'local_part' must be"),
    ("email", {"local_part": "taken"}, "already receives mail for the email trigger f/ev/m1"),
    ("email", {"path": "nofolder", "local_part": "x"}, "must be f/<folder>/<name>"),
]


def test_bad_definitions_and_unreachable_peers(daemon: RunningDaemon) -> None:
    daemon.deploy("f/ev/echo", ECHO)
    assert daemon.api("POST", "resources/create", json={
        "path": "f/ev/db", "resource_type": "postgresql",
        "value": {"host": "127.0.0.1", "user": "u", "dbname": "d"}}).status_code == 201
    assert _create(daemon, "email", path="f/ev/m1", script_path="f/ev/echo",
                   local_part="Taken").status_code == 201
    for kind, body, says in BAD_DEFINITIONS:
        full = {"path": "f/ev/bad", "script_path": "f/ev/echo", **body}
        r = _create(daemon, kind, **full)
        assert r.status_code == 400, (body, r.text)
        assert says in r.json()["error"]["message"], (body, r.text)
        assert daemon.api("GET", f"{kind}_triggers/exists/f/ev/bad").json() is False
    # an update is checked the same way, and leaves the trigger as it was
    r = daemon.api("POST", "email_triggers/update/f/ev/m1", json={"local_part": "a b"})
    assert r.status_code == 400 and "'local_part' must be" in r.text
    assert _get(daemon, "email", "f/ev/m1")["local_part"] == "Taken"
    r = daemon.api("POST", "email_triggers/setenabled/f/ev/m1", json={"enabled": "yes"})
    assert r.status_code == 400 and "'enabled' must be true or false" in r.text
    assert daemon.api("GET", "email_triggers/get/f/ev/none").status_code == 404

    # Well-formed but unreachable peers: the listeners keep trying and say why.
    dead = free_port()
    r = _create(daemon, "websocket", path="f/ev/ws_dead", script_path="f/ev/echo",
                url=f"ws://127.0.0.1:{dead}/nobody")
    assert r.status_code == 201, r.text
    r = daemon.api("POST", "resources/create", json={
        "path": "f/ev/nodb", "resource_type": "postgresql",
        "value": {"host": "127.0.0.1", "port": dead, "user": "x", "dbname": "x"}})
    assert r.status_code == 201, r.text
    r = _create(daemon, "postgres", path="f/ev/pg_dead", script_path="f/ev/echo",
                postgres_resource_path="$res:f/ev/nodb", channel="nothing")
    assert r.status_code == 201, r.text
    for kind, path in (("websocket", "f/ev/ws_dead"), ("postgres", "f/ev/pg_dead")):
        got = wait_for(f"{path} to report its error",
                       lambda k=kind, p=path: (lambda g: g if g["last_error"] else None)(
                           _get(daemon, k, p)))
        assert "reconnecting in" in got["last_error"] and got["last_error_at"], got
        assert got["status"] in ("error", "connecting"), got
    listed = [t for t in daemon.api("GET", "triggers/list").json() if "dead" in t["path"]]
    assert {(t["kind"], t["path"]) for t in listed} == {("websocket", "f/ev/ws_dead"),
                                                      ("postgres", "f/ev/pg_dead")}
    assert all(t["last_error"] for t in listed)
    out = daemon.cli("trigger", "list", check=True).stdout
    assert "f/ev/ws_dead" in out and "last error at" in out and "reconnecting in" in out
    assert daemon.cli("trigger", "disable", "websocket", "f/ev/ws_dead", check=True)
    assert _get(daemon, "websocket", "f/ev/ws_dead")["status"] == "disabled"
    assert "Traceback" not in daemon.log()  # a broken trigger is reported, not a crash


def test_triggers_are_kept_in_git_and_imported_from_files(daemon: RunningDaemon) -> None:
    daemon.deploy("f/ev/echo", ECHO)
    assert _create(daemon, "websocket", path="f/ev/feed", script_path="f/ev/echo",
                   url="ws://127.0.0.1:9/feed", mode="disabled",
                   can_return_message=True).status_code == 201
    assert daemon.api("POST", "http_triggers/create", json={
        "path": "f/ev/hook", "route_path": "ev/hook", "script_path": "f/ev/echo",
        "request_type": "async"}).status_code == 201
    repo = daemon.home / "workspace"
    feed = repo / "f/ev/feed.websocket_trigger.yaml"
    wait_for("the trigger files", lambda: feed.exists()
             and (repo / "f/ev/hook.http_trigger.yaml").exists())
    import yaml

    assert yaml.safe_load(feed.read_text()) == {
        "script_path": "f/ev/echo", "is_flow": False, "mode": "disabled",
        "url": "ws://127.0.0.1:9/feed", "filters": [], "filter_logic": "and",
        "initial_messages": [], "url_runnable_args": {}, "can_return_message": True,
        "can_return_error_result": False}
    assert yaml.safe_load((repo / "f/ev/hook.http_trigger.yaml").read_text())["route_path"] == \
        "ev/hook"
    assert daemon.api("DELETE", "websocket_triggers/delete/f/ev/feed").status_code == 200
    wait_for("the file to go", lambda: not feed.exists())

    files = {"f/ev/echo.py": ECHO, "f/ev/topic.mqtt_trigger.yaml": (
        "script_path: f/ev/echo\nbroker_url: mqtt://127.0.0.1:1\nmode: disabled\n"
        "subscribe_topics:\n  - topic: a/+/b\n    qos: qos1\n")}
    r = daemon.api("POST", "sync/import", json={"files": files})
    assert r.status_code == 200, r.text
    got = _get(daemon, "mqtt", "f/ev/topic")
    assert got["subscribe_topics"] == [{"topic": "a/+/b", "qos": "qos1"}]
    bad = dict(files)
    bad["f/ev/topic.mqtt_trigger.yaml"] = ("script_path: f/ev/echo\nbroker_url: mqtt://h\n"
                                           "subscribe_topics: 42\n")
    r = daemon.api("POST", "sync/import", json={"files": bad})
    assert r.status_code == 400, r.text
    assert "mqtt trigger f/ev/topic: 'subscribe_topics' must be a non-empty list" in r.text
    assert _get(daemon, "mqtt", "f/ev/topic")["subscribe_topics"][0]["topic"] == "a/+/b"

