"""Git sync end to end: real daemons, real pygit2 repositories, a real bare remote.

Every change through the API is one commit with no secret value in it; two homes share
a bare remote (push, pull, run with the same results, conflicts that change nothing);
a Windmill sync folder built here is imported and runs."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pygit2
import pytest

from tests.e2e.daemon_harness import RunningDaemon, free_port
from tests.support.pg import create_database, drop_database

PY = "def main(n: int = 2):\n    return {'double': n * 2}\n"
FLOW = {"summary": "Add then shout", "value": {"modules": [
    {"id": "a", "summary": "Add one", "value": {
        "type": "rawscript", "language": "python3", "input_transforms": {
            "n": {"type": "javascript", "expr": "flow_input.n"}},
        "content": "def main(n: int):\n    return n + 1\n"}},
    {"id": "b", "summary": "Shout", "value": {
        "type": "rawscript", "language": "bash", "input_transforms": {
            "x": {"type": "javascript", "expr": "results.a"}},
        "content": 'x="$1"\necho "got $x!"\n'}}]},
    "schema": {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}}
SECRET_VAR = "s3cr3t-variable-value-7f2a"
SECRET_FIELD = "s3cr3t-resource-field-91cd"


@pytest.fixture
def second_daemon(pg_server: Any, template_database: str, tmp_path: Path,
                  shared_cache: Path) -> Iterator[RunningDaemon]:
    name = f"test_{uuid.uuid4().hex}"
    url = create_database(pg_server.url, name, template=template_database)
    home = tmp_path / "home_b"
    home.mkdir()
    (home / "cache").symlink_to(shared_cache / "cache")
    (home / "envs").symlink_to(shared_cache / "envs")
    d = RunningDaemon(home=home, port=free_port(), database_url=url).start()
    try:
        yield d
    finally:
        d.stop()
        drop_database(pg_server.url, name)


def _settle(d: RunningDaemon) -> dict[str, Any]:
    r = d.api("GET", "sync/status", params={"wait": "true"})
    assert r.status_code == 200, r.text
    assert r.json()["errors"] == 0, d.log()
    return r.json()


def _history(repo_dir: Path) -> list[pygit2.Commit]:
    repo = pygit2.Repository(str(repo_dir))
    return list(repo.walk(repo.head.target, pygit2.enums.SortMode.TOPOLOGICAL
                          | pygit2.enums.SortMode.REVERSE))


def _changed_files(repo: pygit2.Repository, commit: pygit2.Commit) -> set[str]:
    if not commit.parents:
        return {d.new_file.path for d in commit.tree.diff_to_tree(swap=True).deltas}
    diff = repo.diff(commit.parents[0], commit)
    return {d.new_file.path for d in diff.deltas} | {d.old_file.path for d in diff.deltas}


def _all_blobs_text(repo_dir: Path) -> str:
    repo = pygit2.Repository(str(repo_dir))
    out = []
    for oid in repo.odb:
        obj = repo[oid]
        if isinstance(obj, pygit2.Blob):
            out.append(obj.data.decode(errors="replace"))
        elif isinstance(obj, pygit2.Commit):
            out.append(obj.message)
    return "\n".join(out)


def _deploy_flow(d: RunningDaemon, path: str, flow: dict[str, Any]) -> None:
    r = d.api("POST", "flows/create", json={**flow, "path": path})
    assert r.status_code == 201, r.text


def _run_flow(d: RunningDaemon, path: str, args: dict[str, Any]) -> Any:
    r = d.api("POST", f"jobs/run_wait_result/f/{path}", json=args)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.api_only
def test_each_change_is_one_commit_and_no_secret_enters_git(daemon: RunningDaemon) -> None:
    api = daemon.api
    daemon.deploy("f/demo/double", PY, summary="Double it")
    _deploy_flow(daemon, "f/demo/shout", FLOW)
    assert api("POST", "resources/type/create", json={"name": "acme", "schema": {
        "type": "object", "properties": {"host": {"type": "string"},
                                         "api_key": {"type": "string", "password": True}}}}
               ).status_code == 201
    assert api("POST", "resources/create", json={
        "path": "f/demo/acme", "resource_type": "acme",
        "value": {"host": "acme.lan", "api_key": SECRET_FIELD}}).status_code == 201
    assert api("POST", "variables/create", json={
        "path": "f/demo/token", "value": SECRET_VAR, "is_secret": True}).status_code == 201
    assert api("POST", "variables/update/f/demo/token",
               json={"value": SECRET_VAR + "-2"}).status_code == 200
    _settle(daemon)  # the deploy's commit shows the script before its archive removes it
    assert api("POST", "scripts/archive/p/f/demo/double").status_code == 200
    _settle(daemon)

    root = daemon.home / "workspace"
    repo = pygit2.Repository(str(root))
    commits = _history(root)
    messages = [c.message for c in commits]
    assert messages[0].startswith("export the workspace")
    assert messages[1:] == [
        "deploy script f/demo/double (by admin)", "deploy flow f/demo/shout (by admin)",
        "create resource type acme (by admin)", "create resource f/demo/acme (by admin)",
        "create variable f/demo/token (by admin)", "update variable f/demo/token (by admin)",
        "delete script f/demo/double (by admin)"]
    assert _changed_files(repo, commits[1]) >= {
        "f/demo/double.py", "f/demo/double.script.yaml", "f/demo/double.script.lock"}
    assert "f/demo/shout.flow/flow.yaml" in _changed_files(repo, commits[2])
    assert "f/demo/shout.flow/add_one.inline_script.py" in _changed_files(repo, commits[2])
    assert _changed_files(repo, commits[3]) == {"acme.resource-type.yaml"}
    assert _changed_files(repo, commits[4]) == {"f/demo/acme.resource.yaml"}
    assert _changed_files(repo, commits[5]) == {"f/demo/token.variable.yaml"}
    assert not (root / "f/demo/double.py").exists()  # deleted with its archive
    flow_yaml = (root / "f/demo/shout.flow/flow.yaml").read_text()
    assert "!inline add_one.inline_script.py" in flow_yaml
    assert "!inline shout.inline_script.sh" in flow_yaml
    meta = (commits[1].tree / "f/demo/double.script.yaml").data.decode()  # type: ignore[union-attr]
    assert "summary: Double it" in meta and "!inline f/demo/double.script.lock" in meta
    history = _all_blobs_text(root)
    assert SECRET_VAR not in history and SECRET_FIELD not in history
    assert "acme.lan" in history and "is_secret: true" in history


def test_two_homes_share_a_remote(daemon: RunningDaemon, second_daemon: RunningDaemon,
                                  tmp_path: Path) -> None:
    a, b = daemon, second_daemon
    remote = f"file://{tmp_path / 'shared.git'}"
    pygit2.init_repository(str(tmp_path / "shared.git"), bare=True, initial_head="main")
    a.deploy("f/demo/double", PY)
    _deploy_flow(a, "f/demo/shout", FLOW)
    a.api("POST", "variables/create", json={"path": "f/demo/token", "value": SECRET_VAR,
                                            "is_secret": True})
    a.api("POST", "variables/create", json={"path": "f/demo/plain", "value": "hello"})
    a.cli("sync", "push", "--remote", remote, check=True)

    pulled = b.cli("sync", "pull", "--remote", remote, check=True)
    assert "secret(s) are missing" in pulled.stdout
    assert "tidemill secret set f/demo/token" in pulled.stdout
    assert a.run_wait("f/demo/double", {"n": 21}) == b.run_wait("f/demo/double", {"n": 21}) \
        == ("success", {"double": 42})
    assert _run_flow(a, "f/demo/shout", {"n": 4}) == _run_flow(b, "f/demo/shout", {"n": 4}) \
        == "got 5!"
    assert b.api("GET", "variables/get_value/f/demo/plain").json() == "hello"
    # the secret is set on B by the command the pull printed (value on stdin)
    subprocess.run([sys.executable, "-m", "desktop_app.cli.main", "secret", "set",
                    "f/demo/token"], input=SECRET_VAR, text=True, env=b.env(), check=True,
                   capture_output=True)
    assert b.api("GET", "variables/get_value/f/demo/token").json() == SECRET_VAR

    # B changes the flow and deletes a variable; A pulls and sees both
    changed = json.loads(json.dumps(FLOW))
    changed["value"]["modules"][1]["value"]["content"] = 'x="$1"\necho "B says $x"\n'
    _deploy_flow(b, "f/demo/shout", changed)
    assert b.api("DELETE", "variables/delete/f/demo/plain").status_code == 200
    b.cli("sync", "push", check=True)
    out = a.cli("sync", "pull", check=True).stdout
    assert "flow f/demo/shout" in out and "deleted variable f/demo/plain" in out
    assert _run_flow(a, "f/demo/shout", {"n": 1}) == "B says 2"
    assert a.api("GET", "variables/exists/f/demo/plain").json() is False

    # both edit the same script: B's pull reports the conflict and changes nothing
    a.deploy("f/demo/double", "def main(n: int = 2):\n    return {'double': n * 20}\n")
    a.cli("sync", "push", check=True)
    b.deploy("f/demo/double", "def main(n: int = 2):\n    return {'double': -n}\n")
    head_b = _settle(b)["head"]
    tree_b = (b.home / "workspace/f/demo/double.py").read_text()
    conflict = b.cli("sync", "pull")
    assert conflict.returncode != 0
    assert "f/demo/double.py" in conflict.stderr and "nothing was changed" in conflict.stderr
    assert _settle(b)["head"] == head_b
    assert (b.home / "workspace/f/demo/double.py").read_text() == tree_b
    assert b.run_wait("f/demo/double", {"n": 3}) == ("success", {"double": -3})
    refused = b.cli("sync", "push")
    assert refused.returncode != 0 and "pull" in refused.stderr


def _windmill_folder(root: Path) -> Path:
    """A sync folder as `wmill sync pull` writes it (§2 of WINDMILL.md)."""
    def put(rel: str, text: str) -> None:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(textwrap.dedent(text))

    put("wmill.yaml", """\
        defaultTs: deno
        includes:
          - f/**
        """)
    put("f/imp/folder.meta.yaml", "display_name: imp\nowners: []\nextra_perms: {}\n")
    put("f/imp/hello.py", "def main(name: str = 'world'):\n    return f'hello {name}'\n")
    put("f/imp/hello.script.yaml", """\
        summary: Say hello
        description: ''
        lock: ''
        kind: script
        schema:
          $schema: https://json-schema.org/draft/2020-12/schema
          type: object
          properties:
            name:
              type: string
              default: world
          required: []
        """)
    put("f/imp/sum.ts", "export function main(a: number, b: number) {\n  return a + b;\n}\n")
    put("f/imp/sum.script.yaml", "summary: Sum\ndescription: ''\nkind: script\n")
    put("f/imp/shout.sh", 'word="${1:-hey}"\necho "${word^^}"\n')
    put("f/imp/acme.resource.yaml", """\
        description: an API
        resource_type: http_bearer
        value:
          token: $var:f/imp/api_token
        """)
    put("f/imp/api_token.variable.yaml", "description: ''\nvalue: abc\nis_secret: false\n")
    put("f/imp/route__flow/route.inline_script.ts",
        "export function main(n: number) {\n  return n * 10;\n}\n")
    put("f/imp/route__flow/small.inline_script.py", "def main(n: int):\n    return 'small'\n")
    put("f/imp/route__flow/big.inline_script.sh", 'x="$1"\necho "big $x"\n')
    put("f/imp/route__flow/flow.yaml", """\
        summary: Route by size
        value:
          modules:
            - id: a
              summary: Route
              value:
                type: rawscript
                content: '!inline route.inline_script.ts'
                language: deno
                input_transforms:
                  n:
                    type: javascript
                    expr: flow_input.n
            - id: b
              value:
                type: branchone
                branches:
                  - expr: results.a > 50
                    modules:
                      - id: c
                        summary: Big
                        value:
                          type: rawscript
                          content: '!inline big.inline_script.sh'
                          language: bash
                          input_transforms:
                            x:
                              type: javascript
                              expr: results.a
                default:
                  - id: d
                    summary: Small
                    value:
                      type: rawscript
                      content: '!inline small.inline_script.py'
                      language: python3
                      input_transforms:
                        n:
                          type: javascript
                          expr: results.a
        schema:
          type: object
          properties:
            n:
              type: integer
          required: [n]
        """)
    return root


def test_import_windmill_sync_folder_then_everything_runs(daemon: RunningDaemon,
                                                          tmp_path: Path) -> None:
    folder = _windmill_folder(tmp_path / "wm")
    res = daemon.cli("import", str(folder), check=True)
    # the folder (its folder.meta.yaml: owners and grants) is an item too
    assert "imported 7 items" in res.stdout and "folder imp" in res.stdout, res.stdout
    assert daemon.run_wait("f/imp/hello", {"name": "tide"}) == ("success", "hello tide")
    assert daemon.run_wait("f/imp/sum", {"a": 2, "b": 3}) == ("success", 5)
    assert daemon.run_wait("f/imp/shout", {"word": "mill"}) == ("success", "MILL")
    assert _run_flow(daemon, "f/imp/route", {"n": 9}) == "big 90"
    assert _run_flow(daemon, "f/imp/route", {"n": 2}) == "small"
    assert daemon.api("GET", "resources/get_value_interpolated/f/imp/acme").json() == \
        {"token": "abc"}
    script = daemon.api("GET", "scripts/get/p/f/imp/hello").json()
    assert script["summary"] == "Say hello" and script["language"] == "python3"
    # one commit for the import, with the files in Tidemill's (dotted) layout
    assert _history(daemon.home / "workspace")[-1].message == "import 7 items (by admin)"
    assert (daemon.home / "workspace/f/imp/route.flow/flow.yaml").exists()


@pytest.mark.api_only
def test_import_refuses_unsafe_or_malformed_folders(daemon: RunningDaemon,
                                                    tmp_path: Path) -> None:
    folder = _windmill_folder(tmp_path / "wm")
    (tmp_path / "secret.py").write_text("def main():\n    return 1\n")
    (folder / "f/imp/evil.py").symlink_to(tmp_path / "secret.py")
    res = daemon.cli("import", str(folder))
    assert res.returncode != 0 and "f/imp/evil.py" in res.stderr and "outside" in res.stderr
    (folder / "f/imp/evil.py").unlink()
    (folder / "f/imp/sum.script.yaml").write_text("summary: Sum\nschema: {type: [object\n")
    res = daemon.cli("import", str(folder))
    assert res.returncode != 0
    assert "f/imp/sum.script.yaml, line" in res.stderr and "nothing was applied" in res.stderr
    bad = daemon.api("POST", "sync/import", json={"files": {"../x.py": "def main(): pass\n"}})
    assert bad.status_code == 400 and "outside" in bad.text
    assert daemon.api("GET", "scripts/list").json() == []
    assert daemon.api("GET", "flows/list").json() == []


def test_changes_made_while_not_recording_are_caught_up(daemon: RunningDaemon) -> None:
    daemon.deploy("f/demo/kept", PY)
    daemon.deploy("f/demo/gone", PY)
    _settle(daemon)
    daemon.stop()
    daemon.extra_env["TIDEMILL_GITSYNC"] = "off"
    daemon.start()
    daemon.deploy("f/demo/added", PY)
    assert daemon.api("POST", "scripts/archive/p/f/demo/gone").status_code == 200
    daemon.stop()
    del daemon.extra_env["TIDEMILL_GITSYNC"]
    daemon.start()
    daemon.deploy("f/demo/next", "def main():\n    return 1\n")
    _settle(daemon)
    root = daemon.home / "workspace"
    repo = pygit2.Repository(str(root))
    commits = _history(root)
    assert [c.message for c in commits[-2:]] == [
        "record the changes made while Git sync was not running",
        "deploy script f/demo/next (by admin)"]
    assert _changed_files(repo, commits[-2]) == {
        "f/demo/added.py", "f/demo/added.script.yaml", "f/demo/added.script.lock",
        "f/demo/gone.py", "f/demo/gone.script.yaml", "f/demo/gone.script.lock"}
    assert sorted(p.name for p in (root / "f/demo").glob("*.py")) == [
        "added.py", "kept.py", "next.py"]


def test_schedules_travel_through_git(daemon: RunningDaemon, second_daemon: RunningDaemon,
                                      tmp_path: Path) -> None:
    a, b = daemon, second_daemon
    remote = f"file://{tmp_path / 'shared.git'}"
    pygit2.init_repository(str(tmp_path / "shared.git"), bare=True, initial_head="main")
    a.deploy("f/demo/double", PY)
    r = a.api("POST", "schedules/create", json={
        "path": "f/demo/nightly", "schedule": "0 0 3 * * *", "timezone": "Europe/Paris",
        "script_path": "f/demo/double", "is_flow": False, "args": {"n": 5},
        "enabled": False, "summary": "every night"})
    assert r.status_code == 201, r.text
    _settle(a)
    text = (a.home / "workspace/f/demo/nightly.schedule.yaml").read_text()
    assert "0 0 3 * * *" in text and "Europe/Paris" in text and "stats" not in text
    assert _history(a.home / "workspace")[-1].message == \
        "create schedule f/demo/nightly (by admin)"
    a.cli("sync", "push", "--remote", remote, check=True)
    out = b.cli("sync", "pull", "--remote", remote, check=True).stdout
    assert "schedule f/demo/nightly" in out
    got = b.api("GET", "schedules/get/f/demo/nightly").json()
    assert (got["schedule"], got["timezone"], got["args"], got["enabled"]) == \
        ("0 0 3 * * *", "Europe/Paris", {"n": 5}, False)
    assert a.api("DELETE", "schedules/delete/f/demo/nightly").status_code == 200
    a.cli("sync", "push", check=True)
    out = b.cli("sync", "pull", check=True).stdout
    assert "deleted schedule f/demo/nightly" in out
    assert b.api("GET", "schedules/exists/f/demo/nightly").json() is False
