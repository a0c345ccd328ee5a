"""Screenshots of apps (the builder and two apps in run mode) in light and dark at
1280x800, against a real daemon with the demo apps of tests/fixtures/apps/demo deployed.
Writes docs/screenshots/app-*.png. Run by hand:

    python tests/support/apps_screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.e2e.daemon_harness import RunningDaemon, free_port  # noqa: E402
from tests.support.keyring_session import secret_service_session  # noqa: E402
from tests.support.views_screenshots import palette_png  # noqa: E402

DEMO = ROOT / "tests" / "fixtures" / "apps" / "demo"
SHOTS = [("app-builder", "app-builder", "f/admin/users"),
         ("app-users-admin", "app", "f/admin/users"),
         ("app-sales-dashboard", "app", "f/sales/dashboard")]


def seed(d: RunningDaemon) -> None:
    d.deploy("f/admin/list_users", (DEMO / "list_users.py").read_text())
    d.deploy("f/admin/add_user", (DEMO / "add_user.py").read_text())
    for folder, path in (("users.app", "f/admin/users"), ("sales.app", "f/sales/dashboard")):
        d.cli("deploy", str(DEMO / folder), "--path", path, check=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    Path(tempfile.gettempdir(), "tidemill-demo-users.json").unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp, secret_service_session(Path(tmp) / "ss"):
        raw = Path(tmp) / "raw"
        raw.mkdir()
        d = RunningDaemon(home=Path(tmp) / "home", port=free_port(), database_url=None)
        d.start(timeout=120)
        shots = []
        try:
            seed(d)
            env = {**d.env(), "TIDEMILL_TOKEN": d.token, "QT_QPA_PLATFORM": "offscreen",
                   "PYTHONPATH": str(ROOT)}
            for theme in ("light", "dark"):
                for name, view, path in SHOTS:
                    png = raw / f"{name}-{theme}.png"
                    subprocess.run([sys.executable, "-m", "desktop_app.cli.main", "gui",
                                    "--screenshot", str(png), "--view", view, "--path", path,
                                    "--theme", theme], env=env, check=True,
                                   capture_output=True, timeout=180)
                    shots.append(png)
        finally:
            d.stop()
        from PySide6.QtGui import QGuiApplication

        _app = QGuiApplication.instance() or QGuiApplication([])
        for png in shots:
            palette_png(png, a.out / png.name)
            print(a.out / png.name)


if __name__ == "__main__":
    main()
