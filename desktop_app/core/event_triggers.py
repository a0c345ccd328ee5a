"""Event triggers, the pure rules: each kind's settings (Windmill's field names) checked
into the `config` a listener needs, WebSocket message filters, MQTT topics and broker URLs,
reconnect back-off, and a received email turned into job arguments.

A bad setting raises UsageError naming the field and what it should be; the API answers
it as a 400 before anything is stored.
"""

from __future__ import annotations

import base64
import email
import email.policy
import json
import os
import random
import re
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any
from urllib.parse import unquote, urlsplit

from desktop_app.core import nats_triggers, pgoutput
from desktop_app.core.errors import DaemonError, UsageError

KINDS = ("websocket", "postgres", "mqtt", "nats", "email")
#: Kinds whose listener one daemon owns (email is served by every daemon's SMTP listener).
OWNED_KINDS = ("websocket", "postgres", "mqtt", "nats")
MODES = ("enabled", "disabled")
QOS = {"qos0": 0, "qos1": 1, "qos2": 2, 0: 0, 1: 1, 2: 2}
_CHANNEL = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")
_LOCAL_PART = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$")

# Each kind's own fields, as a create body carries them (everything else is shared).
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "websocket": ("url", "filters", "filter_logic", "initial_messages", "url_runnable_args",
                  "can_return_message", "can_return_error_result"),
    "postgres": ("postgres_resource_path", "channel", "replication_slot_name",
                 "publication_name", "publication"),
    "mqtt": ("mqtt_resource_path", "broker_url", "subscribe_topics", "client_id",
             "client_version", "v3_config", "v5_config"),
    "nats": nats_triggers.FIELDS,
    "email": ("local_part", "workspaced_local_part"),
}


def _bad(name: str, what: str, hint: str | None = None) -> UsageError:
    return UsageError(f"'{name}' must be {what}", hint=hint)


def _string(body: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    v = body.get(name)
    if v is None or v == "":
        if required:
            raise UsageError(f"'{name}' is required")
        return None
    if not isinstance(v, str):
        raise _bad(name, "a string")
    return v


def _flag(body: dict[str, Any], name: str) -> bool:
    v = body.get(name)
    if v is None:
        return False
    if not isinstance(v, bool):
        raise _bad(name, "true or false")
    return v


def _object(body: dict[str, Any], name: str) -> dict[str, Any] | None:
    v = body.get(name)
    if v is None:
        return None
    if not isinstance(v, dict):
        raise _bad(name, "a JSON object")
    return v


def check_config(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """The `config` of a trigger of `kind` from a create/update body (UsageError names the
    bad field)."""
    if kind == "websocket":
        return _websocket(body)
    if kind == "postgres":
        return _postgres(body)
    if kind == "mqtt":
        return _mqtt(body)
    if kind == "nats":
        return nats_triggers.check(body)
    if kind == "email":
        return _email(body)
    raise UsageError(f"unknown trigger kind {kind!r}; one of {', '.join(KINDS)}")


def _websocket(body: dict[str, Any]) -> dict[str, Any]:
    url = _string(body, "url", required=True)
    assert url is not None
    if runnable_of(url) is None:
        problem = websocket_url_problem(url)
        if problem:
            raise UsageError(f"'url' {url!r} {problem}",
                             hint="e.g. wss://stream.example.com/feed, or $script:f/x/make_url"
                                  " (a script whose result is the URL)")
    elif not runnable_of(url)[0].startswith(("f/", "u/")):  # type: ignore[index]
        raise UsageError(f"'url' {url!r}: after $script: or $flow: comes the path of the"
                         " script or flow that returns the URL, e.g. $script:f/feeds/url")
    filters = body.get("filters") or []
    if not isinstance(filters, list) or not all(
            isinstance(f, dict) and isinstance(f.get("key"), str) and f["key"] and "value" in f
            for f in filters):
        raise _bad("filters", 'a list of {"key": "...", "value": <JSON>} objects',
                   hint="a message runs the script only when each filter's key has that value")
    logic = _string(body, "filter_logic") or "and"
    if logic not in ("and", "or"):
        raise _bad("filter_logic", "'and' or 'or'")
    initial = body.get("initial_messages") or []
    if not isinstance(initial, list):
        raise _bad("initial_messages", 'a list of {"raw_message": "..."} objects')
    for i, m in enumerate(initial):
        if isinstance(m, dict) and "runnable_result" in m:
            r = m["runnable_result"]
            if not (isinstance(r, dict) and isinstance(r.get("path"), str) and r["path"]
                    and isinstance(r.get("args", {}), dict)
                    and isinstance(r.get("is_flow", False), bool)):
                raise _bad(f"initial_messages[{i}].runnable_result",
                           'an object {"path": "f/…", "args": {…}, "is_flow": false}')
            continue
        if not (isinstance(m, dict) and isinstance(m.get("raw_message"), str)):
            raise _bad(f"initial_messages[{i}]", 'an object {"raw_message": "<text to send>"}'
                       ' or {"runnable_result": {"path": …, "args": {…}, "is_flow": false}}')
    return {"url": url, "filters": filters, "filter_logic": logic,
            "initial_messages": initial,
            "url_runnable_args": _object(body, "url_runnable_args") or {},
            "can_return_message": _flag(body, "can_return_message"),
            "can_return_error_result": _flag(body, "can_return_error_result")}


def reply_text(result: Any) -> str:
    """A run's result as the WebSocket message sent back: a string as it is, else JSON."""
    return result if isinstance(result, str) else json.dumps(result)


def runnable_of(url: str) -> tuple[str, bool] | None:
    """`$script:f/x/y` → ('f/x/y', False), `$flow:…` → (…, True): the URL is the result of
    running it (with `url_runnable_args`); None for a plain URL."""
    for prefix, is_flow in (("$script:", False), ("$flow:", True)):
        if url.startswith(prefix):
            return url[len(prefix):], is_flow
    return None


def websocket_url_problem(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        return f"is not a URL ({exc})"
    if parts.scheme not in ("ws", "wss"):
        return "must start with ws:// or wss://"
    if not parts.hostname:
        return "has no host"
    try:
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError:
        return "has an invalid port"
    return None


def _postgres(body: dict[str, Any]) -> dict[str, Any]:
    """Windmill's logical replication fields (a slot and a publication: table changes), or
    Tidemill's `channel` (LISTEN for NOTIFY)."""
    res = _string(body, "postgres_resource_path")
    if res is None:
        raise UsageError("'postgres_resource_path' is required: the postgresql resource to"
                         " listen to", hint="e.g. f/db/main (or $res:f/db/main)")
    channel = _string(body, "channel")
    replication = any(body.get(k) is not None for k in ("replication_slot_name",
                                                         "publication_name", "publication"))
    if channel is None and not replication:
        raise UsageError("'replication_slot_name' and 'publication_name' are required (table"
                         " changes through logical replication), or 'channel' (NOTIFY)",
                         hint='e.g. {"replication_slot_name": "tidemill_orders",'
                              ' "publication_name": "tidemill_orders"}')
    if channel is not None and replication:
        raise UsageError("'channel' (LISTEN for NOTIFY) and 'replication_slot_name'/"
                         "'publication_name' (logical replication) exclude each other",
                         hint="keep one of them")
    if replication:
        return {"postgres_resource_path": res.removeprefix("$res:"),
                **pgoutput.check(body)}
    assert channel is not None
    if not _CHANNEL.match(channel):
        raise _bad("channel", "a PostgreSQL identifier: a letter or _, then letters, digits,"
                   " _ or $, at most 63 characters")
    return {"postgres_resource_path": res.removeprefix("$res:"), "channel": channel}


def _mqtt(body: dict[str, Any]) -> dict[str, Any]:
    res = _string(body, "mqtt_resource_path")
    broker_url = _string(body, "broker_url")
    if res is None and broker_url is None:
        raise UsageError("'mqtt_resource_path' (an mqtt resource) or 'broker_url' is required",
                         hint="e.g. broker_url: mqtt://localhost:1883")
    if broker_url is not None:
        parse_broker_url(broker_url)
    topics = body.get("subscribe_topics")
    if not isinstance(topics, list) or not topics:
        raise _bad("subscribe_topics", 'a non-empty list of {"topic": "a/b/#", "qos": "qos0"}')
    checked = []
    for i, t in enumerate(topics):
        if isinstance(t, str):
            t = {"topic": t}
        if not isinstance(t, dict) or not isinstance(t.get("topic"), str):
            raise _bad(f"subscribe_topics[{i}]", 'an object {"topic": "...", "qos": "qos0"}')
        problem = topic_problem(t["topic"])
        if problem:
            raise UsageError(f"'subscribe_topics[{i}].topic' {t['topic']!r} {problem}")
        qos = t.get("qos", "qos0")
        if qos not in QOS or isinstance(qos, bool):
            raise _bad(f"subscribe_topics[{i}].qos", "qos0, qos1 or qos2")
        checked.append({"topic": t["topic"], "qos": f"qos{QOS[qos]}"})
    version = _string(body, "client_version") or "v5"
    if version not in ("v3", "v5"):
        raise _bad("client_version", "'v3' or 'v5'")
    return {"mqtt_resource_path": res.removeprefix("$res:") if res else None,
            "broker_url": broker_url, "subscribe_topics": checked,
            "client_id": _string(body, "client_id"), "client_version": version,
            "v3_config": _object(body, "v3_config"), "v5_config": _object(body, "v5_config")}


def topic_problem(topic: str) -> str | None:
    """Why `topic` is not a valid MQTT subscription filter, or None."""
    if not topic or len(topic.encode()) > 65535 or "\x00" in topic:
        return "must be a non-empty topic, e.g. sensors/+/temperature"
    levels = topic.split("/")
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            return "may use '#' only as the whole last level (a/b/#)"
        if "+" in level and level != "+":
            return "may use '+' only as a whole level (a/+/c)"
    return None


@dataclass
class Broker:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False


def parse_broker_url(url: str) -> Broker:
    """`mqtt://[user[:password]@]host[:port]` (or mqtts:// for TLS)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"'broker_url' {url!r} is not a URL ({exc})") from exc
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl") or not parts.hostname:
        raise UsageError(f"'broker_url' {url!r} must look like mqtt://host:1883 or"
                         " mqtts://host:8883")
    tls = parts.scheme in ("mqtts", "ssl")
    return Broker(parts.hostname, port or (8883 if tls else 1883),
                  unquote(parts.username) if parts.username else None,
                  unquote(parts.password) if parts.password else None, tls)


def broker_from_resource(value: Any, path: str) -> Broker:
    """An `mqtt` resource: {broker, port, username, password, tls}, or Windmill's layout
    with {credentials: {username, password}}."""
    if not isinstance(value, dict) or not isinstance(value.get("broker"), str):
        raise UsageError(f"the mqtt resource {path!r} has no 'broker' (host name)")
    creds: dict[str, Any] = value["credentials"] if isinstance(value.get("credentials"),
                                                                dict) else {}
    tls: dict[str, Any] = value["tls"] if isinstance(value.get("tls"), dict) else {}
    port = value.get("port") or (8883 if tls.get("enabled") else 1883)
    # top-level username/password (the password kept in the keyring) win over Windmill's
    # nested `credentials`
    return Broker(value["broker"], int(port),
                  value.get("username") or creds.get("username") or None,
                  value.get("password") or creds.get("password") or None,
                  bool(tls.get("enabled")))


def _email(body: dict[str, Any]) -> dict[str, Any]:
    local = _string(body, "local_part", required=True)
    assert local is not None
    if not _LOCAL_PART.match(local) or local.startswith(".") or local.endswith(".") \
            or ".." in local:
        raise _bad("local_part", "the part of an address before '@': letters, digits and"
                   " . _ + - (no leading, trailing or double dot), at most 64 characters")
    return {"local_part": local, "workspaced_local_part": _flag(body, "workspaced_local_part")}


def email_local_parts(workspace: str, path: str, config: dict[str, Any]) -> set[str]:
    """The local parts (lower case) a mail may be sent to for this trigger: its local part
    (prefixed `<workspace>-` when workspaced) and its path."""
    local = str(config.get("local_part") or "")
    names = {path.lower()}
    if local:
        names.add(f"{workspace}-{local}".lower() if config.get("workspaced_local_part")
                  else local.lower())
    return names


# -- WebSocket filters --------------------------------------------------------------------

def _contains(have: Any, want: Any) -> bool:
    if isinstance(want, dict):
        return isinstance(have, dict) and all(k in have and _contains(have[k], v)
                                              for k, v in want.items())
    return bool(have == want)


def message_passes(filters: list[dict[str, Any]], logic: str, message: str) -> bool:
    """Windmill's rule: with filters, the message must be a JSON object whose `key` holds
    `value` (an object value matches when the message's has at least its fields)."""
    if not filters:
        return True
    try:
        data = json.loads(message)
    except (ValueError, RecursionError):
        return False
    if not isinstance(data, dict):
        return False
    hits = (f["key"] in data and _contains(data[f["key"]], f["value"]) for f in filters)
    return any(hits) if logic == "or" else all(hits)


# -- reconnecting -------------------------------------------------------------------------

class Backoff:
    """Exponential reconnect delays: initial, doubled after each failure, capped; ±10% jitter so
    several listeners of one dead peer do not reconnect in step."""

    def __init__(self, initial: float = 0.5, maximum: float = 30.0) -> None:
        self.initial, self.maximum, self.failures = initial, maximum, 0

    def next(self) -> float:
        delay = min(self.initial * (2 ** self.failures), self.maximum)
        self.failures += 1
        return delay * random.uniform(0.9, 1.1)

    def reset(self) -> None:
        self.failures = 0


# -- email --------------------------------------------------------------------------------

def email_args(raw: bytes, sender: str, recipients: list[str]) -> dict[str, Any]:
    """A received mail as a run's arguments: sender, recipients, subject, text and HTML
    bodies, headers, attachments (base64), and Windmill's `raw_email`/`parsed_email`."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    text = html = None
    attachments = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        disposition = part.get_content_disposition()
        ctype = part.get_content_type()
        if disposition == "attachment" or (disposition == "inline" and part.get_filename()):
            payload = part.get_payload(decode=True)
            payload = payload if isinstance(payload, bytes) else b""
            attachments.append({"filename": part.get_filename(), "content_type": ctype,
                                "size": len(payload),
                                "content_base64": base64.b64encode(payload).decode()})
        elif ctype == "text/plain" and text is None:
            text = _text_of(part)
        elif ctype == "text/html" and html is None:
            html = _text_of(part)
    headers: dict[str, str] = {}
    for name, value in msg.items():
        headers[name.lower()] = str(value) if name.lower() not in headers \
            else f"{headers[name.lower()]}, {value}"
    subject = str(msg.get("subject") or "")
    return {"sender": sender, "from": str(msg.get("from") or sender),
            "recipients": recipients, "to": str(msg.get("to") or ""), "subject": subject,
            "text_body": text, "html_body": html, "headers": headers,
            "attachments": attachments, "raw_email": raw.decode("utf-8", "replace"),
            "parsed_email": {"headers": headers, "text_body": text, "html_body": html,
                             "attachments": [{k: a[k] for k in ("filename", "content_type",
                                                                 "size")}
                                             for a in attachments]}}


def _text_of(part: Any) -> str:
    try:
        return str(part.get_content())
    except (LookupError, UnicodeDecodeError):
        return (part.get_payload(decode=True) or b"").decode("utf-8", "replace")


def mqtt_payload_args(topic: str, payload: bytes, qos: int, retain: bool) -> dict[str, Any]:
    """An MQTT message as a run's arguments: the payload as text when it is UTF-8 (else
    base64, with `payload_encoding` saying so), and always as base64."""
    try:
        text, encoding = payload.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(payload).decode(), "base64"
    return {"payload": text, "payload_encoding": encoding,
            "payload_base64": base64.b64encode(payload).decode(), "topic": topic, "qos": qos,
            "retain": retain}


def smtp_port_from_env() -> int | None:
    """The email triggers' SMTP port from TIDEMILL_SMTP_PORT (default 2525; 0 = any free
    port; off = no listener). The daemon and `tidemill doctor` read it alike."""
    raw = os.environ.get("TIDEMILL_SMTP_PORT", "2525").strip().lower()
    if raw in ("", "off", "none", "no"):
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise DaemonError(f"TIDEMILL_SMTP_PORT={raw!r} is not a port number",
                          hint="a number (0 = any free port) or 'off'") from exc
