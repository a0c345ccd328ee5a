"""One daemon per home: the lock (filelock) refuses a second holder, names the first,
and is free again once the holder dies, even killed -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_app.core.errors import DaemonError
from desktop_app.daemon.instance_lock import InstanceLock

ROOT = Path(__file__).resolve().parents[2]
HOLD = """
import sys, time
from pathlib import Path
from desktop_app.daemon.instance_lock import InstanceLock
lock = InstanceLock(Path(sys.argv[1]), Path(sys.argv[2]))
lock.acquire()
print("held", flush=True)
time.sleep(600)
"""


def test_a_second_holder_is_refused_until_the_first_dies(tmp_path: Path) -> None:
    lock, info = tmp_path / "daemon.lock", tmp_path / "daemon.json"
    info.write_text(json.dumps({"pid": 4242, "url": "http://127.0.0.1:8765"}))
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(lock), str(info)],
                              stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(DaemonError) as refused:
            InstanceLock(lock, info).acquire()
        assert "already running" in refused.value.message
        assert "(pid 4242, http://127.0.0.1:8765)" in refused.value.message
        assert refused.value.hint and "tidemill daemon stop" in refused.value.hint
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    again = InstanceLock(lock, info)
    again.acquire()  # the dead holder's lock went with it
    again.release()
    again.acquire()  # and a released lock can be taken again
    again.release()
