"""The first-run window: what it says, what it refuses, and a real first start (a daemon
on a fresh home with its embedded PostgreSQL, the sample workspace added and run)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx

from desktop_app.cli import daemon_control
from desktop_app.client.http import Connection
from desktop_app.gui.first_run import FirstRunWindow, is_first_run, set_up
from tests.e2e.daemon_harness import free_port


def test_without_a_keyring_the_encrypted_file_is_required_with_a_good_passphrase(
        qtbot: Any, tmp_path: Path) -> None:
    w = FirstRunWindow(tmp_path / "home", keyring=(False, "No OS keyring answers here (x)."))
    qtbot.addWidget(w)
    assert w.where.text().startswith(str(tmp_path / "home"))
    assert w.use_file.isChecked() and not w.use_file.isEnabled()
    w.passphrase.setText("short")
    w.passphrase_again.setText("short")
    assert w.choices() is None and "at least 8 characters" in w.message.text()
    w.passphrase.setText("correct horse")
    w.passphrase_again.setText("correct hose")
    assert w.choices() is None and "differ" in w.message.text()
    w.passphrase_again.setText("correct horse")
    assert w.choices() == {"passphrase": "correct horse", "remote": None, "sample": True}


def test_with_a_keyring_the_file_is_an_option(qtbot: Any, tmp_path: Path) -> None:
    w = FirstRunWindow(tmp_path / "home", keyring=(True, "Secrets go to your OS keyring."))
    qtbot.addWidget(w)
    assert not w.use_file.isChecked() and w.use_file.isEnabled()
    assert w.passphrase.isHidden()
    w.use_file.setChecked(True)
    assert not w.passphrase.isHidden()
    w.use_file.setChecked(False)
    w.sample.setChecked(False)
    w.remote.setText("  file:///srv/git/flows.git ")
    assert w.choices() == {"passphrase": None, "remote": "file:///srv/git/flows.git",
                           "sample": False}


def test_first_start_creates_the_database_and_the_sample(qtbot: Any, qloop: Any,
                                                         tmp_path: Path,
                                                         monkeypatch: Any) -> None:
    home = tmp_path / "home"
    monkeypatch.delenv("TIDEMILL_URL", raising=False)
    monkeypatch.delenv("TIDEMILL_TOKEN", raising=False)
    monkeypatch.setenv("TIDEMILL_HOME", str(home))
    monkeypatch.setenv("TIDEMILL_SMTP_PORT", "0")
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[2]))
    assert is_first_run(home)
    w = FirstRunWindow(home)  # the real keyring probe (the tests' gnome-keyring)
    qtbot.addWidget(w)
    assert w.keyring_ok and "Secret Service" in w.keyring_label.text()
    steps: list[str] = []
    shown = w.show_step
    w.show_step = lambda done, text: (steps.append(text), shown(done, text))  # type: ignore[method-assign]
    port = free_port()
    try:
        conn = qloop.run_until_complete(
            set_up(w, Connection(f"http://127.0.0.1:{port}", None), w.choices() or {}))
        assert not is_first_run(home)
        assert steps[0].startswith("Starting the daemon: creating the database")
        assert any("installing its dependencies" in s for s in steps) and steps[-1] == "Ready."
        token = (home / "admin.token").read_text().strip()
        with httpx.Client(base_url=f"{conn.url}/api/w/main/", timeout=60,
                          headers={"Authorization": f"Bearer {token}"}) as c:
            form = c.get("scripts/get_form/p/f/samples/hello").json()
            assert set(form["schema"]["properties"]) == {"name", "times", "shout"}
            flow = c.get("flows/get/f/samples/refund").json()
            branch = flow["value"]["modules"][1]["value"]
            assert branch["type"] == "branchone"
            assert branch["branches"][0]["modules"][0]["suspend"]["required_events"] == 1
            assert c.get("schedules/get/f/samples/every_morning").json()["enabled"] is False
            runs = c.get("jobs/completed/list", params={"script_path_exact": "f/samples/hello"})
            assert any(j["result"] == "hello Tidemill" for j in runs.json())
    finally:
        if daemon_control.running_url(home):
            daemon_control.stop(home)
        from desktop_app.db.embedded import EmbeddedPostgres
        from tests.support.pg import discard_server

        discard_server(EmbeddedPostgres(home))  # no orphaned cluster under /var/lib/tidemill
        os.environ.pop("TIDEMILL_SECRETS", None)
