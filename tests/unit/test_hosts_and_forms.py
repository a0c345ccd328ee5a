"""The pure rules behind the Host check (DNS rebinding) and the browser form-post refusal."""

from __future__ import annotations

import pytest

from desktop_app.core import hosts
from desktop_app.core.errors import UsageError
from desktop_app.core.http_routes import browser_form_refusal
from desktop_app.core.jobs import PLAIN_ARGS, has_plain_args, is_plain_arg


def test_loopback_names_and_ip_literals_are_allowed() -> None:
    allowed = hosts.allowed_names(None)
    for host in ("127.0.0.1:8765", "localhost:8765", "LOCALHOST", "[::1]:8765", "localhost.",
                 "192.168.1.20:8765", "[fe80::1]:80"):
        assert hosts.refusal(host, allowed) is None, host
    assert hosts.refusal(None, allowed) is None


def test_a_foreign_name_is_refused_with_the_way_to_allow_it() -> None:
    allowed = hosts.allowed_names(None)
    reason = hosts.refusal("evil.example:8765", allowed)
    assert reason is not None and "'evil.example'" in reason
    assert "--allowed-host evil.example" in reason and "TIDEMILL_ALLOWED_HOSTS" in reason
    # a name that merely starts like a loopback name is not one
    assert hosts.refusal("localhost.evil.example", allowed) is not None
    assert hosts.refusal("127.0.0.1.nip.io", allowed) is not None


def test_configured_names_are_allowed() -> None:
    allowed = hosts.allowed_names("https://Tidemill.Example.org:8443/base",
                                  ["box.lan", " "], bind_host="0.0.0.0")
    assert hosts.refusal("tidemill.example.org:8443", allowed) is None
    assert hosts.refusal("box.lan", allowed) is None
    assert hosts.refusal("other.lan", allowed) is not None
    assert "box.lan" in hosts.allowed_names(None, bind_host="box.lan")


def test_a_public_url_must_be_http() -> None:
    with pytest.raises(UsageError, match="not an http"):
        hosts.allowed_names("tidemill.example.org")


@pytest.mark.parametrize("ctype", ["application/x-www-form-urlencoded",
                                   "multipart/form-data; boundary=x", "text/plain;charset=UTF-8"])
def test_browser_forms_are_refused_by_routes_without_authentication(ctype: str) -> None:
    reason = browser_form_refusal(ctype, "none", False, "f/x/hook")
    assert reason is not None and "f/x/hook" in reason and "allow_form_posts" in reason
    assert browser_form_refusal(ctype, "none", True, "f/x/hook") is None  # opted in
    assert browser_form_refusal(ctype, "signature", False, "f/x/hook") is None


def test_json_and_no_body_type_pass() -> None:
    for ctype in ("application/json", None, "application/octet-stream"):
        assert browser_form_refusal(ctype, "none", False, "f/x/hook") is None


def test_plain_args_marker() -> None:
    assert is_plain_arg({PLAIN_ARGS: True}, "x") and has_plain_args({PLAIN_ARGS: True})
    assert is_plain_arg({PLAIN_ARGS: ["x"]}, "x") and not is_plain_arg({PLAIN_ARGS: ["x"]}, "y")
    assert not has_plain_args({PLAIN_ARGS: []}) and not has_plain_args(None)
    assert not is_plain_arg({}, "x")
