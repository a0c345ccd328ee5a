"""Put the login entries in place, take them away, and say what is installed.

Where (`Locations`): Linux `~/.config/systemd/user/tidemill.service`, enabled the way
`systemctl --user enable` does it (a link in `default.target.wants/`, made here so it
works without a running user manager), and `~/.config/autostart/tidemill-tray.desktop`;
macOS `~/Library/LaunchAgents/com.tidemill.{daemon,tray}.plist`; Windows
`%APPDATA%\\Microsoft\\Windows\\Start Menu\\Programs\\Startup\\Tidemill.cmd`.
Entries take effect at the next login; nothing is started now.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from desktop_app.autostart import files


@dataclass(frozen=True)
class Status:
    enabled: bool
    #: every file this platform's autostart consists of, and whether each is there
    entries: dict[str, bool]
    detail: str


@dataclass(frozen=True)
class Locations:
    """Where this platform keeps login entries; `user_home` is the user's home folder."""

    platform: str
    user_home: Path
    env: dict[str, str]

    @classmethod
    def current(cls) -> Locations:
        return cls(sys.platform, Path.home(), dict(os.environ))

    def _config(self) -> Path:
        return Path(self.env.get("XDG_CONFIG_HOME") or self.user_home / ".config")

    @property
    def kind(self) -> str:
        if self.platform == "darwin":
            return "launchd"
        if self.platform == "win32":
            return "startup-folder"
        return "systemd"

    def paths(self) -> dict[str, Path]:
        if self.kind == "launchd":
            agents = self.user_home / "Library" / "LaunchAgents"
            return {f"{label}.plist": agents / f"{label}.plist"
                    for label in (f"{files.LABEL}.daemon", f"{files.LABEL}.tray")}
        if self.kind == "startup-folder":
            appdata = Path(self.env.get("APPDATA") or self.user_home / "AppData" / "Roaming")
            return {"Tidemill.cmd": appdata / "Microsoft" / "Windows" / "Start Menu" / "Programs"
                    / "Startup" / "Tidemill.cmd"}
        user = self._config() / "systemd" / "user"
        return {files.UNIT_NAME: user / files.UNIT_NAME,
                "default.target.wants": user / "default.target.wants" / files.UNIT_NAME,
                "tidemill-tray.desktop": self._config() / "autostart" / "tidemill-tray.desktop"}


def contents(loc: Locations, home: Path, command: Sequence[str]) -> dict[str, bytes]:
    """What `enable` writes, by the names of `loc.paths()` (the wants link is not a file)."""
    if loc.kind == "launchd":
        return {f"{label}.plist": data for label, data in
                files.launchd_plists(command, home, home / "logs").items()}
    if loc.kind == "startup-folder":
        return {"Tidemill.cmd": files.windows_startup_cmd(command, home).encode()}
    return {files.UNIT_NAME: files.systemd_unit(command, home).encode(),
            "tidemill-tray.desktop": files.xdg_tray_entry(command, home).encode()}


def enable(home: Path, loc: Locations | None = None,
           command: Sequence[str] | None = None) -> Status:
    loc = loc or Locations.current()
    paths = loc.paths()
    for name, data in contents(loc, home, command or files.tidemill_command()).items():
        target = paths[name]
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)  # never a half-written entry at login
    if loc.kind == "systemd":
        link = paths["default.target.wants"]
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(Path("..") / files.UNIT_NAME)
        _systemctl_reload()
    return status(loc)


def disable(loc: Locations | None = None) -> Status:
    loc = loc or Locations.current()
    for path in loc.paths().values():
        if path.is_symlink() or path.exists():
            path.unlink()
    if loc.kind == "systemd":
        _systemctl_reload()
    return status(loc)


def status(loc: Locations | None = None) -> Status:
    loc = loc or Locations.current()
    present = {name: path.is_symlink() or path.exists() for name, path in loc.paths().items()}
    enabled = all(present.values())
    where = ", ".join(str(p) for p in loc.paths().values())
    if enabled:
        detail = f"starts at login ({loc.kind}): {where}"
    elif any(present.values()):
        missing = ", ".join(n for n, ok in present.items() if not ok)
        detail = (f"partly installed ({loc.kind}; missing {missing}): run "
                  "`tidemill autostart enable` to repair or `disable` to remove")
    else:
        detail = f"does not start at login ({loc.kind})"
    return Status(enabled, present, detail)


def _systemctl_reload() -> None:
    """Tell a running user manager about the change; without one (a container, root over
    SSH) the files alone take effect at the next login."""
    systemctl = shutil.which("systemctl")
    if systemctl and os.environ.get("XDG_RUNTIME_DIR"):
        subprocess.run([systemctl, "--user", "daemon-reload"], capture_output=True, timeout=30,
                       check=False)
