"""The names `tidemill gui --view` takes and the themes, without Qt: the CLI's help lists
these and the desktop app checks against them, so the two never differ."""

from __future__ import annotations

#: The main window's views (script and flow open an editor; job a run).
WINDOW_VIEWS = ("home", "script", "flow", "runs", "job", "resources", "schedules", "triggers",
                "settings")
#: An app's own windows (run mode and the builder).
APP_VIEWS = ("app", "app-builder")
VIEWS = WINDOW_VIEWS + APP_VIEWS
THEMES = ("light", "dark")
