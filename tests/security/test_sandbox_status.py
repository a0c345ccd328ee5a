"""Where jobs cannot be sandboxed, the daemon says so at start and `tidemill doctor` warns,
naming the way to turn the sandbox on."""

from __future__ import annotations

from pathlib import Path

from desktop_app.runtimes import sandbox
from tests.e2e.daemon_harness import RunningDaemon, free_port
from tests.e2e.test_doctor import doctor, findings


def test_doctor_reports_the_sandbox_and_warns_when_it_is_off(tmp_path: Path) -> None:
    home = tmp_path / "home"
    [on] = findings(doctor(home, "--only", "sandbox", "--json"))
    assert on["check"] == "sandbox"
    assert on["status"] == ("ok" if sandbox.status().enabled else "warn"), on
    res = doctor(home, "--only", "sandbox", "--json", env={"TIDEMILL_SANDBOX": "0"})
    [off] = findings(res)
    assert off["status"] == "warn" and "not sandboxed" in off["detail"], off
    assert "can read its home" in off["detail"] and "TIDEMILL_SANDBOX" in off["fix"]
    res = doctor(home, "--only", "sandbox", "--json", env={"PATH": "/nonexistent"})
    [missing] = findings(res)
    assert missing["status"] == "warn" and "bubblewrap is not installed" in missing["detail"]
    assert "install bubblewrap" in missing["fix"]


def test_a_daemon_that_cannot_sandbox_says_so_once_at_start(database_url: str,
                                                             tmp_path: Path) -> None:
    d = RunningDaemon(home=tmp_path / "home", port=free_port(), database_url=database_url,
                      extra_env={"TIDEMILL_SANDBOX": "0"}).start()
    try:
        d.deploy("f/s/one", "def main():\n    return 1\n")
        assert d.run_wait("f/s/one") == ("success", 1)
    finally:
        d.stop()
    assert d.log().count("jobs are not sandboxed") == 2  # the log line and the console line
