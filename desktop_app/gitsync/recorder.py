"""Every change made through the API becomes one commit in ``$TIDEMILL_HOME/workspace``.

Routes call ``record_change(request, kind, path, action, who)`` after their transaction:
it only queues the change, so a deploy does not wait for Git. One background task takes
the changes in order, reads the item as it now is in the database, writes (or removes) its
files and commits them with a message saying what changed and by whom. Push, pull and
import hold the same lock, so Git is only ever touched by one of them at a time.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop_app.core.errors import UsageError
from desktop_app.definitions import sync as items
from desktop_app.definitions.sync import key_of as _key
from desktop_app.gitsync.layout import (
    item_files,
    read_folder,
    remove_item,
    write_folder_meta,
    write_item,
)
from desktop_app.gitsync.repo import WorkspaceRepo

log = logging.getLogger(__name__)

WORKSPACE = "main"  # the one workspace kept in Git (others are not recorded yet)
_STATE_KEY = "gitsync"


@dataclass
class Change:
    kind: str
    path: str
    action: str  # "deploy", "update", "delete", "create", "rename"
    who: str
    old_path: str | None = None


class ChangeRecorder:
    def __init__(self, state: Any, root: Path) -> None:
        self.state = state
        self.root = root
        self.lock = asyncio.Lock()
        self.queue: asyncio.Queue[Change] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._repo: WorkspaceRepo | None = None
        self._opening: asyncio.Task[None] | None = None
        self.pending: list[Change] = []  # queued, not committed yet
        self.errors = 0

    def open_soon(self) -> None:
        """Open (or create) the repository in the background, before changes come."""
        if self._opening is None and self._repo is None:
            self._opening = asyncio.get_running_loop().create_task(self._open())

    async def _open(self) -> None:
        try:
            async with self.lock:
                await self.repo()
        except Exception:
            self.errors += 1
            log.exception("could not open the workspace repository %s", self.root)

    async def repo(self) -> WorkspaceRepo:
        """The repository. Created, it gets the whole workspace in a first commit; opened
        (the daemon started), it first records what changed while no daemon recorded
        (changes queued when the last one stopped, or made with TIDEMILL_GITSYNC=off).
        Items of queued changes are left to those changes' own commits."""
        if self._repo is None:
            fresh = not (self.root / ".git").exists()
            repo = await asyncio.to_thread(WorkspaceRepo, self.root)
            async with self.state.pool.connection() as conn:
                everything = await items.all_items(conn, WORKSPACE)
            skip = {(c.kind, p) for c in self.pending for p in (c.path, c.old_path) if p}
            everything = [(k, i) for k, i in everything if (k, _key(k, i)) not in skip]
            await asyncio.to_thread(self._export_all, repo, everything, fresh, skip)
            self._repo = repo
        return self._repo

    def _export_all(self, repo: WorkspaceRepo, everything: list[tuple[str, dict[str, Any]]],
                    fresh: bool, skip: set[tuple[str, str]]) -> None:
        touched: list[str] = []
        if not fresh:
            try:
                on_disk = read_folder(self.root)
            except Exception:  # a broken working tree: leave it to the next pull or deploy
                log.exception("cannot read %s to bring it up to date", self.root)
                return
            present = {(k, _key(k, i)) for k, i in everything}
            for kind, found in on_disk.kinds().items():
                for path in found:
                    if (kind, path) not in present and (kind, path) not in skip:
                        touched += remove_item(self.root, kind, path)
        for kind, item in everything:
            try:
                touched += write_item(self.root, kind, item)
            except UsageError as e:  # e.g. a path no file can have: that item stays out
                log.warning("%s %s is not kept in Git: %s", kind, _key(kind, item), e.message)
        if fresh and not touched:
            touched = write_folder_meta(self.root, "")
        message = f"export the workspace ({len(everything)} items)" if fresh else \
            "record the changes made while Git sync was not running"
        repo.commit(touched, message, "tidemill")

    def record(self, change: Change) -> None:
        self.pending.append(change)
        self.queue.put_nowait(change)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def drain(self) -> None:
        """Wait until every queued change is committed."""
        if self._opening is not None:
            await asyncio.shield(self._opening)
        await self.queue.join()

    async def _run(self) -> None:
        while True:
            change = await self.queue.get()
            try:
                async with self.lock:
                    await self._commit(change)
            except Exception:  # a failed commit must not stop the next ones
                self.errors += 1
                log.exception("could not record %s %s in Git", change.kind, change.path)
            finally:
                self.pending.remove(change)
                self.queue.task_done()

    async def _commit(self, change: Change) -> str | None:
        repo = await self.repo()
        async with self.state.pool.connection() as conn:
            item = await items.read_item(conn, WORKSPACE, change.kind, change.path)
        return await asyncio.to_thread(self._write_and_commit, repo, change, item)

    def _write_and_commit(self, repo: WorkspaceRepo, change: Change,
                          item: dict[str, Any] | None) -> str | None:
        touched: list[str] = []
        if change.old_path and change.old_path != change.path:
            touched += remove_item(self.root, change.kind, change.old_path)
            touched += item_files(change.kind, change.old_path)
        if item is None:
            touched += remove_item(self.root, change.kind, change.path)
            verb = "delete"
        else:
            touched += write_item(self.root, change.kind, item)
            verb = change.action
        what = change.kind.replace("_", " ")
        message = f"{verb} {what} {change.path}"
        if change.old_path and change.old_path != change.path:
            message = f"rename {what} {change.old_path} to {change.path}"
        message += f" (by {change.who})"
        existing = [p for p in dict.fromkeys(touched)]
        # One commit per change, even one the files cannot show (a secret's new value).
        return repo.commit(existing, message, change.who, allow_empty=True)

    async def commit_items(self, changed: list[tuple[str, str]], message: str,
                           who: str) -> str | None:
        """Write the items now in the database and commit them together (an import).
        The caller holds `lock`."""
        repo = await self.repo()
        loaded: list[tuple[str, dict[str, Any]]] = []
        async with self.state.pool.connection() as conn:
            for kind, path in changed:
                item = await items.read_item(conn, WORKSPACE, kind, path)
                if item is not None:
                    loaded.append((kind, item))

        def write() -> str | None:
            touched: list[str] = []
            for kind, item in loaded:
                touched += write_item(self.root, kind, item)
            return repo.commit(list(dict.fromkeys(touched)), message, who)

        return await asyncio.to_thread(write)


def recorder_of(state: Any) -> ChangeRecorder:
    rec = state.extra.get(_STATE_KEY)
    if rec is None:
        rec = state.extra[_STATE_KEY] = ChangeRecorder(state, state.home / "workspace")
    return rec
