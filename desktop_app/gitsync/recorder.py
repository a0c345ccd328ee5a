"""Every change becomes one commit in ``$TIDEMILL_HOME/workspace``, in the order the
changes committed.

The change log (definitions/changes.py) is the queue: each change writes its row, with
the item as its files show it after the change, in the change's own transaction, and
NOTIFYs. One background task reads the rows after the last one recorded (a setting in
the database), writes each item's files (or removes them) and commits them with a
message saying what changed and by whom. Each commit holds what its own change made
(the row's item), never what a later one did. A pull or an import records its items in
its own commit; their rows are passed over.

When the recorder starts it takes a snapshot of the database (before the daemon serves
requests): a new repository gets the whole workspace as of that snapshot in a first
commit; an existing one gets, in one catch-up commit, what changed before the snapshot
that no commit has (changes made while nothing was recording). Every later change is
its own commit. Push, pull and import hold the same lock, so Git is only ever touched by
one of them at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from pathlib import Path
from typing import Any

from psycopg import AsyncConnection

from desktop_app.core.errors import UsageError
from desktop_app.db.settings import get_setting, set_setting
from desktop_app.definitions import changes
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
_CURSOR = "gitsync_recorded_change"  # the id of the last change row recorded in Git
_POLL_S = 2.0  # backs up a NOTIFY lost while the listener reconnected


def enabled() -> bool:
    """TIDEMILL_GITSYNC=off: nothing records (e.g. to measure what the commits cost)."""
    return os.environ.get("TIDEMILL_GITSYNC", "on").lower() not in ("off", "0")


class ChangeRecorder:
    def __init__(self, state: Any, root: Path) -> None:
        self.state = state  # the API's state: pool, database_url, waiter
        self.root = root
        self.lock = asyncio.Lock()
        self._repo: WorkspaceRepo | None = None
        self._cursor = 0
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self.errors = 0

    def listen(self) -> None:
        """Be woken by each change's NOTIFY (call before the waiter starts)."""
        if enabled():
            self.state.waiter.watch(changes.CHANNEL, lambda _payload: self._wake.set())

    async def start(self) -> None:
        """Take the snapshot the repository starts from now (call before the API serves),
        then record in the background."""
        if self._task is not None or not enabled():
            return
        snapshot = await self._snapshot()
        self._task = asyncio.get_running_loop().create_task(self._run(snapshot))

    async def stop(self, drain_s: float = 30.0) -> None:
        """Record what is pending (within `drain_s`), then stop."""
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.drain(), drain_s)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _snapshot(self) -> AsyncConnection[Any]:
        """A connection in a REPEATABLE READ transaction whose snapshot is taken now."""
        # autocommit, so this BEGIN opens the transaction (psycopg would otherwise have
        # begun one already, at READ COMMITTED)
        conn = await AsyncConnection.connect(self.state.database_url, autocommit=True)
        await conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        await conn.execute("SELECT 1")  # the snapshot is taken by the first statement
        return conn

    async def _run(self, snapshot: AsyncConnection[Any]) -> None:
        try:
            async with self.lock:
                await self._open(snapshot)
        except Exception:
            self.errors += 1
            log.exception("could not open the workspace repository %s", self.root)
        while True:
            try:
                async with self.lock:
                    await self.repo()
                    await self._record_pending()
            except asyncio.CancelledError:
                raise
            except Exception:  # the next wake tries again
                self.errors += 1
                log.exception("could not record changes in Git")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), _POLL_S)
            self._wake.clear()

    async def repo(self) -> WorkspaceRepo:
        """The repository, opened (and brought up to date) on first use. The caller holds
        `lock`."""
        if self._repo is None:
            await self._open(await self._snapshot())
        assert self._repo is not None
        return self._repo

    async def _open(self, snapshot: AsyncConnection[Any]) -> None:
        """Bring the repository to the snapshot's state: the whole workspace in a new
        repository, else one catch-up commit of what no commit has (never an empty one)."""
        if self._repo is not None:
            await snapshot.close()
            return
        try:
            fresh = not (self.root / ".git").exists()
            repo = await asyncio.to_thread(WorkspaceRepo, self.root)
            everything = await items.all_items(snapshot, WORKSPACE)
            upto = await changes.last_id(snapshot)
            recorded = await get_setting(snapshot, _CURSOR)
        finally:
            await snapshot.close()
        if fresh or recorded is None or int(recorded) < upto:
            await asyncio.to_thread(self._export_all, repo, everything, fresh)
            await self._save_cursor(upto)
        else:
            self._cursor = int(recorded)
        self._repo = repo

    def _export_all(self, repo: WorkspaceRepo, everything: list[tuple[str, dict[str, Any]]],
                    fresh: bool) -> None:
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
                    if (kind, path) not in present:
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

    async def _save_cursor(self, change_id: int) -> None:
        self._cursor = change_id
        async with self.state.pool.connection() as conn:
            await set_setting(conn, _CURSOR, str(change_id))

    async def _record_pending(self) -> None:
        """Commit every change after the cursor, one commit each, in order."""
        assert self._repo is not None
        while True:
            async with self.state.pool.connection() as conn:
                rows = await changes.changes_after(conn, WORKSPACE, self._cursor)
            if not rows:
                return
            for row in rows:
                if row["item_action"] not in changes.RECORDED_BY_SYNC:
                    try:
                        await asyncio.to_thread(self._write_and_commit, self._repo, row)
                    except Exception:  # one unrecordable item must not stop the rest
                        self.errors += 1
                        log.exception("could not record %s %s in Git", row["item_kind"],
                                      row["resource"])
                await self._save_cursor(int(row["id"]))

    def _write_and_commit(self, repo: WorkspaceRepo, row: dict[str, Any]) -> str | None:
        kind, path, item = row["item_kind"], row["resource"], row["item"]
        old_path = row["old_path"]
        touched: list[str] = []
        if old_path and old_path != path:
            touched += remove_item(self.root, kind, old_path)
            touched += item_files(kind, old_path)
        if item is None:
            touched += remove_item(self.root, kind, path)
            verb = "delete"
        else:
            touched += write_item(self.root, kind, item)
            verb = row["item_action"]
        what = kind.replace("_", " ")
        message = f"{verb} {what} {path}"
        if old_path and old_path != path:
            message = f"rename {what} {old_path} to {path}"
        message += f" (by {row['username']})"
        # One commit per change, even one the files cannot show (a secret's new value):
        # the history says it happened. A commit is never empty for want of its content:
        # the row holds the item as that change left it.
        return repo.commit(list(dict.fromkeys(touched)), message, row["username"],
                           allow_empty=True)

    async def drain(self) -> None:
        """Commit every change made so far (the caller does not hold `lock`)."""
        if not enabled():
            return
        async with self.lock:
            await self.repo()
            await self._record_pending()

    async def pending(self) -> int:
        """Changes not yet in Git."""
        async with self.state.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT count(*) FROM audit_log WHERE id > %s AND workspace_id = %s"
                " AND item_kind IS NOT NULL", (self._cursor, WORKSPACE))
            row = await cur.fetchone()
        return int(row[0]) if row else 0

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
