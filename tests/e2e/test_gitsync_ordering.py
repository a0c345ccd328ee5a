"""Issue 15, Git sync ordering: on a fresh daemon, the changes made in its first seconds
are each their own commit, in order, after the export — none folded into a catch-up
commit, none empty. And an item Git cannot hold never stops the changes after it."""

from __future__ import annotations

from pathlib import Path

import pygit2
from psycopg import Connection

from tests.e2e.daemon_harness import RunningDaemon

PY = "def main(n: int = 2):\n    return n * 2\n"


def _history(repo_dir: Path) -> list[pygit2.Commit]:
    repo = pygit2.Repository(str(repo_dir))
    return list(repo.walk(repo.head.target, pygit2.enums.SortMode.TOPOLOGICAL
                          | pygit2.enums.SortMode.REVERSE))


def _changed(repo: pygit2.Repository, commit: pygit2.Commit) -> set[str]:
    diff = repo.diff(commit.parents[0], commit)
    return {d.new_file.path for d in diff.deltas}


def test_first_seconds_changes_are_separate_ordered_commits(daemon: RunningDaemon) -> None:
    api = daemon.api
    # At once, as a script or a client does right after starting the daemon.
    daemon.deploy("f/early/one", PY)
    assert api("POST", "variables/create", json={
        "path": "f/early/v", "value": "a", "is_secret": False}).status_code == 201
    assert api("POST", "variables/update/f/early/v", json={"value": "b"}).status_code == 200
    daemon.deploy("f/early/two", PY)
    assert api("POST", "scripts/archive/p/f/early/one").status_code == 200
    status = api("GET", "sync/status", params={"wait": "true"}).json()
    assert status["pending"] == 0 and status["errors"] == 0, status

    root = daemon.home / "workspace"
    repo = pygit2.Repository(str(root))
    commits = _history(root)
    messages = [c.message for c in commits]
    assert messages[0].startswith("export the workspace"), messages
    assert messages[1:] == [
        "deploy script f/early/one (by admin)", "create variable f/early/v (by admin)",
        "update variable f/early/v (by admin)", "deploy script f/early/two (by admin)",
        "delete script f/early/one (by admin)"], messages
    assert not any("not running" in m for m in messages)
    changed = [_changed(repo, c) for c in commits[1:]]
    assert all(changed), f"an empty commit: {list(zip(messages[1:], changed, strict=True))}"
    assert "f/early/one.py" in changed[0] and changed[1] == {"f/early/v.variable.yaml"}
    # Each commit holds what its own change made: the variable's first commit has "a".
    first = commits[2].tree / "f/early/v.variable.yaml"
    assert "value: a" in first.data.decode()  # type: ignore[union-attr]
    assert "value: b" in (root / "f/early/v.variable.yaml").read_text()


def test_an_item_git_cannot_hold_does_not_stop_the_rest(daemon: RunningDaemon) -> None:
    # An item that reached the database around the rules (an old version, a hand edit):
    # its commit fails, the next change is still recorded.
    daemon.deploy("f/ok/first", PY)
    daemon.api("GET", "sync/status", params={"wait": "true"})
    with Connection.connect(daemon.database_url, autocommit=True) as conn:
        conn.execute("UPDATE scripts SET path = 'f/ok/' || repeat('x', 300)"
                     " WHERE path = 'f/ok/first'")
        conn.execute("INSERT INTO audit_log (workspace_id, username, operation, action_kind,"
                     " resource, item_kind, item_action, item) SELECT 'main', 'admin',"
                     " 'scripts.create', 'Created', path, 'script', 'deploy', '{}'::jsonb"
                     " FROM scripts WHERE path LIKE 'f/ok/xxx%' LIMIT 1")
    daemon.deploy("f/ok/after", PY)
    status = daemon.api("GET", "sync/status", params={"wait": "true"}).json()
    assert status["pending"] == 0
    assert _history(daemon.home / "workspace")[-1].message == \
        "deploy script f/ok/after (by admin)"
