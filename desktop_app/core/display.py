"""Is there a screen for the desktop app? Asked before any QApplication exists, because
Qt's answer to a missing display is an abort (exit 134) with a misleading
"Reinstalling the application may fix this"."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

# Qt platforms that draw without a display server: fine on a headless machine.
HEADLESS_PLATFORMS = frozenset({"offscreen", "minimal", "minimalegl", "vnc", "linuxfb",
                                "eglfs", "vkkhrdisplay"})
# The platforms that need a server, and the variable that names it.
_SERVER_OF = {"xcb": "DISPLAY", "wayland": "WAYLAND_DISPLAY", "wayland-egl": "WAYLAND_DISPLAY"}

EXIT_NO_DISPLAY = 2


def missing_display(env: Mapping[str, str] | None = None, platform: str | None = None) -> str | None:
    """None when the GUI can open; otherwise one line saying what is missing and what to
    do instead. Only Linux and the BSDs need a display server; Windows and macOS always
    have a screen session when a user runs a GUI program."""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    if not (platform.startswith("linux") or "bsd" in platform):
        return None
    # QT_QPA_PLATFORM may list fallbacks ("wayland;xcb"): any usable one will do.
    wanted = [p.split(":", 1)[0].strip() for p in env.get("QT_QPA_PLATFORM", "").split(";")]
    wanted = [p for p in wanted if p]
    if any(p in HEADLESS_PLATFORMS for p in wanted):
        return None
    servers = [_SERVER_OF[p] for p in wanted if p in _SERVER_OF] or ["DISPLAY", "WAYLAND_DISPLAY"]
    if any(env.get(var) for var in servers):
        return None
    named = " or ".join(servers)
    return (f"tidemill: no display for the desktop app ({named} is not set). On a headless "
            "machine run `tidemill daemon start` and use the CLI or the API; "
            "QT_QPA_PLATFORM=offscreen renders without a screen.")
