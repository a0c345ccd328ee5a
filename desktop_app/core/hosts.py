"""Which names the daemon answers to (the Host header), the pure rule.

A web page under a name its attacker controls can make that name resolve to 127.0.0.1
(DNS rebinding) and then read the daemon's answers as same-origin. The browser still sends
the attacker's name as Host, so the daemon answers only to its own names: the loopback
names, the names it was told (`--public-url`, `--allowed-host`) and IP literals (an
address in the URL cannot be rebound).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from desktop_app.core.errors import UsageError

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


def host_name(host_header: str) -> str:
    """`example.org` for `Example.org:8443`, `::1` for `[::1]:8765`."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


def allowed_names(public_url: str | None, extra: list[str] | tuple[str, ...] = (),
                  bind_host: str | None = None) -> frozenset[str]:
    names = set(LOOPBACK_NAMES)
    if public_url:
        names.add(public_url_host(public_url))
    if bind_host and bind_host not in ("0.0.0.0", "::", ""):
        names.add(host_name(bind_host))
    names.update(host_name(n) for n in extra if n.strip())
    return frozenset(names)


def public_url_host(public_url: str) -> str:
    parts = urlsplit(public_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"the public URL {public_url!r} is not an http(s) URL",
                         hint="give the address users open, e.g. https://tidemill.example.org")
    return parts.hostname.lower()


def refusal(host_header: str | None, allowed: frozenset[str]) -> str | None:
    """Why a request sent to this Host is refused, or None."""
    if not host_header:
        return None  # no browser leaves it out; an HTTP/1.0 client may
    name = host_name(host_header)
    if name in allowed:
        return None
    try:
        ipaddress.ip_address(name)
        return None
    except ValueError:
        pass
    return (f"this Tidemill daemon does not answer to the name {name!r} (the request's Host);"
            f" it answers to {', '.join(sorted(allowed))} and IP addresses. If you reach it by"
            f" this name, start it with `--allowed-host {name}` (or `--public-url"
            f" https://{name}/`, or TIDEMILL_ALLOWED_HOSTS={name})")
