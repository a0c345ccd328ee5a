"""Git sync without a daemon: items ⇄ files in Windmill's layout, a real pygit2 repository
(commit, push to a bare remote, fast-forward, merge, conflict), and the safety checks."""

from __future__ import annotations

from pathlib import Path

import pygit2
import pytest

from desktop_app.core.errors import UsageError
from desktop_app.core.folder_files import collect_files
from desktop_app.gitsync.layout import read_folder, remove_item, write_item
from desktop_app.gitsync.repo import SyncConflict, WorkspaceRepo

SCRIPT = {"path": "f/demo/hello", "language": "python3", "summary": "Say hi",
          "description": "", "content": "def main(name: str = 'x'):\n    return name\n",
          "schema": {"type": "object", "properties": {"name": {"type": "string"}},
                     "required": []}, "kind": "script", "lock": "# py311\n"}
FLOW = {"path": "f/demo/twice", "summary": "Twice", "description": "", "schema": None,
        "value": {"modules": [{"id": "a", "summary": "Double it", "value": {
            "type": "rawscript", "language": "deno", "input_transforms": {},
            "content": "export function main() { return 2 }\n"}}]}}


def test_items_round_trip_through_files(tmp_path: Path) -> None:
    write_item(tmp_path, "script", SCRIPT)
    write_item(tmp_path, "flow", FLOW)
    write_item(tmp_path, "resource", {"path": "f/demo/db", "resource_type": "postgresql",
                                      "description": "", "value": {
                                          "host": "h", "password": {"$secret": "res-123"},
                                          "user": "$var:f/demo/user"}})
    write_item(tmp_path, "variable", {"path": "f/demo/pw", "is_secret": True, "value": None,
                                      "description": "d"})
    assert (tmp_path / "f/demo/hello.py").read_text() == SCRIPT["content"]
    assert "!inline f/demo/hello.script.lock" in (tmp_path / "f/demo/hello.script.yaml").read_text()
    assert (tmp_path / "f/demo/twice.flow/double_it.inline_script.ts").exists()
    assert (tmp_path / "f/demo/folder.meta.yaml").exists() and (tmp_path / "wmill.yaml").exists()
    resource = (tmp_path / "f/demo/db.resource.yaml").read_text()
    assert "res-123" not in resource and "password" in resource.splitlines()[0]
    snap = read_folder(tmp_path)
    assert snap.scripts["f/demo/hello"]["content"] == SCRIPT["content"]
    assert snap.scripts["f/demo/hello"]["lock"] == "# py311\n"
    assert snap.scripts["f/demo/hello"]["language"] == "python3"
    assert snap.flows["f/demo/twice"]["value"] == FLOW["value"]
    assert snap.resources["f/demo/db"]["value"] == {"host": "h", "user": "$var:f/demo/user"}
    assert snap.variables["f/demo/pw"] == {"path": "f/demo/pw", "is_secret": True, "value": "",
                                           "description": "d"}
    # a language change leaves no stale file; a removal removes every file of the item
    write_item(tmp_path, "script", {**SCRIPT, "language": "bash", "content": "echo hi\n"})
    assert not (tmp_path / "f/demo/hello.py").exists()
    assert read_folder(tmp_path).scripts["f/demo/hello"]["language"] == "bash"
    remove_item(tmp_path, "script", "f/demo/hello")
    remove_item(tmp_path, "flow", "f/demo/twice")
    assert sorted(p.name for p in (tmp_path / "f/demo").iterdir()) == [
        "db.resource.yaml", "folder.meta.yaml", "pw.variable.yaml"]


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    write_item(tmp_path, "script", SCRIPT)
    (tmp_path / "f/demo/bad.resource.yaml").write_text("value:\n  a: [1,\nresource_type: x\n")
    with pytest.raises(UsageError, match=r"f/demo/bad.resource.yaml, line \d+"):
        read_folder(tmp_path)


def test_paths_escaping_the_folder_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "sync"
    write_item(root, "script", SCRIPT)
    (tmp_path / "outside.py").write_text("def main(): pass\n")
    (root / "f/demo/evil.py").symlink_to(tmp_path / "outside.py")
    for reader in (read_folder, collect_files):
        with pytest.raises(UsageError, match="symbolic link leading outside"):
            reader(root)
    (root / "f/demo/evil.py").unlink()
    (root / "f/demo/hello.script.yaml").write_text("summary: x\nlock: '!inline ../../etc/passwd'\n")
    with pytest.raises(UsageError, match=r"no absolute path, no '\.\.'"):
        read_folder(root)


def _clone_pair(tmp_path: Path) -> tuple[WorkspaceRepo, WorkspaceRepo, str]:
    url = f"file://{tmp_path / 'remote.git'}"
    pygit2.init_repository(str(tmp_path / "remote.git"), bare=True, initial_head="main")
    a, b = WorkspaceRepo(tmp_path / "a"), WorkspaceRepo(tmp_path / "b")
    a.commit(write_item(a.root, "script", SCRIPT), "deploy", "alice")
    a.push(url)
    b.finish_pull(b.prepare_pull(b.fetch(url)), "bob")
    return a, b, url


def test_push_pull_merge_and_conflict(tmp_path: Path) -> None:
    a, b, _url = _clone_pair(tmp_path)
    assert (b.root / "f/demo/hello.py").read_text() == SCRIPT["content"]
    # different files on both sides: a merge
    b.commit(write_item(b.root, "flow", FLOW), "deploy flow", "bob")
    b.push(None)
    a.commit(write_item(a.root, "variable", {"path": "f/demo/v", "is_secret": False,
                                             "value": "1", "description": ""}), "var", "alice")
    plan = a.prepare_pull(a.fetch(None))
    assert plan.kind == "merge"
    a.finish_pull(plan, "alice")
    assert (a.root / "f/demo/twice.flow/flow.yaml").exists()
    a.push(None)
    # the same file on both sides: a conflict that changes nothing
    b.finish_pull(b.prepare_pull(b.fetch(None)), "bob")
    a.commit(write_item(a.root, "script", {**SCRIPT, "content": "def main():\n    return 'a'\n"}),
             "a", "alice")
    a.push(None)
    b.commit(write_item(b.root, "script", {**SCRIPT, "content": "def main():\n    return 'b'\n"}),
             "b", "bob")
    head = b.head
    with pytest.raises(SyncConflict, match=r"f/demo/hello\.py"):
        b.prepare_pull(b.fetch(None))
    assert b.head == head and "'b'" in (b.root / "f/demo/hello.py").read_text()
    with pytest.raises(Exception, match="pull"):
        b.push(None)
