"""Windmill's own CLI (`wmill`, npm windmill-cli pinned in tests/reference/package.json)
against a real daemon, unchanged: what a Windmill team does every day.

The module shares one daemon (on its own copy of the template database) and one wmill
config folder where `wmill workspace add … --token` registered it; each test uses its own
item paths. The tests run the real CLI (node) and check what a user would: its output and
exit code, and what Tidemill then holds and runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from desktop_app.db.embedded import EmbeddedPostgres
from tests.e2e.daemon_harness import RunningDaemon, free_port
from tests.support.pg import create_database, drop_database

ROOT = Path(__file__).resolve().parents[2]
WMILL = ROOT / "tests" / "reference" / "node_modules" / "windmill-cli" / "esm" / "main.js"
PINNED = json.loads((ROOT / "tests" / "reference" / "package.json").read_text())[
    "dependencies"]["windmill-cli"]

HELLO = 'def main(name: str = "world"):\n    print("greeting", name)\n    return {"hello": name}\n'
FAILING = 'def main():\n    raise ValueError("the input was wrong")\n'


class Wmill:
    """The real `wmill`, with its own config folder, in a working folder."""

    def __init__(self, daemon: RunningDaemon, home: Path) -> None:
        if shutil.which("node") is None or not WMILL.exists():
            pytest.fail(f"windmill-cli {PINNED} is not installed: run"
                        " `npm ci --prefix tests/reference` (as .ci/run does)", pytrace=False)
        self.daemon = daemon
        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / "config"),
                    "NO_COLOR": "1", "FORCE_COLOR": "0"}

    def __call__(self, *args: str, cwd: Path | None = None, check: bool = True,
                 timeout: float = 180) -> subprocess.CompletedProcess[str]:
        res = subprocess.run(["node", str(WMILL), *args], cwd=cwd or self.home, env=self.env,
                             capture_output=True, text=True, timeout=timeout)
        if check and res.returncode != 0:
            raise AssertionError(f"wmill {' '.join(args)} exited {res.returncode}:\n"
                                 f"{res.stdout}\n{res.stderr}")
        return res

    def add_workspace(self) -> None:
        out = self("workspace", "add", "tide", "main", self.daemon.url + "/",
                   "--token", self.daemon.token)
        assert "Added workspace tide" in out.stdout + out.stderr, out.stdout + out.stderr


@pytest.fixture(scope="module")
def daemon(pg_server: EmbeddedPostgres, template_database: str,
           tmp_path_factory: pytest.TempPathFactory, shared_cache: Path) -> Iterator[RunningDaemon]:
    """One daemon for the module (a start costs ~5-30 s on a loaded machine)."""
    name = f"wmill_{uuid.uuid4().hex}"
    url = create_database(pg_server.url, name, template=template_database)
    home = tmp_path_factory.mktemp("wmill-daemon") / "home"
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


@pytest.fixture(scope="module")
def wmill(daemon: RunningDaemon, tmp_path_factory: pytest.TempPathFactory) -> Wmill:
    w = Wmill(daemon, tmp_path_factory.mktemp("wmill") / "home")
    w.add_workspace()
    return w


@pytest.mark.api_only  # no job runs: the API in-process
def test_pinned_cli_version(wmill: Wmill) -> None:
    out = wmill("--version", check=False)
    assert f"CLI version: {PINNED}" in out.stdout + out.stderr


def test_script_and_flow_run_print_the_result_and_exit_code(wmill: Wmill,
                                                            daemon: RunningDaemon) -> None:
    daemon.deploy("f/cli/hello", HELLO, summary="Say hello")
    daemon.deploy("f/cli/failing", FAILING)
    r = daemon.api("POST", "flows/create", json={
        "path": "f/cli/add_one", "summary": "Add one", "schema": {
            "type": "object", "properties": {"n": {"type": "integer"}}},
        "value": {"modules": [{"id": "a", "value": {
            "type": "rawscript", "language": "python3",
            "content": "def main(x: int):\n    return x + 1\n",
            "input_transforms": {"x": {"type": "javascript", "expr": "flow_input.n"}}}}]}})
    assert r.status_code == 201, r.text

    ok = wmill("script", "run", "f/cli/hello", "-d", '{"name": "Ada"}')
    assert "greeting Ada" in ok.stdout  # the job's log, streamed
    assert '"hello": "Ada"' in ok.stdout + ok.stderr

    bad = wmill("script", "run", "f/cli/failing", check=False)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "the input was wrong" in bad.stdout + bad.stderr

    silent = wmill("script", "run", "f/cli/hello", "-d", '{"name": "Bo"}', "-s")
    assert json.loads(silent.stdout.strip().splitlines()[-1]) == {"hello": "Bo"}

    flow = wmill("flow", "run", "f/cli/add_one", "-d", '{"n": 41}', "-s")
    assert flow.stdout.strip().splitlines()[-1] == "42", flow.stdout + flow.stderr


@pytest.mark.api_only  # no job runs: the API in-process
def test_list_commands_finish_and_list_everything(wmill: Wmill, daemon: RunningDaemon) -> None:
    paths = {f"f/many/s{i:02d}" for i in range(25)}
    for path in sorted(paths):
        daemon.deploy(path, f"echo {path}", language="bash")
    out = wmill("script", "list", "--json", timeout=60)
    listed = [s["path"] for s in json.loads(out.stdout)]
    # wmill asks for pages 0, 1, 2… of 10 and stops at the first short one. Windmill's
    # server reads page 0 as page 1, and so does Tidemill (other clients count from 1): the
    # CLI shows the first ten twice, as it does against Windmill. Every script is there.
    assert {p for p in listed if p.startswith("f/many/")} == paths
    assert len(listed) == len(set(listed)) + 10

    for i in range(12):
        r = daemon.api("POST", "resources/create", json={
            "path": f"f/many/r{i:02d}", "resource_type": "object", "value": {"i": i}})
        assert r.status_code == 201, r.text
    res = wmill("resource", "list", "--json", timeout=60)
    assert {r["path"] for r in json.loads(res.stdout) if r["path"].startswith("f/many/")} == \
        {f"f/many/r{i:02d}" for i in range(12)}


def test_job_rerun_runs_the_same_script_with_the_same_arguments(
        wmill: Wmill, daemon: RunningDaemon) -> None:
    daemon.deploy("f/cli/hello", HELLO)
    first = daemon.api("POST", "jobs/run/p/f/cli/hello", json={"name": "Cy"}).text
    daemon.wait_job(first)
    out = wmill("job", "rerun", first)
    new_id = out.stdout.strip().splitlines()[-1]
    assert new_id != first
    again = daemon.wait_job(new_id)
    assert again["success"] and again["result"] == {"hello": "Cy"}
    assert again["script_path"] == "f/cli/hello"


def test_endpoints_wmill_needs_answer_windmills_shapes(daemon: RunningDaemon) -> None:
    version = httpx.get(f"{daemon.url}/api/version").text
    # wmill reads the number after "v" as Windmill's major version
    assert version.startswith("v1.") and "Tidemill" in version
    with daemon.http() as c:
        assert c.post("/api/workspaces/exists", json={"id": "main"}).json() is True
        assert c.post("/api/workspaces/exists", json={"id": "nowhere"}).json() is False
        tokens = c.get("/api/users/tokens/list").json()
        assert "local admin" in [t["label"] for t in tokens]
        assert all(daemon.token not in json.dumps(t) for t in tokens)
    # the same token as a cookie (wmill's dependency jobs send it so)
    r = httpx.get(f"{daemon.url}/api/w/main/groups/list", cookies={"token": daemon.token})
    assert r.status_code == 200 and r.json()[0]["name"] == "all"
    # …but not from a browser page on another site
    r = httpx.get(f"{daemon.url}/api/w/main/groups/list", cookies={"token": daemon.token},
                  headers={"sec-fetch-site": "cross-site"})
    assert r.status_code == 401

    # request-only fields are neither stored nor echoed
    r = daemon.api("POST", "flows/create", json={
        "path": "f/cli/flow", "value": {"modules": []}, "skip_draft_deletion": True,
        "deployment_message": "from wmill"})
    assert r.status_code == 201, r.text
    assert "skip_draft_deletion" not in daemon.api("GET", "flows/get/f/cli/flow").json()
    daemon.deploy("f/cli/hello", HELLO, auto_parent=True, skip_draft_deletion=True)
    got = daemon.api("GET", "scripts/get/p/f/cli/hello").json()
    assert "auto_parent" not in got and "skip_draft_deletion" not in got

    history = daemon.api("GET", "flows/history/p/f/cli/flow").json()
    assert len(history) == 1 and history[0]["created_at"]
    assert daemon.api("DELETE", "flows/delete/f/cli/flow").status_code == 200
    assert daemon.api("GET", "flows/get/f/cli/flow").status_code == 404

    # paging: Windmill's page/per_page (page 0 and 1 are the first)
    for i in range(3):
        daemon.deploy(f"f/page/s{i}", "echo hi", language="bash")
    pages = [[s["path"] for s in daemon.api("GET", "scripts/list", params={
        "path_start": "f/page/", "page": p, "per_page": 2}).json()] for p in (1, 2, 3)]
    assert pages == [["f/page/s0", "f/page/s1"], ["f/page/s2"], []]

    job = daemon.api("POST", "jobs/run/p/f/cli/hello", json={"name": "Di"}).text
    assert daemon.api("GET", f"jobs_u/completed/get/{job}").status_code in (200, 404)
    daemon.wait_job(job)
    done = daemon.api("GET", f"jobs_u/completed/get/{job}").json()
    assert done["success"] and "greeting Di" in done["logs"]
    update = daemon.api("GET", f"jobs_u/getupdate/{job}", params={"log_offset": 0}).json()
    assert update["completed"] and "greeting Di" in update["new_logs"]
    later = daemon.api("GET", f"jobs_u/getupdate/{job}",
                       params={"log_offset": update["log_offset"]}).json()
    assert "new_logs" not in later
    completed = daemon.api("GET", "jobs/completed/list").json()
    assert job in [j["id"] for j in completed]
    assert job not in [j["id"] for j in daemon.api("GET", "jobs/queue/list").json()]


def test_new_endpoints_keep_the_permission_rules(daemon: RunningDaemon) -> None:
    """A run-only token, an operator and a developer without grants meet the same checks
    on the endpoints added for wmill as everywhere else."""
    daemon.deploy("f/secret_team/hello", HELLO)
    job = daemon.api("POST", "jobs/run/p/f/secret_team/hello", json={}).text
    daemon.wait_job(job)
    assert daemon.api("POST", "flows/create", json={
        "path": "f/secret_team/flow", "value": {"modules": []}}).status_code == 201

    def user(name: str, role: str) -> httpx.Client:
        assert daemon.api("POST", "users/add", json={"username": name, "role": role}
                          ).status_code == 201
        with daemon.http() as c:
            token = c.post("/api/users/tokens/create", json={"username": name}).text
        return httpx.Client(base_url=f"{daemon.url}/api/w/main/", timeout=60,
                            headers={"Authorization": f"Bearer {token}"})

    dev, op = user("dev", "developer"), user("op", "operator")
    with daemon.http() as c:
        run_only = c.post("/api/users/tokens/create", json={"scope": "run:f/other/*"}).text
    runner = httpx.Client(base_url=f"{daemon.url}/api/w/main/", timeout=60,
                          headers={"Authorization": f"Bearer {run_only}"})
    for client in (dev, op):
        assert client.get(f"jobs_u/completed/get/{job}").status_code == 403
        assert client.get(f"jobs_u/getupdate/{job}").status_code == 403
        assert client.delete("flows/delete/f/secret_team/flow").status_code == 403
        assert client.get("flows/history/p/f/secret_team/flow").status_code == 403
        rerun = client.post("jobs/run/batch_rerun_jobs", json={"job_ids": [job]})
        assert rerun.text.startswith("Error:"), rerun.text
        assert job not in [j["id"] for j in client.get("jobs/completed/list").json()]
    assert op.post("jobs/run/preview_flow", json={"value": {"modules": []}}).status_code == 403
    assert runner.delete("flows/delete/f/secret_team/flow").status_code == 403
    assert runner.post("jobs/run/preview_flow",
                       json={"value": {"modules": []}}).status_code == 403
    assert daemon.api("GET", "flows/get/f/secret_team/flow").status_code == 200


PIPELINE = {"summary": "Pipeline", "value": {"modules": [
    {"id": "a", "value": {"type": "rawscript", "language": "python3", "input_transforms": {},
                          "content": "def main():\n    return 20\n"}},
    {"id": "b", "summary": "Double it", "value": {
        "type": "rawscript", "language": "python3",
        "content": "def main(x: int):\n    return x * 2\n",
        "input_transforms": {"x": {"type": "javascript", "expr": "results.a"}}}}]},
    "schema": {"type": "object", "properties": {}}}

# As `wmill flow bootstrap` writes one: with its (empty) description, which the server
# stores and sends back, in Windmill as here.
NEW_FLOW_YAML = """summary: Added from wmill
description: ''
value:
  modules:
    - id: a
      value:
        type: rawscript
        content: '!inline a.inline_script.py'
        input_transforms: {}
        language: python3
schema:
  type: object
  properties: {}
"""
ADDED_PY = "import idna\n\ndef main(host: str = 'bücher.example'):\n    return idna.encode(host).decode()\n"
ADDED_TS = ('import { camelCase } from "npm:lodash-es@4.17.21";\n\n'
            'export function main(s: string = "hello wide world") {\n  return camelCase(s);\n}\n')


def _seed(daemon: RunningDaemon, folder: str) -> None:
    daemon.deploy(f"f/{folder}/hello", HELLO, summary="Say hello")
    daemon.deploy(f"f/{folder}/shout", "echo \"$1\" | tr a-z A-Z", language="bash")
    for path, flow in ((f"f/{folder}/pipeline", PIPELINE), (f"f/{folder}/old", PIPELINE)):
        r = daemon.api("POST", "flows/create", json={"path": path, **flow})
        assert r.status_code == 201, r.text
    for body in ({"path": f"f/{folder}/greeting", "value": "hello", "is_secret": False},
                 {"path": f"f/{folder}/token", "value": "s3cr3t-kept-in-keyring", "is_secret": True,
                  "description": "API token"}):
        assert daemon.api("POST", "variables/create", json=body).status_code == 201
    r = daemon.api("POST", "resources/create", json={
        "path": f"f/{folder}/conf", "resource_type": "object", "value": {"retries": 3}})
    assert r.status_code == 201, r.text


def _export(daemon: RunningDaemon) -> Path:
    status = daemon.api("GET", "sync/status", params={"wait": "true"}).json()
    assert not status["errors"], status
    return Path(status["path"])


def _diff(a: Path, b: Path) -> str:
    out = subprocess.run(["diff", "-r", "-x", ".git", "-x", "wmill-lock.yaml", str(a), str(b)],
                         capture_output=True, text=True)
    return out.stdout + out.stderr


def test_sync_pull_edit_push_round_trip(wmill: Wmill, daemon: RunningDaemon,
                                        tmp_path: Path) -> None:
    _seed(daemon, "app")
    export = _export(daemon)
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copy(export / "wmill.yaml", repo / "wmill.yaml")  # the project's settings

    wmill("sync", "pull", "--yes", cwd=repo)
    assert _diff(export, repo) == ""  # byte for byte what Tidemill's Git export holds
    assert (repo / "f/app/pipeline.flow/a.inline_script.py").exists()  # named by step id
    assert (repo / "f/app/pipeline.flow/double_it.inline_script.py").exists()
    assert "value: ''" in (repo / "f/app/token.variable.yaml").read_text()  # no secret value

    # edit, add, delete, change — then generate-metadata for the new scripts, and push
    (repo / "f/app/hello.py").write_text('def main():\n    return "edited"\n')
    (repo / "f/app/added.py").write_text(ADDED_PY)
    (repo / "f/app/added_ts.ts").write_text(ADDED_TS)
    (repo / "f/app/new.flow").mkdir()
    (repo / "f/app/new.flow/flow.yaml").write_text(NEW_FLOW_YAML)
    (repo / "f/app/new.flow/a.inline_script.py").write_text("def main():\n    return 'new'\n")
    shutil.rmtree(repo / "f/app/old.flow")
    for name, old, new in (("greeting.variable.yaml", "value: hello", "value: bonjour"),
                           ("conf.resource.yaml", "retries: 3", "retries: 5"),
                           ("token.variable.yaml", "description: API token",
                            "description: API token, rotated yearly")):
        file = repo / "f/app" / name
        assert old in file.read_text(), file.read_text()
        file.write_text(file.read_text().replace(old, new))

    wmill("generate-metadata", "--yes", cwd=repo, timeout=300)
    py_lock = (repo / "f/app/added.script.lock").read_text()
    assert py_lock.startswith("# python") and "idna==" in py_lock
    ts_lock = json.loads((repo / "f/app/added_ts.script.lock").read_text())
    assert "npm:lodash-es@4.17.21" in ts_lock["specifiers"]
    assert "host" in (repo / "f/app/added.script.yaml").read_text()  # its form

    wmill("sync", "push", "--yes", cwd=repo, timeout=300)
    assert daemon.run_wait("f/app/hello")[1] == "edited"
    assert daemon.run_wait("f/app/added")[1] == "xn--bcher-kva.example"
    assert daemon.run_wait("f/app/added_ts")[1] == "helloWideWorld"
    assert daemon.api("GET", "scripts/get/p/f/app/added").json()["lock"] == py_lock
    flow_run = daemon.api("POST", "jobs/run_wait_result/f/f/app/new", json={})
    assert flow_run.status_code == 200 and flow_run.json() == "new", flow_run.text
    assert daemon.api("GET", "flows/get/f/app/old").status_code == 404
    assert daemon.api("GET", "variables/get_value/f/app/greeting").json() == "bonjour"
    assert daemon.api("GET", "resources/get_value/f/app/conf").json() == {"retries": 5}
    # the secret's description changed; its value, in the keyring, did not
    token = daemon.api("GET", "variables/get/f/app/token").json()
    assert token["is_secret"] and token["description"] == "API token, rotated yearly"
    assert daemon.api("GET", "variables/get_value/f/app/token").json() == \
        "s3cr3t-kept-in-keyring"
    pipeline = daemon.api("POST", "jobs/run_wait_result/f/f/app/pipeline", json={})
    assert pipeline.json() == 40, pipeline.text  # untouched by the push, still runs

    again = wmill("sync", "pull", "--yes", cwd=repo)
    assert "0 changes to apply" in again.stdout + again.stderr, again.stdout + again.stderr
    assert _diff(_export(daemon), repo) == ""


def test_older_inline_names_are_migrated_when_the_daemon_starts(
        wmill: Wmill, daemon: RunningDaemon, tmp_path: Path) -> None:
    """Older Tidemill named every inline file of a step without a summary
    `inline_script_N`; wmill names it by step id and renames such files on pull. The daemon
    rewrites the repository's flows when it starts, so a pull then changes nothing."""
    r = daemon.api("POST", "flows/create", json={"path": "f/legacy/flow", **PIPELINE})
    assert r.status_code == 201, r.text
    export = _export(daemon)
    folder = export / "f/legacy/flow.flow"
    (folder / "a.inline_script.py").rename(folder / "inline_script_0.inline_script.py")
    flow_yaml = folder / "flow.yaml"
    flow_yaml.write_text(flow_yaml.read_text().replace(
        "'!inline a.inline_script.py'", "'!inline inline_script_0.inline_script.py'"))
    git = ["git", "-C", str(export), "-c", "user.name=old", "-c", "user.email=old@x"]
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "as an older Tidemill wrote it"], check=True)

    daemon.stop()
    # An older Tidemill kept no record of which change Git last holds: the daemon then
    # brings the whole repository up to date (and to today's names) when it starts.
    import psycopg
    with psycopg.connect(daemon.database_url, autocommit=True) as conn:
        conn.execute("DELETE FROM settings WHERE name = 'gitsync_recorded_change'")
    daemon.start()
    _export(daemon)
    assert sorted(p.name for p in folder.iterdir()) == [
        "a.inline_script.py", "double_it.inline_script.py", "flow.yaml"]
    status = subprocess.run([*git, "status", "--porcelain"], capture_output=True, text=True)
    assert status.stdout == ""  # the migration is committed

    repo = tmp_path / "clone"
    shutil.copytree(export, repo, ignore=shutil.ignore_patterns(".git"))
    out = wmill("sync", "pull", "--yes", cwd=repo)
    assert "0 changes to apply" in out.stdout + out.stderr, out.stdout + out.stderr


@pytest.mark.api_only  # no job runs: the API in-process
def test_tarball_flags_and_secrets(daemon: RunningDaemon) -> None:
    import io
    import tarfile
    import zipfile

    _seed(daemon, "tar")
    with daemon.http() as c:
        r = c.get("/api/w/main/workspaces/tarball", params={
            "archive_type": "zip", "plain_secret": "true", "skip_resources": "true"})
        assert r.status_code == 200, r.text
        names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
        files = {n: zipfile.ZipFile(io.BytesIO(r.content)).read(n).decode() for n in names}
        assert "f/tar/hello.py" in names and "f/tar/pipeline.flow.json" in names
        assert not any(n.endswith(".resource.json") for n in names)
        assert not any(n.endswith(".resource-type.json") for n in names)  # built-in types
        assert json.loads(files["f/tar/token.variable.json"])["value"] == ""
        assert all("s3cr3t" not in text for text in files.values())
        r = c.get("/api/w/main/workspaces/tarball", params={
            "archive_type": "tar", "skip_secrets": "true", "skip_variables": "false"})
        names = tarfile.open(fileobj=io.BytesIO(r.content)).getnames()
        assert "f/tar/greeting.variable.json" in names
        assert "f/tar/token.variable.json" not in names
        r = c.get("/api/w/main/workspaces/tarball", params={"archive_type": "rar"})
        assert r.status_code == 400 and "Invalid Archive Type" in r.text
        # a secret pushed back with the export's stand-in never replaces the keyring value
        r = c.post("/api/w/main/variables/update/f/tar/token",
                   params={"already_encrypted": "true"},
                   json={"value": "", "is_secret": True, "description": "x"})
        assert r.status_code == 200, r.text
        assert c.get("/api/w/main/variables/get_value/f/tar/token").json() == \
            "s3cr3t-kept-in-keyring"
        # a new secret that came encrypted with a Windmill key: refused, saying what to do
        r = c.post("/api/w/main/variables/create", params={"already_encrypted": "true"},
                   json={"path": "f/tar/new_secret", "value": "AbC==", "is_secret": True})
        assert r.status_code == 400 and "--plain-secrets" in r.text
    op = daemon.api("POST", "users/add", json={"username": "opal", "role": "operator"})
    assert op.status_code == 201
    with daemon.http() as c:
        token = c.post("/api/users/tokens/create", json={"username": "opal"}).text
    r = httpx.get(f"{daemon.url}/api/w/main/workspaces/tarball?archive_type=zip",
                  headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403  # operators never see code
