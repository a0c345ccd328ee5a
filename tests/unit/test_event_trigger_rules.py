"""The pure rules of event triggers: settings checks, WebSocket filters, MQTT topics and
broker URLs, reconnect back-off, a mail turned into arguments."""

from __future__ import annotations

import base64
from email.message import EmailMessage

import pytest

from desktop_app.core import event_triggers as rules
from desktop_app.core.errors import UsageError


def test_websocket_filters_match_json_fields_with_and_or() -> None:
    f = [{"key": "type", "value": "order"}, {"key": "meta", "value": {"region": "eu"}}]
    assert rules.message_passes(f, "and", '{"type": "order", "meta": {"region": "eu", "x": 1}}')
    assert not rules.message_passes(f, "and", '{"type": "order", "meta": {"region": "us"}}')
    assert rules.message_passes(f, "or", '{"type": "order"}')
    assert not rules.message_passes(f, "or", '{"type": "refund"}')
    assert not rules.message_passes(f, "and", "not json")
    assert not rules.message_passes(f, "and", "[1, 2]")
    assert rules.message_passes([], "and", "anything at all")


@pytest.mark.parametrize(("topic", "ok"), [
    ("a/b/c", True), ("a/+/c", True), ("a/#", True), ("#", True), ("+", True),
    ("a/#/c", False), ("a/b#", False), ("a/b+/c", False), ("", False)])
def test_mqtt_topic_filters(topic: str, ok: bool) -> None:
    assert (rules.topic_problem(topic) is None) is ok


def test_broker_urls_and_resources() -> None:
    b = rules.parse_broker_url("mqtt://ada:p%40ss@broker.local")
    assert (b.host, b.port, b.username, b.password, b.tls) == ("broker.local", 1883, "ada",
                                                               "p@ss", False)
    assert rules.parse_broker_url("mqtts://h").port == 8883
    with pytest.raises(UsageError, match="mqtt://host:1883"):
        rules.parse_broker_url("http://h")
    r = rules.broker_from_resource({"broker": "h", "port": 1884,
                                    "credentials": {"username": "u", "password": "p"}}, "f/x")
    assert (r.host, r.port, r.username, r.password) == ("h", 1884, "u", "p")
    r = rules.broker_from_resource({"broker": "h", "username": "top", "password": "pw",
                                    "credentials": {"username": "u", "password": "p"}}, "f/x")
    assert (r.username, r.password) == ("top", "pw")
    with pytest.raises(UsageError, match="no 'broker'"):
        rules.broker_from_resource({"host": "h"}, "f/x")


def test_check_config_names_the_bad_field() -> None:
    cfg = rules.check_config("mqtt", {"broker_url": "mqtt://h", "subscribe_topics": [
        "a/b", {"topic": "c/#", "qos": 2}]})
    assert cfg["subscribe_topics"] == [{"topic": "a/b", "qos": "qos0"},
                                       {"topic": "c/#", "qos": "qos2"}]
    assert cfg["client_version"] == "v5"
    with pytest.raises(UsageError, match="'client_version'"):
        rules.check_config("mqtt", {"broker_url": "mqtt://h", "subscribe_topics": ["a"],
                                    "client_version": "v4"})
    with pytest.raises(UsageError, match="'url' is required"):
        rules.check_config("websocket", {})
    assert rules.check_config("websocket", {"url": "$script:f/x/y"})["url"] == "$script:f/x/y"
    assert rules.runnable_of("$flow:f/x/y") == ("f/x/y", True)
    assert rules.runnable_of("wss://h") is None
    with pytest.raises(UsageError, match="the path of the script or flow"):
        rules.check_config("websocket", {"url": "$script:make_url"})
    with pytest.raises(UsageError, match="runnable_result"):
        rules.check_config("websocket", {"url": "ws://h", "initial_messages": [
            {"runnable_result": {"path": "f/x/y", "args": "no"}}]})
    # Logical replication needs its slot beside the publication; neither way given names both.
    with pytest.raises(UsageError) as err:
        rules.check_config("postgres", {"postgres_resource_path": "f/x/db",
                                        "publication_name": "p"})
    assert "'replication_slot_name' must be a slot name" in err.value.message
    with pytest.raises(UsageError) as err:
        rules.check_config("postgres", {"postgres_resource_path": "f/x/db"})
    assert "logical replication" in err.value.message and "'channel'" in err.value.message
    assert rules.check_config("postgres", {"postgres_resource_path": "$res:f/x/db",
                                           "channel": "orders"}) == {
        "postgres_resource_path": "f/x/db", "channel": "orders"}
    assert rules.check_config("email", {"local_part": "ops+alerts"})["local_part"] == \
        "ops+alerts"
    with pytest.raises(UsageError, match="'local_part'"):
        rules.check_config("email", {"local_part": "a..b"})


def test_email_addresses_of_a_trigger() -> None:
    assert rules.email_local_parts("main", "f/m/in", {"local_part": "Orders"}) == \
        {"orders", "f/m/in"}
    assert rules.email_local_parts("main", "f/m/in", {"local_part": "x",
                                                      "workspaced_local_part": True}) == \
        {"main-x", "f/m/in"}


def test_backoff_doubles_up_to_a_cap_and_resets() -> None:
    b = rules.Backoff(initial=1.0, maximum=8.0)
    delays = [b.next() for _ in range(6)]
    for got, want in zip(delays, [1, 2, 4, 8, 8, 8], strict=True):
        assert want * 0.9 <= got <= want * 1.1
    b.reset()
    assert b.next() <= 1.1


def test_a_mail_becomes_arguments() -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Ada <ada@x.org>", "in@h", "Ünïcode subject"
    msg.set_content("plain text")
    msg.add_alternative("<p>html</p>", subtype="html")
    msg.add_attachment(b"\x00\x01binary", maintype="application", subtype="octet-stream",
                       filename="blob.bin")
    args = rules.email_args(bytes(msg), "ada@x.org", ["in@h"])
    assert args["subject"] == "Ünïcode subject" and args["sender"] == "ada@x.org"
    assert args["text_body"].strip() == "plain text" and "<p>html</p>" in args["html_body"]
    [a] = args["attachments"]
    assert a["filename"] == "blob.bin" and a["size"] == 8
    assert base64.b64decode(a["content_base64"]) == b"\x00\x01binary"
    assert args["parsed_email"]["attachments"] == [
        {"filename": "blob.bin", "content_type": "application/octet-stream", "size": 8}]


def test_mqtt_payloads_text_or_base64() -> None:
    assert rules.mqtt_payload_args("t", b"21.5", 1, False)["payload"] == "21.5"
    binary = rules.mqtt_payload_args("t", b"\xff\x00", 0, True)
    assert binary["payload_encoding"] == "base64"
    assert base64.b64decode(binary["payload"]) == b"\xff\x00"
