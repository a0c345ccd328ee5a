"""The daemon as a user meets it: `tidemill daemon start|status|stop` on the embedded
database (as root here), restarts that keep data, extra workers from `tidemill worker`,
and Python venvs built once for many simultaneous jobs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.daemon_harness import RunningDaemon, free_port


def _tidemill(home: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TIDEMILL_HOME": str(home), "PYTHONWARNINGS": "ignore"}
    for var in ("TIDEMILL_URL", "TIDEMILL_TOKEN", "TIDEMILL_DATABASE_URL"):
        env.pop(var, None)
    return subprocess.run([sys.executable, "-m", "desktop_app.cli.main", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.timeout(300)
def test_daemon_start_on_embedded_database_run_stop_restart(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)  # like root's home: the database user cannot enter it
    home = private / "tidemill"
    port = str(free_port())
    before = {p: p.stat().st_mode for p in [tmp_path, private, *tmp_path.parents]}
    try:
        res = _tidemill(home, "daemon", "start", "--port", port, "--workers", "1")
        assert res.returncode == 0, res.stdout + res.stderr
        assert f"127.0.0.1:{port}" in res.stdout
        status = _tidemill(home, "daemon", "status")
        assert status.returncode == 0 and "embedded database" in status.stdout
        script = tmp_path / "hi.sh"
        script.write_text('who="${1:-world}"\necho "hi $who"\n')
        assert _tidemill(home, "deploy", str(script), "--path", "f/life/hi").returncode == 0
        run = _tidemill(home, "run", "f/life/hi", "-a", "who=root")
        assert run.returncode == 0 and json.loads(run.stdout) == "hi root", run.stderr
        again = _tidemill(home, "daemon", "start", "--port", port)
        assert again.returncode == 0 and "already running" in again.stdout
        stop = _tidemill(home, "daemon", "stop")
        assert stop.returncode == 0 and "stopped" in stop.stdout
        assert _tidemill(home, "daemon", "status").returncode == 1
        # restart: same data (the deployed script is still there)
        assert _tidemill(home, "daemon", "start", "--port", port).returncode == 0
        run = _tidemill(home, "run", "f/life/hi")
        assert json.loads(run.stdout) == "hi world"
    finally:
        _tidemill(home, "daemon", "stop")
        location = home / "postgres" / "LOCATION"
        if location.exists():
            shutil.rmtree(Path(location.read_text().strip()), ignore_errors=True)
    # nothing outside what Tidemill created was opened up
    assert {p: p.stat().st_mode for p in before} == before
    assert (home.stat().st_mode & 0o077) == 0 and (home / "admin.token").stat().st_mode & 0o077 == 0


def test_cli_without_daemon_says_how_to_start_it(tmp_path: Path) -> None:
    env_home = tmp_path / "nohome"
    res = subprocess.run([sys.executable, "-m", "desktop_app.cli.main", "jobs"],
                         env={**os.environ, "TIDEMILL_HOME": str(env_home),
                              "TIDEMILL_URL": f"http://127.0.0.1:{free_port()}"},
                         capture_output=True, text=True)
    assert res.returncode == 3
    assert "cannot reach the Tidemill daemon" in res.stderr and "tidemill daemon start" in res.stderr


def test_extra_worker_from_another_machine(database_url: str, tmp_path: Path,
                                           shared_cache: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    d = RunningDaemon(home=home, port=free_port(), database_url=database_url, workers=0).start()
    remote_home = tmp_path / "remote"
    remote_home.mkdir()
    for sub in ("cache", "envs"):
        (shared_cache / sub).mkdir(exist_ok=True)
        (remote_home / sub).symlink_to(shared_cache / sub)
    log = open(tmp_path / "remote-worker.log", "wb")
    worker = subprocess.Popen(
        [sys.executable, "-m", "desktop_app.cli.main", "worker", "--database-url", database_url,
         "--home", str(remote_home), "--name", "remote-1"],
        stdout=log, stderr=subprocess.STDOUT)
    log.close()
    try:
        d.deploy("f/remote/where", "import os\n\ndef main():\n    return os.environ['WM_WORKER']\n")
        job_id = d.api("POST", "jobs/run/p/f/remote/where", json={}).text
        job = d.wait_job(job_id, timeout=60)
        assert job["result"] == "remote-1" and job["worker"] == "remote-1", \
            (tmp_path / "remote-worker.log").read_text()
    finally:
        worker.terminate()
        worker.wait(30)
        d.stop()


@pytest.mark.timeout(300)
def test_a_worker_on_the_daemons_home_keeps_its_job_through_a_daemon_restart(
        database_url: str, tmp_path: Path, shared_cache: Path) -> None:
    """`tidemill worker` started by hand on the daemon's own home: a daemon that restarts
    while it runs a job clears only what its own dead workers left, not that job's folder."""
    home = tmp_path / "home"
    home.mkdir()
    for sub in ("cache", "envs"):
        (shared_cache / sub).mkdir(exist_ok=True)
        (home / sub).symlink_to(shared_cache / sub)
    d = RunningDaemon(home=home, port=free_port(), database_url=database_url, workers=0).start()
    log = open(tmp_path / "extra-worker.log", "wb")
    worker = subprocess.Popen(
        [sys.executable, "-m", "desktop_app.cli.main", "worker", "--database-url", database_url,
         "--home", str(home), "--name", "extra-1", "--base-url", d.url],
        stdout=log, stderr=subprocess.STDOUT)
    log.close()
    try:
        d.deploy("f/extra/slow", "import pathlib, time\n\ndef main():\n"
                 "    pathlib.Path('mark').write_text('kept')\n"
                 "    pathlib.Path('started').write_text('')\n"
                 "    time.sleep(8)\n"
                 "    return pathlib.Path('mark').read_text()\n")
        job_id = d.api("POST", "jobs/run/p/f/extra/slow", json={}).text
        deadline = time.monotonic() + 120
        while not list((home / "jobs").rglob("started")):  # the job is at work
            assert time.monotonic() < deadline, (tmp_path / "extra-worker.log").read_text()
            time.sleep(0.1)
        d.stop()
        d.port = free_port()
        d.start()
        job = d.wait_job(job_id, timeout=60)
        assert (job["success"], job["result"], job["worker"]) == (True, "kept", "extra-1"), \
            (job, (tmp_path / "extra-worker.log").read_text())
    finally:
        worker.terminate()
        worker.wait(30)
        d.stop()


@pytest.mark.timeout(300)
def test_twenty_simultaneous_runs_build_the_venv_once(database_url: str, tmp_path: Path,
                                                      shared_cache: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (shared_cache / "cache").mkdir(exist_ok=True)
    (home / "cache").symlink_to(shared_cache / "cache")  # uv's download cache is shared...
    d = RunningDaemon(home=home, port=free_port(), database_url=database_url, workers=4).start()
    try:  # ...but the venvs are this home's own, so this requirement is new here
        d.deploy("f/venv/ini", "import iniconfig\n\ndef main(i: int):\n"
                               "    return [i, iniconfig.__name__]\n")
        with httpx.Client(base_url=d.url, headers={"Authorization": f"Bearer {d.token}"}) as c:
            ids = [c.post("/api/w/main/jobs/run/p/f/venv/ini", json={"i": i}).text
                   for i in range(20)]
        results = [d.wait_job(j, timeout=120)["result"] for j in ids]
        assert results == [[i, "iniconfig"] for i in range(20)]
        envs = [p for p in (home / "envs").iterdir() if not p.name.startswith(".")]
        assert len(envs) == 1
        built = sum(p.read_text().count("built Python env") for p in (home / "logs").glob("worker-*.log"))
        assert built == 1
    finally:
        d.stop()


def test_admin_token_file_is_private_and_works(daemon: RunningDaemon) -> None:
    token_file = daemon.home / "admin.token"
    assert token_file.stat().st_mode & 0o077 == 0
    r = httpx.get(f"{daemon.url}/api/users/whoami",
                  headers={"Authorization": f"Bearer {token_file.read_text().strip()}"})
    assert r.status_code == 200 and r.json()["is_admin"] is True


def test_job_that_cannot_start_fails_and_the_worker_lives_on(database_url: str,
                                                             tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "envs").symlink_to(tmp_path / "missing")  # venvs cannot be created
    d = RunningDaemon(home=home, port=free_port(), database_url=database_url, workers=1).start()
    try:
        d.deploy("f/broken/py", "def main():\n    return 1\n")
        status, result = d.run_wait("f/broken/py")
        assert status == "failure" and "preparing the job failed" in result["error"]["message"]
        d.deploy("f/broken/sh", "echo still-alive\n", "bash")
        assert d.run_wait("f/broken/sh") == ("success", "still-alive")
    finally:
        d.stop()
