"""Login entries, generated for each platform and checked the way each platform reads
them: the systemd unit with `systemd-analyze --user verify`, the tray entry with
`desktop-file-validate`, the LaunchAgents with plistlib, the Startup batch file by its
lines; and enable/disable/status through the real CLI."""

from __future__ import annotations

import json
import os
import plistlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_app.autostart import files
from desktop_app.autostart.manage import Locations, disable, enable, status

ROOT = Path(__file__).resolve().parents[2]
# A home with a space, a quote and a percent sign: each format has its own quoting.
ODD_HOME = Path("/tmp/Tidemill data/it's 100%")


def test_systemd_unit_verifies_and_starts_the_daemon(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (Debian: systemd)")
    loc = Locations("linux", tmp_path / "user", {})
    enable(ODD_HOME, loc)
    unit = loc.paths()[files.UNIT_NAME]
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    # The user manager's runtime folder is all `--user` needs outside a login session.
    res = subprocess.run(["systemd-analyze", "--user", "verify", str(unit)], capture_output=True,
                         text=True, timeout=120, env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)})
    assert res.returncode == 0 and res.stderr.strip() == "", res.stderr
    text = unit.read_text()
    assert "WantedBy=default.target" in text and "Restart=on-failure" in text
    exec_start = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    assert exec_start == (f"ExecStart={sys.executable} -m desktop_app.cli.main daemon --home "
                          "\"/tmp/Tidemill data/it's 100%%\"")
    # enabled the way `systemctl --user enable` does it
    wants = loc.paths()["default.target.wants"]
    assert wants.is_symlink() and wants.resolve() == unit.resolve()


def test_a_broken_unit_is_caught_by_the_same_check(tmp_path: Path) -> None:
    """The verification above can fail: a missing interpreter is reported."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (Debian: systemd)")
    unit = tmp_path / files.UNIT_NAME
    unit.write_text(files.systemd_unit(["/nonexistent/python3"], tmp_path))
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    res = subprocess.run(["systemd-analyze", "--user", "verify", str(unit)], capture_output=True,
                         text=True, timeout=120, env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)})
    assert res.returncode != 0 and "not executable" in res.stderr


def test_tray_entry_is_a_valid_desktop_file(tmp_path: Path) -> None:
    if shutil.which("desktop-file-validate") is None:
        pytest.skip("desktop-file-validate is not installed (Debian: desktop-file-utils)")
    loc = Locations("linux", tmp_path, {"XDG_CONFIG_HOME": str(tmp_path / "cfg")})
    enable(ODD_HOME, loc)
    entry = loc.paths()["tidemill-tray.desktop"]
    assert entry.parent == tmp_path / "cfg" / "autostart"
    res = subprocess.run(["desktop-file-validate", str(entry)], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0 and res.stdout.strip() == "", res.stdout + res.stderr
    exec_line = next(x for x in entry.read_text().splitlines() if x.startswith("Exec="))
    assert exec_line.endswith(" tray --home \"/tmp/Tidemill data/it's 100%%\"")


def test_launch_agents_parse_and_run_daemon_and_tray(tmp_path: Path) -> None:
    loc = Locations("darwin", tmp_path, {})
    st = enable(ODD_HOME, loc, command=["/Applications/Tidemill.app/Contents/MacOS/tidemill"])
    assert st.enabled
    agents = tmp_path / "Library" / "LaunchAgents"
    daemon = plistlib.loads((agents / "com.tidemill.daemon.plist").read_bytes())
    tray = plistlib.loads((agents / "com.tidemill.tray.plist").read_bytes())
    assert daemon["Label"] == "com.tidemill.daemon" and daemon["RunAtLoad"] is True
    assert daemon["ProgramArguments"] == ["/Applications/Tidemill.app/Contents/MacOS/tidemill",
                                          "daemon", "--home", str(ODD_HOME)]
    assert daemon["KeepAlive"] == {"SuccessfulExit": False}
    assert tray["ProgramArguments"][1:] == ["tray", "--home", str(ODD_HOME)]
    assert Path(daemon["StandardOutPath"]).parent == ODD_HOME / "logs"


def test_windows_startup_entry_starts_daemon_then_tray(tmp_path: Path) -> None:
    appdata = tmp_path / "AppData" / "Roaming"
    loc = Locations("win32", tmp_path, {"APPDATA": str(appdata)})
    enable(ODD_HOME, loc, command=[r"C:\Program Files\Tidemill\tidemill.exe"])
    cmd = appdata / "Microsoft" / "Windows" / "Start Menu" / "Programs" / "Startup" / "Tidemill.cmd"
    lines = cmd.read_bytes().decode().split("\r\n")
    assert lines[0] == "@echo off"
    home = '"/tmp/Tidemill data/it\'s 100%%"'
    assert lines[2] == (f'start "" /B "C:\\Program Files\\Tidemill\\tidemill.exe" daemon start '
                        f"--home {home}")
    assert lines[3].endswith(f" tray --home {home}")
    assert disable(loc).enabled is False and not cmd.exists()


def test_status_tells_partial_installs_and_disable_removes_everything(tmp_path: Path) -> None:
    loc = Locations("linux", tmp_path, {})
    assert status(loc).detail == "does not start at login (systemd)"
    enable(tmp_path / "home", loc)
    loc.paths()["tidemill-tray.desktop"].unlink()
    st = status(loc)
    assert not st.enabled and "missing tidemill-tray.desktop" in st.detail
    assert enable(tmp_path / "home", loc).enabled  # enable repairs
    st = disable(loc)
    assert not st.enabled and not any(st.entries.values())
    assert not any(p.is_symlink() or p.exists() for p in loc.paths().values())


def test_cli_enable_status_disable(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(tmp_path),
           "XDG_CONFIG_HOME": str(tmp_path / ".config")}
    env.pop("XDG_RUNTIME_DIR", None)  # never touch this machine's user manager

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "desktop_app.cli.main", "autostart", *args],
                              env=env, capture_output=True, text=True, timeout=120)

    res = cli("enable", "--home", str(tmp_path / "h"), "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["enabled"] is True
    unit = tmp_path / ".config" / "systemd" / "user" / files.UNIT_NAME
    assert f"--home {tmp_path / 'h'}" in unit.read_text()
    assert cli("status").stdout.startswith("enabled: starts at login (systemd)")
    assert cli("disable").stdout.startswith("disabled:") and not unit.exists()
