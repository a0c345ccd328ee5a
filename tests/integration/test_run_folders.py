"""The home's `jobs/` folder: a starting daemon clears what dead workers left and nothing
a living worker holds (queue/run_folders.py)."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from desktop_app.core.errors import Conflict
from desktop_app.queue.run_folders import hold_alive, run_folder, sweep


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_sweep_keeps_a_living_workers_folders_and_clears_the_rest(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    # A worker in another process (a `tidemill worker` on this home) holds its marker.
    ready = tmp_path / "ready"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time, pathlib\n"
        "from desktop_app.queue.run_folders import hold_alive\n"
        f"lock = hold_alive(pathlib.Path({str(jobs)!r}), 'host-live1')\n"
        f"pathlib.Path({str(ready)!r}).touch()\n"
        "time.sleep(60)\n")])
    try:
        while not ready.exists():
            assert holder.poll() is None, "the worker stand-in died"
            time.sleep(0.05)
        job = run_folder(jobs, uuid.uuid4(), "host-live1")
        job.mkdir(parents=True)
        (job / "args.json").write_text("{}")
        live = job.parent
        live_slot = jobs / f".zygote-{holder.pid}-7f"
        live_slot.mkdir()
        dead = run_folder(jobs, uuid.uuid4(), "host-dead1").parent  # no marker at all
        (dead / "0190a000-0000-7000-8000-000000000001").mkdir(parents=True)
        crashed = run_folder(jobs, uuid.uuid4(), "host-dead2").parent  # nobody holds its marker
        crashed.mkdir()
        hold_alive(jobs, "host-dead2").release()
        dead_slot = jobs / f".zygote-{_dead_pid()}-1"
        dead_slot.mkdir()

        removed = sweep(jobs)

        assert set(removed) == {dead, crashed, dead_slot, jobs / ".alive-host-dead2"}
        assert (job / "args.json").read_text() == "{}" and live_slot.is_dir()
        assert (jobs / ".alive-host-live1").exists()
    finally:
        holder.kill()
        holder.wait()
    # Once that worker is gone too, nothing of it is left.
    assert set(sweep(jobs)) == {live, live_slot, jobs / ".alive-host-live1"}
    assert list(jobs.iterdir()) == []


def test_a_runs_folder_is_named_by_its_job_under_its_worker(tmp_path: Path) -> None:
    job_id = uuid.UUID(int=1)
    assert run_folder(tmp_path, job_id, "laptop-w0") == tmp_path / "laptop-w0" / str(job_id)
    # a slash in a worker's name stays one folder
    assert run_folder(tmp_path, job_id, "team/laptop").parent == tmp_path / "team_laptop"


def test_a_second_worker_of_the_same_name_is_refused_with_the_reason(tmp_path: Path) -> None:
    first = hold_alive(tmp_path, "laptop-extra")
    try:
        with pytest.raises(Conflict) as refused:
            hold_alive(tmp_path, "laptop-extra")
        assert "a worker named 'laptop-extra' already runs" in refused.value.message
        assert refused.value.hint == "give this one another --name"
    finally:
        first.release()
    hold_alive(tmp_path, "laptop-extra").release()  # free again once the first one is gone


def test_tidemill_worker_says_when_its_name_already_runs_on_the_home(tmp_path: Path) -> None:
    first = hold_alive(tmp_path / "jobs", "laptop-extra")
    try:
        res = subprocess.run(
            [sys.executable, "-m", "desktop_app.cli.main", "worker", "--database-url",
             "postgresql://nobody@/nowhere", "--home", str(tmp_path), "--name", "laptop-extra"],
            capture_output=True, text=True, timeout=60)
    finally:
        first.release()
    assert res.returncode == 2, res.stderr
    assert res.stderr.strip().splitlines() == [
        f"tidemill worker: a worker named 'laptop-extra' already runs on {tmp_path}",
        "  hint: give this one another --name"]
