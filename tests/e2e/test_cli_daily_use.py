"""The `tidemill` command as a person uses it day to day: failures printed as text, arguments
named, flows' logs step by step, listing and deleting what is deployed, schedules, a second
daemon start, redeploys and paths shared by a script and a flow.

One daemon serves the module (each test uses its own paths): these tests only talk to it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.daemon_harness import RunningDaemon, free_port
from tests.support.pg import create_database, drop_database


@pytest.fixture(scope="module")
def cli_daemon(pg_server, template_database: str, tmp_path_factory: pytest.TempPathFactory,
               shared_cache: Path) -> Iterator[RunningDaemon]:
    name = f"test_{uuid.uuid4().hex}"
    url = create_database(pg_server.url, name, template=template_database)
    home = tmp_path_factory.mktemp("cli") / "home"
    home.mkdir()
    for sub in ("cache", "envs"):
        (shared_cache / sub).mkdir(parents=True, exist_ok=True)
        (home / sub).symlink_to(shared_cache / sub)
    d = RunningDaemon(home=home, port=free_port(), database_url=url)
    d.start()
    try:
        yield d
    finally:
        d.stop()
        drop_database(pg_server.url, name)


# Each test runs a dozen `tidemill` processes: on a loaded 2-core machine that alone can take
# minutes, so the module gets more than the default 300 s per test.
pytestmark = pytest.mark.timeout(600)

FAILING = """\
def helper():
    print("helping")
    raise ValueError("nope")

def main():
    print("starting")
    helper()
"""


def test_a_failing_run_prints_the_error_its_frames_and_log_tail(cli_daemon: RunningDaemon) -> None:
    cli_daemon.deploy("f/cli/fail", FAILING)
    res = cli_daemon.cli("run", "f/cli/fail")
    assert res.returncode == 1
    assert res.stdout == ""
    job_id = cli_daemon.api("GET", "jobs/list", params={"script_path_exact": "f/cli/fail"}).json()[0]["id"]
    assert res.stderr == textwrap.dedent(f"""\
        error: ValueError: nope
        Traceback (most recent call last):
          File "f/cli/fail.py", line 7, in main
            helper()
          File "f/cli/fail.py", line 3, in helper
            raise ValueError("nope")
        log (last 2 lines):
          starting
          helping
        job {job_id}: `tidemill logs {job_id}` prints the whole log
        """)
    raw = cli_daemon.cli("run", "f/cli/fail", "--json")
    assert raw.returncode == 1 and json.loads(raw.stdout)["error"]["name"] == "ValueError"


def test_arguments_are_named_and_unknown_ones_refused(cli_daemon: RunningDaemon) -> None:
    cli_daemon.deploy("f/cli/typed", "def main(times: int, name: str = 'x'):\n    return name * times\n")
    res = cli_daemon.cli("run", "f/cli/typed", "-a", "times=two")
    assert (res.returncode, res.stderr) == (2, "error: argument 'times': expected an integer, "
                                               "got 'two'\n")
    res = cli_daemon.cli("run", "f/cli/typed", "-a", "times=2", "-a", "colour=red")
    assert (res.returncode, res.stderr) == (2, "error: unknown argument 'colour'\n"
                                               "  hint: its arguments are: times, name\n")
    ok = cli_daemon.cli("run", "f/cli/typed", "-a", "times=2", "-a", "name=ab", check=True)
    assert json.loads(ok.stdout) == "abab"


def _flow_folder(root: Path, name: str, say: str) -> Path:
    folder = root / name
    folder.mkdir()
    (folder / "flow.yaml").write_text(textwrap.dedent(f"""\
        summary: Two steps
        value:
          modules:
            - id: a
              value:
                type: rawscript
                language: python3
                content: "def main():\\n    print('step a says {say}')\\n    return 1\\n"
                input_transforms: {{}}
            - id: b
              value:
                type: rawscript
                language: python3
                content: "def main(x: int):\\n    print('step b got', x)\\n    return x + 1\\n"
                input_transforms:
                  x: {{type: javascript, expr: results.a}}
        schema: {{type: object, properties: {{}}}}
        """))
    return folder


def test_flow_logs_by_step_and_jobs_hide_steps(cli_daemon: RunningDaemon, tmp_path: Path) -> None:
    folder = _flow_folder(tmp_path, "two.flow", "hi")
    cli_daemon.cli("deploy", str(folder), "--path", "f/cli/two", check=True)
    assert json.loads(cli_daemon.cli("run", "f/cli/two", check=True).stdout) == 2
    top = json.loads(cli_daemon.cli("jobs", "--json", "--path", "f/cli/two", check=True).stdout)
    assert len(top) == 1 and top[0]["job_kind"] == "flow"
    flow_id = top[0]["id"]
    log = cli_daemon.cli("logs", flow_id, check=True).stdout
    a, b = log.index("== step a (success, job "), log.index("== step b (success, job ")
    assert a < log.index("step a says hi") < b < log.index("step b got 1")
    listing = cli_daemon.cli("jobs", "-n", "100", check=True).stdout
    assert "(flow step)" not in listing and "f/cli/two" in listing
    everything = cli_daemon.cli("jobs", "--all", "-n", "100", check=True).stdout
    assert everything.count(flow_id[:8]) >= 1 and len(everything.splitlines()) >= len(
        listing.splitlines()) + 2
    running = cli_daemon.cli("jobs", "--running", check=True)
    assert (running.stdout, running.stderr) == ("", "no job is queued or running\n")


def test_list_show_and_delete_scripts_flows_and_apps(cli_daemon: RunningDaemon,
                                                     tmp_path: Path) -> None:
    cli_daemon.deploy("f/cli/listed", "def main(n: int):\n    return n\n", summary="A listed one")
    listed = cli_daemon.cli("scripts", "list", check=True).stdout
    assert any(line.startswith("f/cli/listed") and "python3" in line and "A listed one" in line
               for line in listed.splitlines())
    shown = cli_daemon.cli("scripts", "show", "f/cli/listed", check=True).stdout
    assert "arguments: n (integer, required)" in shown and "return n" in shown
    cli_daemon.cli("deploy", str(_flow_folder(tmp_path, "f.flow", "x")), "--path", "f/cli/fl",
                   check=True)
    assert "f/cli/fl" in cli_daemon.cli("flows", "list", check=True).stdout
    assert "  b: rawscript python3" in cli_daemon.cli("flows", "show", "f/cli/fl", check=True).stdout
    res = cli_daemon.cli("scripts", "delete", "f/cli/listed", "--yes", check=True)
    assert res.stdout.startswith("deleted script f/cli/listed")
    assert "f/cli/listed" not in cli_daemon.cli("scripts", "list", check=True).stdout
    assert cli_daemon.cli("run", "f/cli/listed", "-a", "n=1").returncode == 2
    cli_daemon.cli("flows", "delete", "f/cli/fl", "--yes", check=True)
    assert "f/cli/fl" not in cli_daemon.cli("flows", "list", check=True).stdout


def test_apps_list_and_a_delete_of_nothing(cli_daemon: RunningDaemon) -> None:
    assert "no apps deployed yet" in cli_daemon.cli("apps", "list", check=True).stderr
    refused = cli_daemon.cli("apps", "delete", "f/cli/none", "--yes")
    assert refused.returncode == 2


def test_schedules_from_the_command_line(cli_daemon: RunningDaemon) -> None:
    cli_daemon.deploy("f/cli/nightly", "def main(n: int):\n    return n\n")
    res = cli_daemon.cli("schedule", "create", "f/cli/every_night", "--cron", "0 3 * * *",
                         "--script", "f/cli/nightly", "-a", "n=4", "--tz", "Europe/Paris",
                         check=True)
    assert res.stdout.startswith("created schedule f/cli/every_night: f/cli/nightly at "
                                 "'0 3 * * *' (Europe/Paris); first run ")
    stored = cli_daemon.api("GET", "schedules/get/f/cli/every_night").json()
    assert stored["args"] == {"n": 4} and stored["enabled"] is True
    line = next(x for x in cli_daemon.cli("schedule", "list", check=True).stdout.splitlines()
                if x.startswith("f/cli/every_night"))
    assert " on " in line and "0 3 * * *" in line and "next 20" in line
    cli_daemon.cli("schedule", "disable", "f/cli/every_night", check=True)
    assert cli_daemon.api("GET", "schedules/get/f/cli/every_night").json()["enabled"] is False
    cli_daemon.cli("schedule", "enable", "f/cli/every_night", check=True)
    nxt = cli_daemon.cli("schedule", "next", "f/cli/every_night", "-n", "3", check=True).stdout
    assert nxt.startswith("'0 3 * * *' in Europe/Paris:") and len(nxt.splitlines()) == 4
    bad = cli_daemon.cli("schedule", "create", "f/cli/bad", "--cron", "0 3 * * *",
                         "--script", "f/cli/nightly", "-a", "n=x")
    assert bad.returncode == 2 and "argument 'n'" in bad.stderr
    cli_daemon.cli("schedule", "delete", "f/cli/every_night", check=True)
    assert "f/cli/every_night" not in cli_daemon.cli("schedule", "list").stdout


def test_redeploy_unchanged_and_a_path_shared_by_a_script_and_a_flow(
        cli_daemon: RunningDaemon, tmp_path: Path) -> None:
    script = tmp_path / "hello.py"
    script.write_text("def main():\n    return 'script'\n")
    first = cli_daemon.cli("deploy", str(script), "--path", "f/cli/hello", check=True)
    assert first.stderr.startswith("deployed f/cli/hello (version ")
    again = cli_daemon.cli("deploy", str(script), "--path", "f/cli/hello", check=True)
    assert again.stderr.startswith("unchanged: f/cli/hello (version ")
    assert len(cli_daemon.api("GET", "scripts/history/p/f/cli/hello").json()) == 1
    folder = _flow_folder(tmp_path, "hello.flow", "x")
    flow = cli_daemon.cli("deploy", str(folder), "--path", "f/cli/hello", check=True)
    assert flow.stderr.startswith("warning: a script already lives at f/cli/hello;")
    assert "unchanged: flow f/cli/hello" in cli_daemon.cli(
        "deploy", str(folder), "--path", "f/cli/hello", check=True).stderr
    ask = cli_daemon.cli("run", "f/cli/hello")
    assert ask.returncode == 2
    assert ask.stderr == ("error: both a script and a flow live at 'f/cli/hello'\n"
                          "  hint: say which to run: `tidemill run f/cli/hello --script` or "
                          "`--flow`\n")
    assert json.loads(cli_daemon.cli("run", "f/cli/hello", "--script", check=True).stdout) == "script"
    assert json.loads(cli_daemon.cli("run", "f/cli/hello", "--flow", check=True).stdout) == 2


def test_daemon_start_on_another_port_says_where_it_runs(cli_daemon: RunningDaemon) -> None:
    other = free_port()
    res = cli_daemon.cli("daemon", "start", "--port", str(other))
    assert res.returncode == 1
    assert res.stderr.startswith(f"error: the daemon of {cli_daemon.home} already runs at "
                                 f"{cli_daemon.url} (pid ")
    assert f"not on port {other}" in res.stderr and "--home" in res.stderr
    same = cli_daemon.cli("daemon", "start", check=True)
    assert same.stdout.startswith("already running: pid ")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "desktop_app.cli.main", *args],
                          capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "100", "TIDEMILL_URL": "http://127.0.0.1:9"})


@pytest.mark.parametrize("command", [
    ["run"], ["jobs"], ["logs"], ["deploy"], ["schedule", "create"], ["schedule", "next"],
    ["daemon", "start"], ["gui"], ["scripts", "delete"], ["token", "create"], ["user", "add"],
    ["worker"], ["sync", "push"], ["secret", "set"]])
def test_help_describes_every_option_in_sentences(command: list[str]) -> None:
    text = _cli(*command, "--help").stdout
    assert "<bool>" not in text
    summary = text.split("\n\n")[1].strip()
    assert summary[0].isupper() and summary.endswith("."), summary
    options = text.split("Options:\n")[1]
    for line in options.splitlines():
        if line.startswith("  -"):
            described = re.split(r"\s{2,}", line.strip())
            assert len(described) >= 2 and described[1][0].isupper(), line


def test_gui_views_and_themes_are_one_list() -> None:
    help_text = " ".join(_cli("gui", "--help").stdout.split())
    bogus = _cli("gui", "--view", "bogus", "--screenshot", "/tmp/x.png")
    assert bogus.returncode == 2
    listed = bogus.stderr.split("use one of ")[1].strip()
    assert f"The view to open or render: {listed}." in help_text.replace("app- builder",
                                                                          "app-builder")
    purple = _cli("gui", "--theme", "purple", "--screenshot", "/tmp/x.png")
    assert (purple.returncode, purple.stderr) == (
        2, "error: unknown theme 'purple'\n  hint: use light or dark\n")
