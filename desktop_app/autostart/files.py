"""The login entries, as text: pure functions of the command line, the home and the log
folder, so each can be checked structurally on any OS (the plist parses with plistlib,
the unit passes `systemd-analyze --user verify`).

- Linux: a systemd user unit for the daemon (`default.target`, restarted on failure) and
  an XDG autostart entry for the tray (it needs the graphical session, which a user unit
  does not reliably have: not every desktop reaches `graphical-session.target`).
- macOS: two LaunchAgents (the Aqua session has the display), the daemon kept alive.
- Windows: one `.cmd` in the Startup folder that starts both, without a console window
  staying open.
"""

from __future__ import annotations

import plistlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

LABEL = "com.tidemill"
UNIT_NAME = "tidemill.service"


def tidemill_command() -> list[str]:
    """How to run `tidemill` from a login entry: the bundle's own executable, else this
    interpreter with the CLI module (an absolute path: login sessions have a minimal PATH)."""
    if getattr(sys, "frozen", False):
        return [str(Path(sys.executable).resolve())]
    return [str(Path(sys.executable).absolute()), "-m", "desktop_app.cli.main"]


def _systemd_quote(arg: str) -> str:
    # systemd splits ExecStart like a shell but expands % specifiers and $VARS itself.
    escaped = arg.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%").replace("$", "$$")
    return f'"{escaped}"' if any(c in arg for c in " \t'\"\\") or not arg else escaped


def systemd_unit(command: Sequence[str], home: Path) -> str:
    exec_start = " ".join(_systemd_quote(a) for a in [*command, "daemon", "--home", str(home)])
    return (
        "[Unit]\n"
        "Description=Tidemill daemon (API, workers, schedules, triggers)\n"
        "After=network-online.target\n"
        "\n"
        "[Service]\n"
        "Type=simple\n"
        f"ExecStart={exec_start}\n"
        # SIGTERM drains the workers (up to 30 s) before the daemon exits.
        "KillMode=mixed\n"
        "TimeoutStopSec=45\n"
        "Restart=on-failure\n"
        "RestartSec=5\n"
        "\n"
        "[Install]\n"
        "WantedBy=default.target\n"
    )


def _desktop_exec(arg: str) -> str:
    # The Desktop Entry spec's Exec quoting: reserved characters need double quotes, and
    # inside them ", `, $ and \ are escaped with a backslash; a literal % is %%.
    arg = arg.replace("%", "%%")
    if not any(c in arg for c in ' \t\n"\'\\><~|&;$*?#()`'):
        return arg
    return '"' + "".join("\\" + c if c in '"`$\\' else c for c in arg) + '"'


def xdg_tray_entry(command: Sequence[str], home: Path) -> str:
    exec_line = " ".join(_desktop_exec(a) for a in [*command, "tray", "--home", str(home)])
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Name=Tidemill tray\n"
        "Comment=Tidemill's status icon: running jobs, failures, pause and quit\n"
        f"Exec={exec_line}\n"
        "Icon=tidemill\n"
        "Terminal=false\n"
        "NoDisplay=true\n"
        "X-GNOME-Autostart-enabled=true\n"
    )


def launchd_plists(command: Sequence[str], home: Path, logs: Path) -> dict[str, bytes]:
    """`{label: plist bytes}` for the daemon and the tray agents."""
    agents: dict[str, dict[str, Any]] = {
        f"{LABEL}.daemon": {
            "ProgramArguments": [*command, "daemon", "--home", str(home)],
            # Restart after a crash, not after a clean stop (`tidemill daemon stop`).
            "KeepAlive": {"SuccessfulExit": False},
            "StandardOutPath": str(logs / "daemon-launchd.log"),
        },
        f"{LABEL}.tray": {
            "ProgramArguments": [*command, "tray", "--home", str(home)],
            "StandardOutPath": str(logs / "tray.log"),
        },
    }
    out = {}
    for label, extra in agents.items():
        plist = {"Label": label, "RunAtLoad": True, "ProcessType": "Interactive",
                 "StandardErrorPath": extra["StandardOutPath"], **extra}
        out[label] = plistlib.dumps(plist, fmt=plistlib.FMT_XML, sort_keys=True)
    return out


def _cmd_quote(arg: str) -> str:
    # cmd.exe: double quotes around each argument; a literal % must be doubled in a batch file.
    return '"' + arg.replace('"', '""').replace("%", "%%") + '"'


def windows_startup_cmd(command: Sequence[str], home: Path) -> str:
    """A batch file for the Startup folder. `start "" /B` returns at once; pythonw (no
    console) runs both when Tidemill is a pip install."""
    cmd = list(command)
    exe = Path(cmd[0])
    if exe.name.lower() == "python.exe" and (exe.with_name("pythonw.exe")).exists():
        cmd[0] = str(exe.with_name("pythonw.exe"))
    line = " ".join(_cmd_quote(a) for a in cmd)
    h = _cmd_quote(str(home))
    return ("@echo off\r\n"
            "rem Tidemill at login: the daemon, then its tray icon (tidemill autostart disable removes this)\r\n"
            f'start "" /B {line} daemon start --home {h}\r\n'
            f'start "" /B {line} tray --home {h}\r\n')
