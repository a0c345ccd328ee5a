"""The pure rules of HTTP route triggers: route syntax, matching, credentials, args."""

from __future__ import annotations

import base64
import hashlib
import hmac

from desktop_app.core import http_routes as hr


def test_route_syntax_and_matching() -> None:
    assert hr.route_problem("orders/:id/paid") is None
    for bad in ("", "/a", "a/", "a//b", "a/:1x", "a/:x/:x", "a b"):
        assert hr.route_problem(bad) is not None, bad
    assert hr.match_route("orders/:id/paid", "orders/7/paid") == {"id": "7"}
    assert hr.match_route("orders/:id/paid", "/orders/7/paid/") == {"id": "7"}
    assert hr.match_route("orders/:id/paid", "orders/7") is None
    assert hr.match_route("orders/:id", "orders/") is None
    assert hr.route_shape("a/:id") == hr.route_shape("a/:name") != hr.route_shape("a/b")
    assert sorted(["a/:x", "a/b"], key=hr.specificity) == ["a/b", "a/:x"]


def test_credentials() -> None:
    body = b'{"a": 1}'
    sig = hmac.new(b"s", body, hashlib.sha256).hexdigest()
    assert hr.signature_ok("s", body, f"sha256={sig}") and hr.signature_ok("s", body, sig)
    assert not hr.signature_ok("s", body + b" ", f"sha256={sig}")
    assert not hr.signature_ok("s", body, None) and not hr.signature_ok("s", body, "é")
    good = "Basic " + base64.b64encode(b"bob:pw").decode()
    assert hr.basic_ok("bob", "pw", good)
    assert not hr.basic_ok("bob", "no", good) and not hr.basic_ok("bob", "pw", "Basic !!")
    assert hr.secret_matches("k", "k") and not hr.secret_matches("k", None)


def test_args_follow_windmill_rules() -> None:
    data = hr.HttpRequestData({"a": 1}, '{"a": 1}', {}, {}, {"id": "7"}, "POST", "x/:id", "x/7")
    assert data.args(False, False) == {"a": 1}
    assert data.args(True, True) == {"body": {"a": 1}, "raw_string": '{"a": 1}'}
    assert data.event("f/t")["params"] == {"id": "7"} and data.event("f/t")["kind"] == "http"
