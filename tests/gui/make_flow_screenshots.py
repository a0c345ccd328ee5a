"""Render the flow designer's screenshots (docs/screenshots/flow-*.png) against a running
daemon: `TIDEMILL_HOME=... python3 tests/gui/make_flow_screenshots.py OUT_DIR`.

Deploys an order pipeline twice (one copy is run until it waits for its approval, so its
nodes show mixed states) and renders: a new empty flow, the 15-step flow, the running one,
each in light and dark.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from desktop_app.client.http import connection_from_env
from tests.gui.flow_samples import order_pipeline


def main(out: Path) -> None:
    conn = connection_from_env()
    api = httpx.Client(base_url=f"{conn.url}/api/w/{conn.workspace}",
                       headers={"Authorization": f"Bearer {conn.token}"}, timeout=60)
    for path in ("f/demo/orders", "f/demo/orders_live"):
        r = api.post("flows/create", json={**order_pipeline(), "path": path})
        assert r.status_code == 201, r.text
    job = api.post("jobs/run/f/f/demo/orders_live", json={"count": 3}).text
    for _ in range(600):
        status = api.get(f"jobs_u/get/{job}", params={"no_logs": "true"}).json()["flow_status"]
        steps = {m["id"]: m["type"] for m in (status or {}).get("modules") or []}
        if steps.get("j") == "WaitingForEvents":
            break
        time.sleep(0.2)
    else:
        raise SystemExit(f"the flow never reached its approval: {status}")
    out.mkdir(parents=True, exist_ok=True)
    for name, path in (("flow-empty", "f/demo/new_flow"), ("flow-15-steps", "f/demo/orders"),
                       ("flow-running", "f/demo/orders_live")):
        for theme in ("light", "dark"):
            target = out / f"{name}-{theme}.png"
            subprocess.run([sys.executable, "-m", "desktop_app.cli.main", "gui", "--screenshot",
                            str(target), "--view", "flow", "--path", path, "--theme", theme],
                           check=True)
            print(target)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"))
