"""The settings view's "at login" switch writes and removes the same login entries as
`tidemill autostart` (real files under a private XDG_CONFIG_HOME)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from desktop_app.autostart.manage import status
from desktop_app.client.http import Connection, TidemillClient
from desktop_app.gui.settings_view import SettingsView


@pytest.fixture
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)  # leave the machine's systemd alone
    return tmp_path / "cfg"


def test_the_switch_installs_and_removes_the_login_entries(qtbot: Any, config_home: Path,
                                                           tmp_path: Path) -> None:
    view = SettingsView(TidemillClient(Connection("http://127.0.0.1:9", None)),
                        home=tmp_path / "home")
    qtbot.addWidget(view)
    assert not view.autostart.isChecked()
    assert "does not start at login" in view.autostart_note.text()

    view.autostart.click()
    unit = config_home / "systemd" / "user" / "tidemill.service"
    assert status().enabled and f"--home {tmp_path / 'home'}" in unit.read_text()
    assert view.autostart.isChecked() and "starts at login (systemd)" in view.autostart_note.text()

    view.autostart.click()
    assert not status().enabled and not unit.exists()


def test_a_folder_it_cannot_write_is_said_and_the_switch_stays_off(qtbot: Any, config_home: Path,
                                                                   tmp_path: Path) -> None:
    config_home.write_text("a file where the config folder should be")
    view = SettingsView(TidemillClient(Connection("http://127.0.0.1:9", None)),
                        home=tmp_path / "home")
    qtbot.addWidget(view)
    view.autostart.click()
    assert not view.autostart.isChecked()
    assert view.autostart_note.text().startswith("Could not change the login entries:")
