"""A developer with no grants tries, from a job, to become admin (issue 16, hole 3).

`u/dev1/steal` tries to read `$TIDEMILL_HOME/admin.token`, to talk to the embedded
database as `postgres` without a password (and read `settings.job_token_key`), to list and
read another job's folder, and to leave a double-forked `setsid` child running after its
job ends. Each attempt must fail. A job that allocates 3 GB fails with a clear
memory-limit error.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from desktop_app.runtimes import sandbox
from tests.e2e.daemon_harness import RunningDaemon

pytestmark = pytest.mark.skipif(not sandbox.status().enabled, reason=sandbox.status().detail)

STEAL = r'''
import os
import socket
import struct
import time


def _attempt(fn):
    try:
        return "GOT: " + str(fn())
    except Exception as exc:
        return f"refused: {type(exc).__name__}: {exc}"


def _postgres(socket_path):
    """Speak PostgreSQL's protocol: log in as postgres, read the job token key."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(socket_path)
    body = struct.pack("!i", 196608) + b"user\0postgres\0database\0tidemill\0\0"
    s.sendall(struct.pack("!i", len(body) + 4) + body)
    kind, length = s.recv(1), struct.unpack("!i", s.recv(4))[0]
    payload = s.recv(length - 4)
    if kind != b"R" or struct.unpack("!i", payload[:4])[0] != 0:
        raise PermissionError(f"server asked for authentication ({kind!r}, {payload[:4]!r})")
    query = b"SELECT value FROM settings WHERE key = 'job_token_key'\0"
    s.sendall(b"Q" + struct.pack("!i", len(query) + 4) + query)
    time.sleep(0.5)
    return s.recv(65536)


def _linger(port):
    # Double fork + setsid: the grandchild is in no process group of the job's.
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            for _ in range(600):
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1) as c:
                        c.sendall(b"alive\n")
                except OSError:
                    pass
                time.sleep(0.2)
            os._exit(0)
        os._exit(0)
    os.wait()


def main(home: str, socket_path: str, other_job: str, port: int):
    out = {
        "admin_token": _attempt(lambda: open(os.path.join(home, "admin.token")).read()),
        "database": _attempt(lambda: _postgres(socket_path)),
        "other_job": _attempt(lambda: open(os.path.join(home, "jobs", other_job, "main.py")).read()),
    }
    for name, folder in (("home_listing", home), ("jobs_listing", os.path.join(home, "jobs"))):
        try:
            out[name] = os.listdir(folder)
        except OSError:
            out[name] = []
    _linger(port)
    return out
'''

SLEEPER = "import time\n\ndef main():\n    time.sleep(20)\n    return 'slept'\n"
HOG = "def main():\n    block = bytearray(3 * 1024 ** 3)\n    return len(block)\n"


@pytest.fixture
def listener() -> Iterator[tuple[int, list[float]]]:
    """A TCP port on which each connection's arrival time is recorded."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    server.settimeout(0.2)
    arrivals: list[float] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            arrivals.append(time.monotonic())
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], arrivals
    stop.set()
    thread.join()
    server.close()


def _developer(daemon: RunningDaemon, name: str) -> httpx.Client:
    r = daemon.api("POST", "users/add", json={"username": name, "role": "developer"})
    assert r.status_code == 201, r.text
    with daemon.http() as c:
        token = c.post("/api/users/tokens/create", json={"username": name, "label": name})
    assert token.status_code == 201, token.text
    return httpx.Client(base_url=f"{daemon.url}/api/w/main/", timeout=120,
                        headers={"Authorization": f"Bearer {token.text}"})


def _database_socket(daemon: RunningDaemon) -> str:
    from urllib.parse import parse_qs, urlsplit

    query = parse_qs(urlsplit(daemon.database_url or "").query)
    return f"{query['host'][0]}/.s.PGSQL.{query.get('port', ['5432'])[0]}"


def test_a_developers_job_cannot_reach_the_daemons_secrets_or_outlive_itself(
        daemon: RunningDaemon, listener: tuple[int, list[float]]) -> None:
    port, arrivals = listener
    dev = _developer(daemon, "dev1")
    # Someone else's job, running while the thief runs (the daemon has two workers).
    daemon.deploy("f/other/sleeper", SLEEPER)
    other = daemon.api("POST", "jobs/run/p/f/other/sleeper", json={}).text.strip('"')
    r = dev.post("scripts/create", json={"path": "u/dev1/steal", "content": STEAL,
                                         "language": "python3"})
    assert r.status_code == 201, r.text
    r = dev.post("jobs/run_wait_result/p/u/dev1/steal", json={
        "home": str(daemon.home), "socket_path": _database_socket(daemon),
        "other_job": other, "port": port})
    ended = time.monotonic()
    assert r.status_code == 200, r.text
    assert r.headers["x-tidemill-job-status"] == "success", r.text
    found: dict[str, Any] = r.json()
    # The sandbox shows the folders it binds (the job's own, the venv) as empty skeletons:
    # in jobs/, only the thief's own folder (or its zygote's slot) is there.
    assert not {"admin.token", "postgres", "logs", "daemon.json"} & set(found.pop("home_listing"))
    listing = found.pop("jobs_listing")
    assert other not in listing and len(listing) <= 1, listing
    for attempt, outcome in found.items():
        assert outcome.startswith("refused"), f"{attempt}: {outcome}"
    assert daemon.token not in json.dumps(found)

    # Nothing of the job runs once it has ended: no connection after a second.
    time.sleep(2.0)
    late = [t for t in arrivals if t > ended + 1.0]
    assert not late, f"a process of the job still ran {late[-1] - ended:.1f} s after it ended"
    daemon.api("POST", f"jobs_u/queue/cancel/{other}", json={"reason": "test over"})


def test_a_job_over_its_memory_limit_fails_saying_so(daemon: RunningDaemon) -> None:
    daemon.deploy("f/mem/hog", HOG)
    status, result = daemon.run_wait("f/mem/hog")
    assert status == "failure"
    error = result["error"]
    assert error["name"] == "MemoryLimitExceeded", error
    assert "memory limit of 2048 MB" in error["message"] and "--job-memory-mb" in error["message"]
