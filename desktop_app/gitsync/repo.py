"""The workspace's Git repository (pygit2; no git binary): commits of touched paths,
push, and the two halves of a pull (``prepare_pull`` computes the merged tree without
touching anything; ``finish_pull`` moves the branch and the working tree)."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pygit2

from desktop_app.core.errors import TidemillError, UsageError

BRANCH = "main"
REF = f"refs/heads/{BRANCH}"
REMOTE = "origin"
REMOTE_REF = f"refs/remotes/{REMOTE}/{BRANCH}"


class SyncConflict(UsageError):
    """The remote and this workspace changed the same files."""

    http_status = 409

    def __init__(self, files: list[str]) -> None:
        self.files = files
        super().__init__(
            "pull stopped: the remote and this workspace both changed "
            + ", ".join(files) + "; nothing was changed here (database and files as they were)",
            hint="keep one side: redeploy your version after deleting the other on the remote, "
                 "or edit the files in the remote repository, then pull again")


class RemoteError(TidemillError):
    """The remote repository could not be reached or refused the update."""

    http_status = 400  # a wrong URL or an unreachable remote: the user's to fix


class PushRejected(RemoteError):
    """The remote has commits this workspace lacks."""

    http_status = 409


@dataclass
class PullPlan:
    """What a pull would do: the tree to move to, and the commits involved."""

    kind: str  # "up-to-date", "fast-forward", "merge"
    old_tree: pygit2.Tree | None
    new_tree: pygit2.Tree | None
    theirs: pygit2.Oid | None
    merged_tree_id: pygit2.Oid | None = None


class WorkspaceRepo:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        if (self.root / ".git").exists():
            # Only this home's daemon (it holds daemon.lock) writes here: a lock file is
            # what a killed daemon left mid-commit.
            (self.root / ".git" / "index.lock").unlink(missing_ok=True)
            self.repo = pygit2.Repository(str(self.root))
        else:
            self.repo = pygit2.init_repository(str(self.root), initial_head=BRANCH)

    @property
    def head(self) -> str | None:
        return None if self.repo.head_is_unborn else str(self.repo.head.target)

    def _signature(self, who: str) -> pygit2.Signature:
        return pygit2.Signature(who or "tidemill", f"{who or 'tidemill'}@tidemill.local")

    def commit(self, paths: list[str], message: str, who: str, *,
               allow_empty: bool = False) -> str | None:
        """Stage `paths` (files or folders, added, changed or deleted) and commit them;
        None when nothing changed (unless `allow_empty`)."""
        index = self.repo.index
        index.read()
        if paths:
            # Out first, then back in what still exists: files gone from a folder go too.
            index.remove_all(paths)
            present = [p for p in paths if (self.root / p).exists()]
            if present:
                index.add_all(present)
        index.write()
        tree = index.write_tree()
        parents = [] if self.repo.head_is_unborn else [self.repo.head.target]
        if not allow_empty and parents and \
                self.repo[parents[0]].peel(pygit2.Commit).tree_id == tree:
            return None
        sig = self._signature(who)
        oid = self.repo.create_commit(REF, sig, sig, message, tree, parents)
        return str(oid)

    def _remote(self, url: str | None) -> pygit2.Remote:
        names = list(self.repo.remotes.names())
        if url:
            try:
                if REMOTE in names:
                    self.repo.remotes.set_url(REMOTE, url)
                else:
                    self.repo.remotes.create(REMOTE, url)
            except (ValueError, pygit2.GitError) as e:
                raise UsageError(f"invalid remote URL {url!r}: {e}") from e
        elif REMOTE not in names:
            raise UsageError("no remote is set for this workspace",
                             hint="pass one: tidemill sync push --remote URL "
                                  "(file://, ssh:// or https://)")
        return self.repo.remotes[REMOTE]

    def remote_url(self) -> str | None:
        names = list(self.repo.remotes.names())
        return self.repo.remotes[REMOTE].url if REMOTE in names else None

    def push(self, url: str | None) -> str:
        """Push the branch; RemoteError when the remote has commits we lack."""
        remote = self._remote(url)
        if self.repo.head_is_unborn:
            raise UsageError("nothing to push: the workspace has no commit yet")
        try:
            remote.push([f"{REF}:{REF}"])
        except pygit2.GitError as e:
            text = str(e)
            if "non-fast" in text or "fastforward" in text or "not present locally" in text:
                raise PushRejected(f"push refused: the remote has changes this workspace does "
                                  f"not have ({text})",
                                  hint="run `tidemill sync pull` first, then push") from e
            raise RemoteError(f"push to {remote.url} failed: {text}") from e
        return str(self.repo.head.target)

    def fetch(self, url: str | None) -> pygit2.Oid | None:
        remote = self._remote(url)
        try:
            remote.fetch([f"+{REF}:{REMOTE_REF}"])
        except pygit2.GitError as e:
            raise RemoteError(f"fetch from {remote.url} failed: {e}") from e
        ref = self.repo.references.get(REMOTE_REF)
        return pygit2.Oid(hex=str(ref.target)) if ref is not None else None

    def prepare_pull(self, theirs: pygit2.Oid | None) -> PullPlan:
        """The merged tree, or SyncConflict listing the files; changes nothing."""
        old_tree = None if self.repo.head_is_unborn else \
            self.repo.head.peel(pygit2.Commit).tree
        if theirs is None:
            return PullPlan("up-to-date", old_tree, old_tree, None)
        their_commit = self.repo[theirs].peel(pygit2.Commit)
        if self.repo.head_is_unborn:
            return PullPlan("fast-forward", None, their_commit.tree, theirs)
        analysis, _pref = self.repo.merge_analysis(theirs)
        if analysis & pygit2.enums.MergeAnalysis.UP_TO_DATE:
            return PullPlan("up-to-date", old_tree, old_tree, None)
        if analysis & pygit2.enums.MergeAnalysis.FASTFORWARD:
            return PullPlan("fast-forward", old_tree, their_commit.tree, theirs)
        ours = self.repo.head.peel(pygit2.Commit)
        index = self.repo.merge_commits(ours, their_commit)
        if index.conflicts is not None:
            files = sorted({entry.path for triple in index.conflicts for entry in triple
                            if entry is not None})
            raise SyncConflict(files)
        tree_id = index.write_tree(self.repo)
        return PullPlan("merge", old_tree, self.repo[tree_id].peel(pygit2.Tree), theirs,
                        tree_id)

    def finish_pull(self, plan: PullPlan, who: str) -> str | None:
        """Move the branch to the pulled state and check it out."""
        if plan.kind == "up-to-date" or plan.theirs is None:
            return self.head
        if plan.kind == "fast-forward":
            target = plan.theirs
            self.repo.references.create(REF, target, force=True)
        else:
            assert plan.merged_tree_id is not None
            sig = self._signature(who)
            target = self.repo.create_commit(
                REF, sig, sig, f"merge {REMOTE}/{BRANCH} (pulled by {who})", plan.merged_tree_id,
                [self.repo.head.target, plan.theirs])
        self.repo.set_head(REF)
        self.repo.checkout_tree(self.repo[target].peel(pygit2.Tree),
                                strategy=pygit2.enums.CheckoutStrategy.FORCE
                                | pygit2.enums.CheckoutStrategy.REMOVE_UNTRACKED)
        self.repo.index.read()
        return str(target)

    def extract(self, tree: pygit2.Tree | None) -> tempfile.TemporaryDirectory[str]:
        """The tree's files in a temporary folder (to be parsed before anything changes)."""
        tmp = tempfile.TemporaryDirectory(prefix="tidemill-tree-")
        if tree is not None:
            self._extract(tree, Path(tmp.name))
        return tmp

    def _extract(self, tree: pygit2.Tree, into: Path) -> None:
        for entry in tree:
            target = into / str(entry.name)
            if entry.type_str == "tree":
                target.mkdir()
                self._extract(self.repo[entry.id].peel(pygit2.Tree), target)
            elif entry.type_str == "blob":
                data = self.repo[entry.id].peel(pygit2.Blob).data
                if entry.filemode == pygit2.enums.FileMode.LINK:
                    os.symlink(data.decode(), target)  # checked by the reader, not followed
                else:
                    target.write_bytes(data)
