"""The display check lives in core/display.py (the doctor asks it too, below the CLI);
the CLI's commands and tests use it from here."""

from desktop_app.core.display import EXIT_NO_DISPLAY, HEADLESS_PLATFORMS, missing_display

__all__ = ["EXIT_NO_DISPLAY", "HEADLESS_PLATFORMS", "missing_display"]
