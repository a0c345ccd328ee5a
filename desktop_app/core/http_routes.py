"""HTTP route triggers, the pure rules: route syntax, matching a request path, checking
a request's credentials against a trigger's, and turning a request into job arguments.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Any

#: The one argument of a preprocessed job: the event, which the worker's Python wrapper
#: hands to the script's `preprocessor(event)` (HTTP routes and event triggers alike).
EVENT_ARG = "__tidemill_event"
METHODS = ("get", "post", "put", "delete", "patch")
AUTH_METHODS = ("none", "windmill", "token", "api_key", "basic_http", "signature")
_SEGMENT = re.compile(r"^(:[A-Za-z_][A-Za-z0-9_]*|[A-Za-z0-9._~\-]+)$")


def route_problem(route: str) -> str | None:
    """Why `route` is not a valid route path (no leading `/`; `:name` segments), or None."""
    if not route or route.startswith("/") or route.endswith("/"):
        return "must be non-empty, without a leading or trailing '/', e.g. hooks/:id/ping"
    names: set[str] = set()
    for seg in route.split("/"):
        if not _SEGMENT.match(seg):
            return (f"segment {seg!r} is not a literal (letters, digits, . _ ~ -) or a"
                    " :param")
        if seg.startswith(":"):
            if seg in names:
                return f"parameter {seg} appears twice"
            names.add(seg)
    return None


def match_route(route: str, path: str) -> dict[str, str] | None:
    """The `:params` of `route` if the request `path` matches it, else None."""
    want, got = route.split("/"), path.strip("/").split("/")
    if len(want) != len(got):
        return None
    params: dict[str, str] = {}
    for w, g in zip(want, got, strict=True):
        if w.startswith(":"):
            if not g:
                return None
            params[w[1:]] = g
        elif w != g:
            return None
    return params


def route_shape(route: str) -> str:
    """Routes with the same shape serve the same requests: `a/:id` and `a/:name` clash."""
    return "/".join(":" if s.startswith(":") else s for s in route.split("/"))


def specificity(route: str) -> tuple[int, int]:
    """Sort key: routes with more literal segments win over `:param` ones."""
    segs = route.split("/")
    return (-sum(1 for s in segs if not s.startswith(":")), len(segs))


def signature_ok(secret: str, raw_body: bytes, header_value: str | None) -> bool:
    """HMAC-SHA256 of the raw body, sent as `sha256=<hex>` or bare hex."""
    if not header_value:
        return False
    sent = header_value.strip()
    if sent.lower().startswith("sha256="):
        sent = sent[7:]
    expected = hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), sent.lower().encode("utf-8", "replace"))


def basic_ok(username: str, password: str, header_value: str | None) -> bool:
    if not header_value or not header_value.lower().startswith("basic "):
        return False
    try:
        decoded = base64.b64decode(header_value[6:].strip(), validate=True).decode()
    except ValueError:
        return False
    user, sep, pwd = decoded.partition(":")
    return bool(sep) and hmac.compare_digest(f"{user}:{pwd}".encode(),
                                             f"{username}:{password}".encode())


#: The bodies a web page can send anywhere without asking (no CORS preflight).
BROWSER_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "text/plain")
#: The trigger field by which a route without authentication accepts such bodies anyway.
FORM_OPT_IN = "allow_form_posts"


def browser_form_refusal(content_type: str | None, auth_method: str, opted_in: bool,
                         trigger_path: str) -> str | None:
    """Why a browser-style form post may not run this route, or None. Any page the user
    opens could send one to the daemon on their machine, so a route that checks no
    credential takes them only when it says so."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if auth_method != "none" or opted_in or media not in BROWSER_FORM_TYPES:
        return None
    return (f"the HTTP trigger {trigger_path} has no authentication, so it refuses {media}"
            f" bodies (any web page you open could post them to this machine); send JSON, or"
            f" set {FORM_OPT_IN}: true on the trigger if a web form must post to it")


def secret_matches(expected: str, sent: str | None) -> bool:
    return sent is not None and hmac.compare_digest(expected.encode(),
                                                    sent.encode("utf-8", "replace"))


@dataclass
class HttpRequestData:
    """What a route trigger passes on: the decoded body and the request's parts."""

    body: Any
    raw_string: str
    headers: dict[str, str]
    query: dict[str, str]
    params: dict[str, str]
    method: str
    route: str
    path: str

    def event(self, trigger_path: str) -> dict[str, Any]:
        """The `preprocessor(event)` argument (Windmill's `kind: "http"` event)."""
        return {"kind": "http", "body": self.body, "raw_string": self.raw_string,
                "headers": self.headers, "query": self.query, "params": self.params,
                "method": self.method, "route": self.route, "path": self.path,
                "trigger_path": trigger_path}

    def args(self, wrap_body: bool, raw_string: bool) -> dict[str, Any]:
        """Windmill's rules: an object body gives the args, anything else (or `wrap_body`)
        becomes `body`; `raw_string` adds the exact body as `raw_string`."""
        if isinstance(self.body, dict) and not wrap_body:
            args = dict(self.body)
        else:
            args = {"body": self.body}
        if raw_string:
            args["raw_string"] = self.raw_string
        return args
