"""Render the first-run window to docs/screenshots/first-run-{light,dark}.png (by hand:
`QT_QPA_PLATFORM=offscreen python tests/gui/make_first_run_screenshots.py`). Light: a
machine with a keyring, part-way through the set-up; dark: no keyring, so the encrypted
file with its passphrase."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from PySide6.QtWidgets import QApplication  # noqa: E402

from desktop_app.gui.first_run import FirstRunWindow  # noqa: E402
from desktop_app.gui.theme import apply_theme  # noqa: E402

HOME = Path("/home/ada/.local/share/tidemill")


def main() -> None:
    app = QApplication.instance() or QApplication([])
    out = ROOT / "docs" / "screenshots"
    for theme, keyring in (("light", (True, "Secrets go to your OS keyring: Secret Service "
                                            "(GNOME Keyring).")),
                           ("dark", (False, "No OS keyring answers here (no Secret Service on "
                                            "the session bus)."))):
        apply_theme(app, theme)  # type: ignore[arg-type]
        w = FirstRunWindow(HOME, keyring=keyring)
        w.remote.setText("git@github.com:acme/automations.git" if theme == "light" else "")
        if theme == "light":
            w.show_step(2, "Adding the sample workspace and installing its dependencies (uv)…")
            w.start_button.setEnabled(False)
        else:
            w.passphrase.setText("correct horse")
            w.passphrase_again.setText("correct hose")
            w.choices()  # shows the message about differing passphrases
        w.resize(680, w.sizeHint().height())
        w.show()
        app.processEvents()
        w.grab().save(str(out / f"first-run-{theme}.png"))
        w.close()
        print(out / f"first-run-{theme}.png")


if __name__ == "__main__":
    main()
