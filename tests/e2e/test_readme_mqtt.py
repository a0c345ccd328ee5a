"""The README's MQTT example, run as written by bash against a real daemon and a real
mosquitto broker: the only changes are the ports (the daemon's and the broker's free
ports instead of 8765 and 1883) and `tidemill` being this checkout's CLI."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.daemon_harness import RunningDaemon
from tests.e2e.event_peers import Mosquitto

ROOT = Path(__file__).resolve().parents[2]


def _readme_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


def _block(marker: str) -> str:
    found = [b for b in _readme_blocks() if marker in b]
    assert len(found) == 1, f"the README has {len(found)} sh blocks with {marker!r}"
    return found[0]


@pytest.fixture()
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    b = Mosquitto(tmp_path)
    yield b
    b.stop()


def test_the_readmes_mqtt_example_runs_as_written(daemon: RunningDaemon, broker: Mosquitto,
                                                  tmp_path: Path) -> None:
    token_line = next(line for line in _block("TOKEN=$(cat").splitlines()
                      if line.startswith("TOKEN="))
    example = _block("mqtt_triggers/create")
    ported = (example.replace("127.0.0.1:8765", f"127.0.0.1:{daemon.port}")
              .replace("localhost:1883", f"localhost:{broker.port}")
              .replace("mosquitto_pub -h localhost", f"mosquitto_pub -h localhost -p {broker.port}"))
    assert ported.count(str(broker.port)) == 2 and str(daemon.port) in ported
    cli = f"{shlex.quote(sys.executable)} -m desktop_app.cli.main"
    script = (f'set -euo pipefail\ntidemill() {{ {cli} "$@"; }}\n{token_line}\n{ported}')
    (tmp_path / "example.sh").write_text(script)
    res = subprocess.run(["bash", str(tmp_path / "example.sh")], cwd=tmp_path,
                         env={**daemon.env(), "PYTHONPATH": str(ROOT)},
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, f"{res.stdout}\n{res.stderr}\n{daemon.log()[-3000:]}"

    # The message published in the example ran the script once, with the README's result.
    jobs = daemon.api("GET", "jobs/list", params={"script_path_exact": "f/demo/temps"}).json()
    assert len(jobs) == 1, jobs
    done = daemon.wait_job(jobs[0]["id"], timeout=120)
    assert done["success"] and done["result"] == {"room": "kitchen", "celsius": 21.5}, done
    assert done["trigger_kind"] == "mqtt", done
    # `tidemill jobs --path` listed that run, `trigger list` the trigger, and the last
    # line disabled it.
    assert jobs[0]["id"][:8] in res.stdout, res.stdout
    assert "f/demo/temps" in res.stdout
    trigger = daemon.api("GET", "mqtt_triggers/get/f/demo/temps").json()
    assert trigger["mode"] == "disabled" or trigger.get("enabled") is False, trigger
