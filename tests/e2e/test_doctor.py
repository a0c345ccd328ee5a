"""`tidemill doctor` against the real thing: a running daemon, a real keyring (and none),
ports another program holds, a PostgreSQL that does not answer."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.daemon_harness import RunningDaemon, free_port

ROOT = Path(__file__).resolve().parents[2]


def doctor(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {**os.environ, "PYTHONPATH": str(ROOT), "TIDEMILL_SMTP_PORT": "off"}
    base.pop("TIDEMILL_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "desktop_app.cli.main", "doctor", "--home",
                           str(home), *args], env={**base, **(env or {})}, capture_output=True,
                          text=True, timeout=180, cwd=home.parent)


def findings(res: subprocess.CompletedProcess[str]) -> list[dict[str, str]]:
    return json.loads(res.stdout)


@pytest.fixture
def held_port() -> Iterator[int]:
    """A port another program listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def test_a_running_daemon_owns_its_port_and_database(daemon: RunningDaemon) -> None:
    res = doctor(daemon.home, "--only", "ports", "--only", "database", "--only", "secrets",
                 "--json", env={"TIDEMILL_URL": daemon.url})
    got = findings(res)
    assert res.returncode == 0, res.stdout + res.stderr
    by = {f["check"]: f for f in got}
    assert f"API port {daemon.port}: the running daemon's" in by["ports"]["detail"]
    assert "running daemon" in by["database"]["detail"]
    assert by["secrets"]["status"] == "ok" and "Secret Service" in by["secrets"]["detail"]


def test_ports_held_by_another_program_fail_with_the_fix(tmp_path: Path, held_port: int) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        smtp = other.getsockname()[1]
        res = doctor(tmp_path / "home", "--only", "ports", "--port", str(held_port),
                     env={"TIDEMILL_SMTP_PORT": str(smtp)})
    assert res.returncode == 1, res.stdout + res.stderr
    assert f"API port {held_port} is in use by another program" in res.stdout
    assert f"SMTP (email triggers) port {smtp} is in use by another program" in res.stdout
    assert "fix: stop the program that holds it" in res.stdout
    assert "TIDEMILL_SMTP_PORT=off" in res.stdout


def test_free_ports_pass(tmp_path: Path) -> None:
    port = free_port()
    res = doctor(tmp_path / "home", "--only", "ports", "--port", str(port), "--json")
    assert res.returncode == 0, res.stdout + res.stderr
    assert findings(res) == [{"check": "ports", "status": "ok",
                              "detail": f"API port {port} is free", "fix": ""}]


def test_no_keyring_fails_and_names_the_ways_out(tmp_path: Path) -> None:
    # No D-Bus session: the keyring library has only its "fail" backend.
    res = doctor(tmp_path / "home", "--only", "secrets", "--json",
                 env={"DBUS_SESSION_BUS_ADDRESS": "", "PYTHON_KEYRING_BACKEND": ""})
    [f] = findings(res)
    assert res.returncode == 1 and f["status"] == "fail", f
    assert "No OS keyring" in f["detail"] and "TIDEMILL_SECRETS=encrypted-file" in f["fix"]
    # The way out it names works.
    res = doctor(tmp_path / "home", "--only", "secrets", "--json",
                 env={"DBUS_SESSION_BUS_ADDRESS": "", "TIDEMILL_SECRETS": "encrypted-file",
                      "TIDEMILL_SECRETS_PASSPHRASE": "a passphrase"})
    [f] = findings(res)
    assert res.returncode == 0 and f["status"] == "ok", f


def test_an_external_database_that_does_not_answer(tmp_path: Path, database_url: str) -> None:
    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/tidemill"
    res = doctor(tmp_path / "home", "--only", "database", env={"TIDEMILL_DATABASE_URL": dead})
    assert res.returncode == 1
    assert "TIDEMILL_DATABASE_URL does not connect" in res.stdout and "fix:" in res.stdout
    res = doctor(tmp_path / "home", "--only", "database", "--json",
                 env={"TIDEMILL_DATABASE_URL": database_url})
    [f] = findings(res)
    assert res.returncode == 0 and f["detail"].startswith("external PostgreSQL 18"), f


def test_every_check_reports_and_an_unknown_one_is_named(tmp_path: Path) -> None:
    res = doctor(tmp_path / "home", "--json", "--port", str(free_port()))
    checks = {f["check"] for f in findings(res)}
    assert {"secrets", "database", "ports", "toolchains", "disk", "tray"} <= checks
    assert all(f["fix"] for f in findings(res) if f["status"] != "ok")
    toolchains = [f["detail"] for f in findings(res) if f["check"] == "toolchains"]
    assert any(d.startswith("uv (Python jobs)") for d in toolchains)
    assert any(d.startswith("Deno (TypeScript jobs)") for d in toolchains)
    bad = doctor(tmp_path / "home", "--only", "nope")
    assert bad.returncode == 2 and "no check named nope" in bad.stderr and "tray" in bad.stderr
