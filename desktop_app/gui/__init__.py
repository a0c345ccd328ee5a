"""The desktop app (the only package that imports Qt)."""

from desktop_app.gui.pyside_compat import pin_none

pin_none()  # before any Qt call: see pyside_compat
