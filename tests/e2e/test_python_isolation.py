"""Python jobs are forked from a pre-started interpreter: each must still start clean."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.daemon_harness import RunningDaemon, free_port

LEAKY = ("import os, sys\nCOUNT = []\n\ndef main(tag: str):\n"
         "    COUNT.append(tag)\n    seen = os.environ.get('LEAK')\n    os.environ['LEAK'] = tag\n"
         "    sys.modules.setdefault('leak_marker', object())\n"
         "    return {'count': len(COUNT), 'seen_env': seen,"
         " 'cwd_ok': os.getcwd().endswith(os.environ['WM_JOB_ID'])}\n")


def _check_isolation(d: RunningDaemon) -> None:
    d.deploy("f/iso/leaky", LEAKY)
    results = [d.run_wait("f/iso/leaky", {"tag": t})[1] for t in "abc"]
    assert [r["count"] for r in results] == [1, 1, 1]
    assert [r["seen_env"] for r in results] == [None, None, None]
    # Each job is a fresh process (COUNT starts over); not said by pids, which repeat in
    # the sandbox (a PID namespace per job, or per zygote).
    assert all(r["cwd_ok"] for r in results)
    d.deploy("f/iso/exit", "import os\n\ndef main():\n    print('bye')\n    os._exit(3)\n")
    status, result = d.run_wait("f/iso/exit")
    assert status == "failure" and result["error"]["exit_code"] == 3
    assert "bye" in result["error"]["message"]
    d.deploy("f/iso/stderr", "import sys\n\ndef main():\n    print('to err', file=sys.stderr)\n"
                             "    raise SystemExit(0)\n")
    status, result = d.run_wait("f/iso/stderr")
    assert status == "failure"  # main never returned a result


def test_forked_jobs_share_nothing(daemon: RunningDaemon) -> None:
    _check_isolation(daemon)


def test_same_behaviour_without_the_zygote(database_url: str, tmp_path: Path) -> None:
    d = RunningDaemon(home=tmp_path / "home", port=free_port(), database_url=database_url,
                      extra_env={"TIDEMILL_PYTHON_ZYGOTE": "0"}).start()
    try:
        _check_isolation(d)
    finally:
        d.stop()
