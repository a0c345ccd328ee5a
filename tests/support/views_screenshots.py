"""Screenshots of the desktop app's views (home, runs, job, resources, schedules,
triggers, settings) in light and dark at 1280x800, against a real daemon seeded with a
small, realistic workspace. Writes docs/screenshots/<view>-<theme>.png. Run by hand:

    python tests/support/views_screenshots.py [--out docs/screenshots] [--views triggers,job]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.e2e.daemon_harness import RunningDaemon, free_port  # noqa: E402
from tests.support.keyring_session import secret_service_session  # noqa: E402

SALES = '''import random
import time


def main(region: str = "eu", days: int = 7, fail: bool = False):
    """Sum the orders of the last days for a region."""
    print(f"loading {days} days of sales for {region}")
    total = 0
    for d in range(days):
        n = random.randint(100, 999)
        total += n
        print(f"day {d}: {n} orders")
        time.sleep(0.08 * random.random())
    if fail:
        raise RuntimeError("warehouse connection refused (f/db/warehouse)")
    return {"region": region, "days": days, "orders": total}
'''
DIGEST = 'def main(to: str, include_charts: bool = True):\n    return f"sent to {to}"\n'
HELLO = 'name="${1:-world}"\necho "hello $name"\n'
TS = 'export async function main(userId: number, dryRun = false) {\n  return { userId, dryRun };\n}\n'
SQL = '-- $1 limit\nSELECT name, sum(amount) FROM orders GROUP BY name ORDER BY 2 DESC LIMIT $1::int;\n'
FLOW = {"summary": "Nightly ETL: extract, transform, load", "value": {"modules": [
    {"id": "a", "value": {"type": "rawscript", "language": "python3",
                          "content": "def main():\n    return 1\n",
                          "input_transforms": {}}}]}, "schema": {}}


def seed(d: RunningDaemon) -> str:
    d.deploy("f/reports/daily_sales", SALES, summary="Daily sales per region")
    d.deploy("f/reports/weekly_digest", DIGEST, summary="Weekly digest e-mail")
    d.deploy("u/admin/hello", HELLO, language="bash", summary="Say hello")
    d.deploy("f/etl/sync_users", TS, language="deno", summary="Sync users from the CRM")
    d.deploy("f/db/top_customers", SQL, language="postgresql", summary="Top customers")
    r = d.api("POST", "flows/create", json={**FLOW, "path": "f/etl/nightly_pipeline"})
    assert r.status_code == 201, r.text
    for body in ({"path": "f/db/warehouse", "resource_type": "postgresql",
                  "description": "The sales warehouse",
                  "value": {"host": "warehouse.internal", "port": 5432, "user": "reports",
                            "dbname": "sales", "sslmode": "require", "password": "pw-123"}},
                 {"path": "f/slack/alerts", "resource_type": "slack",
                  "description": "Alerts channel bot", "value": {"token": "xoxb-demo"}}):
        r = d.api("POST", "resources/create", json=body)
        assert r.status_code == 201, r.text
    for body in ({"path": "f/cfg/api_url", "value": "https://api.example.org",
                  "description": "CRM endpoint"},
                 {"path": "f/cfg/api_token", "value": "tok-secret", "is_secret": True,
                  "description": "CRM token"}):
        assert d.api("POST", "variables/create", json=body).status_code == 201
    for body in ({"path": "f/reports/daily_sales_9am", "schedule": "0 0 9 * * 1-5",
                  "timezone": "Europe/Paris", "script_path": "f/reports/daily_sales",
                  "args": {"region": "eu"}, "enabled": True},
                 {"path": "f/etl/nightly", "schedule": "0 30 2 * * *", "timezone": "UTC",
                  "script_path": "f/etl/nightly_pipeline", "is_flow": True, "enabled": False},
                 {"path": "f/reports/digest_monday", "schedule": "0 0 8 * * 1",
                  "timezone": "America/New_York", "script_path": "f/reports/weekly_digest",
                  "args": {"to": "team@example.org"}, "enabled": True}):
        r = d.api("POST", "schedules/create", json=body)
        assert r.status_code == 201, r.text
    dead = free_port()  # nothing listens there: the feed shows its reconnecting error
    for kind, body in (
            ("websocket", {"path": "f/feeds/orders", "script_path": "f/reports/daily_sales",
                           "url": f"ws://127.0.0.1:{dead}/orders",
                           "filters": [{"key": "type", "value": "order"}],
                           "initial_messages": [{"raw_message": "subscribe orders"}]}),
            ("mqtt", {"path": "f/feeds/plant_sensors", "script_path": "f/reports/daily_sales",
                      "broker_url": f"mqtt://127.0.0.1:{dead}", "enabled": False,
                      "subscribe_topics": [{"topic": "plant/+/temp", "qos": "qos1"}]}),
            ("email", {"path": "f/reports/inbox", "script_path": "f/reports/weekly_digest",
                       "local_part": "reports"}),
            ("http", {"path": "f/reports/webhook", "route_path": "reports/run",
                      "script_path": "f/reports/daily_sales"})):
        r = d.api("POST", f"{kind}_triggers/create", json=body)
        assert r.status_code == 201, r.text
    for i in range(14):
        d.run_wait("f/reports/daily_sales", {"region": ["eu", "us", "apac"][i % 3],
                                              "days": 3 + i % 9, "fail": i in (4, 11)})
    d.run_wait("u/admin/hello", {})
    d.run_wait("f/reports/daily_sales", {"region": "eu", "days": 12})
    return d.api("GET", "jobs/list", params={"script_path_exact": "f/reports/daily_sales",
                                             "per_page": 1}).json()[0]["id"]


def shoot(d: RunningDaemon, out: Path, job_id: str | None,
          only: set[str] | None = None) -> list[Path]:
    """Every view (or `only` these) in both themes; with no job yet, the empty states
    (light only)."""
    env = {**d.env(), "TIDEMILL_TOKEN": d.token, "QT_QPA_PLATFORM": "offscreen",
           "PYTHONPATH": str(ROOT), "TZ": "Europe/Paris"}
    views: list[tuple[str, str | None]] = [
        ("home", None), ("runs", None), ("job", job_id), ("resources", "f/db/warehouse"),
        ("schedules", "f/reports/daily_sales_9am"), ("triggers", "websocket/f/feeds/orders"),
        ("settings", None)]
    themes = ("light", "dark")
    suffix = ""
    if job_id is None:
        views, themes, suffix = [("home", None), ("runs", None), ("resources", None),
                                 ("schedules", None)], ("light",), "-empty"
    written = []
    views = [(v, p) for v, p in views if only is None or v in only]
    for theme in themes:
        for view, path in views:
            png = out / f"{view}{suffix}-{theme}.png"
            cmd = [sys.executable, "-m", "desktop_app.cli.main", "gui", "--screenshot", str(png),
                   "--view", view, "--theme", theme]
            if path:
                cmd += ["--path", path]
            subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=120)
            written.append(png)
    return written


def palette_png(src: Path, dst: Path) -> None:
    """Save `src` as an 8-bit palette PNG (about a third of the size): the most frequent
    colours first, skipping near-duplicates so that rare hues (red failures) keep theirs."""
    import numpy as np
    from PySide6.QtGui import QImage

    img = QImage(str(src)).convertToFormat(QImage.Format.Format_RGB32)
    w, h = img.width(), img.height()
    raw = np.frombuffer(img.constBits(), dtype=np.uint8).reshape(h, img.bytesPerLine())
    px = raw[:, :w * 4].reshape(h, w, 4)[:, :, :3].reshape(-1, 3).astype(np.int32)  # BGR
    keys = (px[:, 0] << 16) | (px[:, 1] << 8) | px[:, 2]
    uniq, counts = np.unique(keys, return_counts=True)
    order = uniq[np.argsort(-counts)]
    cand = np.stack([(order >> 16) & 255, (order >> 8) & 255, order & 255], axis=1)
    chosen = [cand[0]]
    for c in cand[1:]:
        if len(chosen) == 256:
            break
        if ((np.array(chosen) - c) ** 2).sum(axis=1).min() > 300:
            chosen.append(c)
    pal = np.array(chosen)
    ucol = np.stack([(uniq >> 16) & 255, (uniq >> 8) & 255, uniq & 255], axis=1)
    nearest = np.empty(len(uniq), dtype=np.uint8)
    for i in range(0, len(uniq), 4096):
        d = ((ucol[i:i + 4096, None, :] - pal[None, :, :]) ** 2).sum(axis=2)
        nearest[i:i + 4096] = d.argmin(axis=1)
    out = QImage(w, h, QImage.Format.Format_Indexed8)
    out.setColorTable([0xFF000000 | (int(c[2]) << 16) | (int(c[1]) << 8) | int(c[0])
                       for c in pal])
    stride = out.bytesPerLine()
    buf = np.zeros((h, stride), dtype=np.uint8)
    buf[:, :w] = nearest[np.searchsorted(uniq, keys)].reshape(h, w)
    np.frombuffer(out.bits(), dtype=np.uint8, count=h * stride)[:] = buf.reshape(-1)
    if not out.save(str(dst)):
        raise OSError(f"could not write {dst}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    ap.add_argument("--views", help="only these views, comma-separated (e.g. triggers,job)")
    a = ap.parse_args()
    only = set(a.views.split(",")) if a.views else None
    a.out.mkdir(parents=True, exist_ok=True)
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    with tempfile.TemporaryDirectory() as tmp, secret_service_session(Path(tmp) / "ss"):
        raw = Path(tmp) / "raw"
        raw.mkdir()
        d = RunningDaemon(home=Path(tmp) / "home", port=free_port(), database_url=None)
        d.start(timeout=120)
        try:
            shots = shoot(d, raw, None, only)
            shots += shoot(d, raw, seed(d), only)
        finally:
            d.stop()
        from PySide6.QtGui import QGuiApplication

        _app = QGuiApplication.instance() or QGuiApplication([])
        for png in shots:
            palette_png(png, a.out / png.name)
            print(a.out / png.name)


if __name__ == "__main__":
    main()
