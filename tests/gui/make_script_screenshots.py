"""Render the script view's screenshots (docs/screenshots/script-*.png), light and dark:
a rich signature with its last run's table result, and a script whose last run failed.

    TIDEMILL_SECRETS=encrypted-file TIDEMILL_SECRETS_PASSPHRASE=x \\
        python3 tests/gui/make_script_screenshots.py OUT_DIR

Starts its own daemon (embedded PostgreSQL) in a temporary home; the PNGs are reduced to
a 256-colour palette chosen from a coarse histogram, so small distinct colours (the red
mark of a required field) keep their entry.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.e2e.daemon_harness import RunningDaemon, free_port

RICH = '''from datetime import datetime
from typing import Literal, TypedDict


class postgresql(TypedDict):
    host: str
    port: int


def main(customer: str, orders: int = 3, discount: float = 0.1,
         region: Literal["eu", "us", "apac"] = "eu", express: bool = False,
         since: datetime = datetime(2026, 1, 1), tags: list[str] = ["vip"],
         db: postgresql = None, notes: dict = {}):
    """Summarise a customer's recent orders."""
    print(f"loading {orders} orders for {customer} in {region}")
    rows = []
    for i in range(orders):
        total = round(100 * (i + 1) * (1 - discount), 2)
        print(f"order {i + 1}: {total}")
        rows.append({"order": f"A-{1000 + i}", "customer": customer,
                     "total": total, "express": express, "region": region})
    return rows
'''
BROKEN = ("def helper(x):\n    return 100 / x\n\n\ndef main(x: int = 0):\n"
          "    print('dividing')\n    return helper(x)\n")


def shrink(src: Path, dst: Path) -> None:
    import numpy as np
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage

    img = QImage(str(src)).convertToFormat(QImage.Format.Format_RGB32)
    arr = np.frombuffer(img.constBits(), dtype=np.uint32, count=img.width() * img.height())
    _keys, inverse, counts = np.unique(arr & 0x00F0F0F0, return_inverse=True, return_counts=True)
    table = []
    for k in np.argsort(-counts)[:256]:
        vals, cnt = np.unique(arr[inverse == k], return_counts=True)
        table.append(int(vals[np.argmax(cnt)]) | 0xFF000000)
    small = img.convertToFormat(QImage.Format.Format_Indexed8, table,
                                Qt.ImageConversionFlag.ThresholdDither)
    if not small.save(str(dst)):
        raise OSError(f"could not write {dst}")


def main(out: Path) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        d = RunningDaemon(home=Path(tmp) / "home", port=free_port(), database_url=None)
        d.start(timeout=300)
        try:
            d.deploy("f/sales/order_summary", RICH, summary="Summarise a customer's recent orders")
            r = d.api("POST", "resources/create?update_if_exists=true", json={
                "path": "f/sales/warehouse", "resource_type": "postgresql",
                "value": {"host": "db.local", "port": 5432, "user": "app", "dbname": "shop"}})
            assert r.status_code == 201, r.text
            d.run_wait("f/sales/order_summary", {
                "customer": "Ada Lovelace", "orders": 4, "tags": ["vip", "early"],
                "db": "$res:f/sales/warehouse", "express": True})
            d.deploy("f/sales/broken", BROKEN, summary="Fails on purpose")
            d.run_wait("f/sales/broken", {"x": 0})
            for path, name in (("f/sales/order_summary", "script"), ("f/sales/broken", "script-error")):
                for theme in ("light", "dark"):
                    raw = Path(tmp) / f"{name}-{theme}.png"
                    d.cli("gui", "--screenshot", str(raw), "--view", "script", "--path", path,
                          "--theme", theme, check=True)
                    shrink(raw, out / f"{name}-{theme}.png")
                    print(out / f"{name}-{theme}.png")
        finally:
            d.stop()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/screenshots"))
