"""NATS triggers, the pure rules: Windmill's fields (`nats_resource_path`, `subjects`,
`use_jetstream`, `stream_name`, `consumer_name`) checked into a listener's config, NATS
subject syntax, the `nats` resource read into server URLs and credentials, and a received
message turned into a run's arguments.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from desktop_app.core.errors import UsageError

FIELDS = ("nats_resource_path", "subjects", "use_jetstream", "stream_name", "consumer_name")
_NAME_FORBIDDEN = set(" \t\r\n.*>/\\")


def check(body: dict[str, Any]) -> dict[str, Any]:
    """The `config` of a NATS trigger (UsageError names the bad field)."""
    res = body.get("nats_resource_path")
    if not isinstance(res, str) or not res:
        raise UsageError("'nats_resource_path' is required: the nats resource (its servers"
                         " and credentials) to subscribe with",
                         hint="e.g. f/events/nats, a resource of type nats with"
                              ' {"servers": ["nats://localhost:4222"]}')
    subjects = body.get("subjects")
    if isinstance(subjects, str):
        subjects = [subjects]
    if not isinstance(subjects, list) or not subjects:
        raise UsageError("'subjects' must be a non-empty list of subjects, e.g."
                         ' ["orders.created", "sensors.*.temperature", "audit.>"]')
    for i, s in enumerate(subjects):
        problem = subject_problem(s)
        if problem:
            raise UsageError(f"'subjects[{i}]' {s!r} {problem}",
                             hint="tokens separated by '.', '*' for one token, '>' for the"
                                  " rest, e.g. orders.*.created or audit.>")
    jetstream = body.get("use_jetstream", False)
    if not isinstance(jetstream, bool):
        raise UsageError("'use_jetstream' must be true or false")
    names: dict[str, str | None] = {}
    for name in ("stream_name", "consumer_name"):
        v = body.get(name)
        if v in (None, ""):
            names[name] = None
            continue
        if not isinstance(v, str) or set(v) & _NAME_FORBIDDEN:
            raise UsageError(f"'{name}' must be a JetStream name: no spaces, '.', '*', '>',"
                             f" '/' or '\\' (got {v!r})")
        names[name] = v
    if jetstream and not names["stream_name"]:
        raise UsageError("'stream_name' is required with use_jetstream: the JetStream stream"
                         " holding the subjects", hint="e.g. ORDERS (nats stream add ORDERS)")
    return {"nats_resource_path": res.removeprefix("$res:"), "subjects": list(subjects),
            "use_jetstream": jetstream, **names}


def subject_problem(subject: Any) -> str | None:
    """Why `subject` is not a NATS subscription subject, or None."""
    if not isinstance(subject, str) or not subject:
        return "must be a non-empty subject"
    if any(c.isspace() for c in subject):
        return "must not contain spaces"
    tokens = subject.split(".")
    for i, token in enumerate(tokens):
        if not token:
            return "has an empty token (two dots in a row, or a leading or trailing dot)"
        if ">" in token and (token != ">" or i != len(tokens) - 1):
            return "may use '>' only as the whole last token (a.b.>)"
        if "*" in token and token != "*":
            return "may use '*' only as a whole token (a.*.c)"
    return None


@dataclass
class Connection:
    servers: list[str]
    user: str | None = None
    password: str | None = None
    token: str | None = None
    tls: bool = False


def connection_from_resource(value: Any, path: str) -> Connection:
    """A `nats` resource: {servers: [...], require_tls, auth: {label, ...}} (Windmill's
    layout; `auth.label` is NO_AUTH, TOKEN or USER_PASSWORD), or top-level
    user/password/token."""
    if not isinstance(value, dict):
        raise UsageError(f"the nats resource {path!r} is not an object")
    servers = value.get("servers")
    if isinstance(servers, str):
        servers = [s.strip() for s in servers.split(",") if s.strip()]
    if not isinstance(servers, list) or not servers or \
            not all(isinstance(s, str) and s for s in servers):
        raise UsageError(f"the nats resource {path!r} has no 'servers'",
                         hint='e.g. {"servers": ["nats://localhost:4222"]}')
    for s in servers:
        url = s if "://" in s else f"nats://{s}"
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 (raises on a bad port)
        except ValueError as exc:
            raise UsageError(f"the nats resource {path!r}: server {s!r} is not a URL"
                             f" ({exc})") from exc
        if parts.scheme not in ("nats", "tls") or not parts.hostname:
            raise UsageError(f"the nats resource {path!r}: server {s!r} must look like"
                             " nats://host:4222 (or tls://host:4222)")
    auth: dict[str, Any] = value["auth"] if isinstance(value.get("auth"), dict) else {}
    label = str(auth.get("label") or "").upper()
    if label in ("CREDENTIALS", "NKEY", "JWT"):
        raise UsageError(f"the nats resource {path!r}: auth {label} is not supported",
                         hint="use NO_AUTH, TOKEN or USER_PASSWORD")
    return Connection(
        [s if "://" in s else f"nats://{s}" for s in servers],
        user=value.get("user") or auth.get("user") or None,
        password=value.get("password") or auth.get("password") or None,
        token=value.get("token") or auth.get("token") or None,
        tls=bool(value.get("require_tls")))


def message_args(subject: str, payload: bytes, headers: dict[str, str] | None,
                 reply: str | None) -> dict[str, Any]:
    """A NATS message as a run's arguments: the payload as text when it is UTF-8 (else
    base64, `payload_encoding` says which), always as base64 too, the subject, headers and
    the reply subject."""
    try:
        text, encoding = payload.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(payload).decode(), "base64"
    return {"payload": text, "payload_encoding": encoding,
            "payload_base64": base64.b64encode(payload).decode(), "subject": subject,
            "headers": dict(headers or {}), "reply": reply or None,
            "length": len(payload)}
