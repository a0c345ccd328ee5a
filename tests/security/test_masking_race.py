"""Masking cannot lose the race (issue 16, hole 5).

200 jobs — Python with the `wmill` SDK, TypeScript with `windmill-client` — each read a
secret through the API and print it on the very next line (as is, inside JSON, and in
base64), then exit at once, while other jobs keep the workers busy. No log may hold a
secret in clear: the whole `job_logs` table is searched, not only these jobs' logs.

Sized for the suite: 100 + 100 jobs and 40 load jobs on 3 workers.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.e2e.daemon_harness import RunningDaemon, free_port

SECRETS = 8
PER_LANGUAGE = 100
LOAD_JOBS = 40

PYTHON_READER = textwrap.dedent('''
    import base64
    import json

    import wmill

    def main(n: int):
        key = wmill.get_variable(f"u/admin/k{n}")
        print(key)
        print(json.dumps({"key": key}))
        print("b64:" + base64.b64encode(key.encode()).decode())
''')

TS_READER = textwrap.dedent('''
    import * as wmill from "npm:windmill-client@1";

    export async function main(n: number) {
      const key = await wmill.getVariable(`u/admin/k${n}`);
      console.log(key);
      console.log(JSON.stringify({ key }));
    }
''')

LOAD = 'for i in $(seq 1 3000); do echo "load line $i"; done\n'


@pytest.fixture
def busy_daemon(database_url: str, tmp_path: Path, shared_cache: Path
                ) -> Iterator[RunningDaemon]:
    home = tmp_path / "home"
    home.mkdir()
    for name in ("cache", "envs"):
        (shared_cache / name).mkdir(parents=True, exist_ok=True)
        (home / name).symlink_to(shared_cache / name)
    d = RunningDaemon(home=home, port=free_port(), database_url=database_url, workers=3)
    d.start()
    try:
        yield d
    finally:
        d.stop()


def _forms(secret: str) -> list[str]:
    return [secret, json.dumps(secret)[1:-1], base64.b64encode(secret.encode()).decode()]


def test_no_secret_read_and_printed_at_once_reaches_a_log(busy_daemon: RunningDaemon,
                                                          database_url: str) -> None:
    d = busy_daemon
    # Quotes, a backslash and non-ASCII: the JSON form differs from the value.
    secrets = [f'sk-{uuid.uuid4().hex[:16]}"\\é{n}' for n in range(SECRETS)]
    for n, secret in enumerate(secrets):
        r = d.api("POST", "variables/create",
                  json={"path": f"u/admin/k{n}", "value": secret, "is_secret": True})
        assert r.status_code == 201, r.text
    d.deploy("f/mask/py", PYTHON_READER)
    d.deploy("f/mask/ts", TS_READER, "deno")
    d.deploy("f/mask/load", LOAD, "bash")
    # Warm the caches (venv with wmill, npm package) so the burst measures masking only.
    assert d.run_wait("f/mask/py", {"n": 0})[0] == "success"
    assert d.run_wait("f/mask/ts", {"n": 0})[0] == "success"

    started = time.monotonic()
    readers: list[str] = []
    with d.http() as c:
        for i in range(PER_LANGUAGE):
            for path in ("f/mask/py", "f/mask/ts"):
                r = c.post(f"/api/w/main/jobs/run/p/{path}", json={"n": i % SECRETS})
                assert r.status_code == 201, r.text
                readers.append(r.text.strip('"'))
            if i % 5 < 2:  # 40 load jobs among the readers
                assert c.post("/api/w/main/jobs/run/p/f/mask/load", json={}).status_code == 201

    with psycopg.connect(database_url, autocommit=True) as conn:
        deadline = time.monotonic() + 400
        while True:
            rows = conn.execute("SELECT id::text, status FROM job_completed WHERE id = ANY(%s::uuid[])",
                                (readers,)).fetchall()
            if len(rows) == len(readers) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert len(rows) == len(readers), f"{len(rows)} of {len(readers)} jobs completed"
        failed = [job for job, status in rows if status != "success"]
        assert not failed, f"{len(failed)} reader jobs failed, e.g. {failed[0]}"
        logs = conn.execute("SELECT job_id::text, chunk FROM job_logs").fetchall()
    elapsed = time.monotonic() - started

    by_job: dict[str, str] = {}
    for job, chunk in logs:
        by_job[job] = by_job.get(job, "") + chunk
    leaks = [(job, form) for job, text in by_job.items()
             for secret in secrets for form in _forms(secret) if form in text]
    assert not leaks, f"{len(leaks)} clear-text occurrences, e.g. in job {leaks[0][0]}"
    masked = [job for job in readers if by_job.get(job, "").count("*****") >= 2]
    assert len(masked) == len(readers), "every reader's log shows its masked lines"
    print(f"\n{len(readers)} readers + {LOAD_JOBS} load jobs on 3 workers in {elapsed:.1f} s")


def test_stores_opened_at_once_all_work(secret_service: object, tmp_path: Path) -> None:
    """The daemon and each worker open (and probe) the keyring on their first secret; with
    one shared probe entry one's delete met another's, and that worker could not read back
    the secret its job printed (the masking failures seen on main)."""
    script = ("import sys\nfrom pathlib import Path\n"
              "from desktop_app.secrets.store import open_secret_store\n"
              "for _ in range(5):\n    open_secret_store(Path(sys.argv[1]), 'probes')\n")
    root = Path(__file__).resolve().parents[2]
    procs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], cwd=root,
                              stderr=subprocess.PIPE, text=True) for _ in range(6)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), next(e for e in errors if e)
