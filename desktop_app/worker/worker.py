"""The worker loop: claim a job, run it in its own process, record the outcome.

One worker runs one job at a time. It wakes on NOTIFY (falling back to a short
poll), heartbeats the running job, streams its logs into the database, and
completes it in one transaction. When the database goes away it keeps the
running job's result and retries until the database is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import socket
import uuid
from pathlib import Path
from typing import Any

import psycopg
from psycopg import AsyncConnection

from desktop_app.core.errors import ResourceError, TidemillError
from desktop_app.core.jobs import JobStatus, error_result, is_plain_arg
from desktop_app.core.languages import RUNNABLE_LANGUAGES
from desktop_app.db import references
from desktop_app.db import scripts as script_store
from desktop_app.db.settings import (
    BASE_URL,
    INSTANCE_ID,
    JOB_TOKEN_KEY,
    ensure_secret_setting,
    get_setting,
)
from desktop_app.durable import engine as durable
from desktop_app.flows import secrets_access
from desktop_app.queue import limits, queue
from desktop_app.queue.logs import (
    DEFAULT_LOG_MAX_BYTES,
    append_log,
    next_log_seq,
    truncation_note,
)
from desktop_app.queue.model import ClaimedJob
from desktop_app.queue.notify import CANCEL_CHANNEL, QUEUE_CHANNEL
from desktop_app.queue.run_folders import hold_alive, let_go, run_folder
from desktop_app.runtimes import sandbox
from desktop_app.runtimes.base import JobContext, Outcome
from desktop_app.runtimes.registry import make_runtimes, runtime_for
from desktop_app.secrets.masking import LogMasker, printed_forms
from desktop_app.worker.environment import job_environment
from desktop_app.worker.process import confine, over_memory, run_and_stream

log = logging.getLogger(__name__)

DEFAULT_TAGS = tuple(sorted(RUNNABLE_LANGUAGES))


#: The most log text one heartbeat tick writes (the final flush writes everything).
FLUSH_CHARS = 1024 * 1024
#: How long a job's end waits for its heartbeat's write in flight (normally a millisecond).
HEARTBEAT_STOP_S = 10.0


class LogBuffer:
    """Output not yet written to the database, and the next chunk number.

    Secret values the job read are masked before anything is written. Once a secret is
    known, the last (longest secret - 1) characters are held back at each flush so a
    secret split across two flushes is still caught; the final flush writes everything.
    Output past `limit` bytes is counted, not kept: the log says where it stopped and the
    final flush ends it with how much was dropped.
    """

    def __init__(self, seq: int = 0, limit: int = DEFAULT_LOG_MAX_BYTES) -> None:
        self.parts: list[str] = []
        self.seq = seq
        # A write that failed or was cancelled may still have committed (autocommit: the
        # server can finish it before the error or the cancel reaches us). Then `seq` is
        # behind, and the next write would reuse a chunk number: the next flush reads
        # the number from the database first.
        self.seq_unsure = False
        self.masker: LogMasker | None = None
        self._longest = 0
        self._held = ""
        self.limit = limit
        self._kept = 0  # bytes of output accepted so far
        self.dropped = 0  # bytes of output past the limit

    def add(self, text: str) -> None:
        if self.dropped:
            self.dropped += len(text.encode("utf-8", "replace"))
            return
        size = len(text.encode("utf-8", "replace"))
        if self._kept + size <= self.limit:
            self._kept += size
            self.parts.append(text)
            return
        room = self.limit - self._kept
        kept = text.encode("utf-8", "replace")[:room].decode("utf-8", "ignore")
        self.parts.append(kept)
        self._kept += len(kept.encode("utf-8", "replace"))
        self.dropped = size - len(kept.encode("utf-8", "replace"))
        self.parts.append(f"\n[tidemill] log limit of {self.limit} bytes reached;"
                          " further output is dropped\n")

    def mask_values(self, values: list[str]) -> None:
        if self.masker is None:
            self.masker = LogMasker()
        for value in values:
            for v in printed_forms(value):  # also inside JSON and base64
                self.masker.add(v)
                self._longest = max(self._longest, len(v))

    async def flush(self, conn: AsyncConnection[Any], job_id: uuid.UUID, final: bool = False,
                    upto: int | None = None) -> None:
        """Write the first `upto` parts (all by default) of the output."""
        # Output may arrive while the insert awaits: only drop what was written.
        n = len(self.parts) if upto is None else upto
        if not final:
            # At most FLUSH_CHARS a tick: writing (and indexing) a flood at once would hold
            # the heartbeat that follows past the reaper's limit; the rest waits a tick.
            size = 0
            for i in range(n):
                size += len(self.parts[i])
                if size > FLUSH_CHARS:
                    n = max(i, 1)
                    break
        note = truncation_note(self.dropped, self.limit) if final and self.dropped else ""
        if n == 0 and not (final and (self._held or note)):
            return
        text = self._held + "".join(self.parts[:n])
        held = ""
        if self.masker is not None:
            text = self.masker.mask(text)
            if not final and self._longest > 1:
                text, held = text[: len(text) - self._longest + 1], text[len(text) - self._longest + 1:]
        text += note
        if text:
            if self.seq_unsure:
                self.seq = await next_log_seq(conn, job_id)
                self.seq_unsure = False
            try:
                self.seq = await append_log(conn, job_id, self.seq, text)
            except BaseException:
                self.seq_unsure = True
                raise
        del self.parts[:n]
        self._held = held

    def withhold(self, notice: str) -> None:
        """Drop the output not yet written, in favour of `notice`: it may hold a secret
        that cannot be masked."""
        self.parts, self._held = [notice], ""

    def snapshot(self) -> tuple[list[str], int, str]:
        return list(self.parts), self.seq, self._held

    def restore(self, state: tuple[list[str], int, str]) -> None:
        self.parts, self.seq, self._held = list(state[0]), state[1], state[2]


class _NotOurs(Exception):
    """The claimed job was taken back (re-queued or completed) before its process started."""


class Worker:
    def __init__(
        self,
        database_url: str,
        home: Path,
        *,
        name: str | None = None,
        tags: tuple[str, ...] = DEFAULT_TAGS,
        base_url: str | None = None,
        heartbeat_s: float = 2.0,
        log_flush_s: float = 0.5,
        poll_s: float = 1.0,
        default_timeout_s: int = 3600,
        max_result_bytes: int = 8 * 1024 * 1024,
        memory_mb: int | None = None,
    ) -> None:
        self.database_url = database_url
        self.home = home
        self.name = name or f"{socket.gethostname()}-{uuid.uuid4().hex[:6]}"
        self.tags = tags
        self.base_url = base_url
        self.heartbeat_s = heartbeat_s
        self.log_flush_s = log_flush_s
        self.poll_s = poll_s
        self.default_timeout_s = default_timeout_s
        self.max_result_bytes = max_result_bytes
        if memory_mb is None:  # the daemon's --job-memory-mb reaches its workers this way
            memory_mb = int(os.environ.get("TIDEMILL_JOB_MEMORY_MB") or sandbox.DEFAULT_MEMORY_MB)
        self.memory_bytes = memory_mb * 1024 * 1024 if memory_mb > 0 else None
        self.runtimes = make_runtimes()
        sandbox.configure(home)
        self.conn: AsyncConnection[Any] | None = None
        self._wake = asyncio.Event()
        self._cancel: dict[uuid.UUID, asyncio.Event] = {}
        self._scripts: dict[tuple[str, str], script_store.ScriptVersion] = {}
        self._token_key = ""
        self._instance = ""
        self._secrets: Any = None  # opened on first need: most jobs read no secret
        self._masked_refs: dict[uuid.UUID, set[str]] = {}
        self.jobs_done = 0
        # A flow's next step claimed in the transaction that completed its previous one
        # (the flow fast path): run next, without claiming.
        self._next: ClaimedJob | None = None

    # -- life cycle ---------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set; the job in progress is finished first (drain)."""
        # While this lock is held, a daemon starting on this home leaves our folders alone.
        alive = hold_alive(self.home / "jobs", self.name)
        listener = asyncio.create_task(self._listen(stop))
        backoff = 0.2
        try:
            while not stop.is_set():
                try:
                    await self._connect()
                    backoff = 0.2
                    await self._loop(stop)
                except psycopg.OperationalError as exc:
                    log.warning("worker %s lost the database (%s); reconnecting in %.1fs",
                                self.name, str(exc).strip().splitlines()[0], backoff)
                    await self._close()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), backoff)
                    backoff = min(backoff * 2, 5.0)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
            await self._close()
            let_go(self.home / "jobs", self.name, alive)

    async def _connect(self) -> None:
        if self.conn is not None and not self.conn.closed:
            return
        self.conn = await AsyncConnection.connect(self.database_url, autocommit=True)
        self._token_key = await ensure_secret_setting(self.conn, JOB_TOKEN_KEY)
        self._instance = (await ensure_secret_setting(self.conn, INSTANCE_ID))[:12]
        secrets_access.configure(self.home, self._instance)
        async with self.conn.transaction():
            # A predecessor of the same name (a `tidemill worker --name X` started again):
            # its row and its running jobs keep their own name, so the reaper judges them
            # by the dead process, not by us.
            await self.conn.execute(
                "WITH old AS (UPDATE workers SET name = name || '~' || pid"
                "              WHERE name = %(n)s AND (pid <> %(pid)s OR hostname <> %(h)s)"
                "             RETURNING name)"
                " UPDATE job_queue SET worker = old.name FROM old"
                "  WHERE job_queue.worker = %(n)s AND job_queue.running",
                {"n": self.name, "pid": os.getpid(), "h": socket.gethostname()})
            await self.conn.execute(
                "INSERT INTO workers (name, hostname, pid, tags) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (name) DO UPDATE SET pid = excluded.pid, last_ping = now()",
                (self.name, socket.gethostname(), os.getpid(), list(self.tags)))
        if self.base_url is None:
            self.base_url = await get_setting(self.conn, BASE_URL) or "http://127.0.0.1:8765"

    async def _close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):
                await self.conn.close()
        self.conn = None

    async def _loop(self, stop: asyncio.Event) -> None:
        assert self.conn is not None
        loop = asyncio.get_running_loop()
        next_ping = 0.0
        while not stop.is_set():
            if loop.time() >= next_ping:  # the reaper judges our jobs by this ping
                await queue.worker_ping(self.conn, self.name)
                next_ping = loop.time() + self.heartbeat_s
            self._wake.clear()  # before claiming, so a push during the claim is not missed
            if self._next is not None:
                jobs, self._next = [self._next], None
            else:
                jobs = await queue.claim(self.conn, self.name, self.tags, 1, self.heartbeat_s)
            if not jobs:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_s)
                continue
            if len(jobs) > 1:  # never with today's claim; never leave a claimed row unrun
                back = await queue.give_back(self.conn, self.name, [j.id for j in jobs[1:]])
                log.error("worker %s claimed %d jobs at once; gave %d back", self.name,
                          len(jobs), back)
            if not await limits.admit(self.conn, jobs[0].id, self.name, jobs[0].extra):
                continue  # over its concurrency limit: back in the queue, due later
            await self.execute(jobs[0])
        if self._next is not None:  # stopping: the step claimed ahead goes back to the queue
            await queue.give_back(self.conn, self.name, [self._next.id])
            self._next = None

    async def _listen(self, stop: asyncio.Event) -> None:
        """Wake-ups and cancel requests arrive on their own connection (psycopg must not
        run queries on a connection while it iterates notifies)."""
        while not stop.is_set():
            try:
                async with await AsyncConnection.connect(self.database_url, autocommit=True) as c:
                    await c.execute(f"LISTEN {QUEUE_CHANNEL}")
                    await c.execute(f"LISTEN {CANCEL_CHANNEL}")
                    self._wake.set()  # we may have missed pushes while not listening
                    async for note in c.notifies():
                        if note.channel == QUEUE_CHANNEL:
                            if note.payload in self.tags:
                                self._wake.set()
                        else:
                            with contextlib.suppress(ValueError):
                                event = self._cancel.get(uuid.UUID(note.payload))
                                if event is not None:
                                    event.set()
            except psycopg.OperationalError:
                await asyncio.sleep(0.5)

    # -- one job ------------------------------------------------------------------

    async def execute(self, job: ClaimedJob) -> None:
        cancel = asyncio.Event()
        self._cancel[job.id] = cancel
        workdir = run_folder(self.home / "jobs", job.id, self.name)
        try:
            assert self.conn is not None
            resumed = job.attempt or "wac" in job.extra  # a retry, or a workflow's next round
            # The log cap is read when the job starts (queue.mark_started); the few lines
            # before that count against the default.
            logs = LogBuffer(await next_log_seq(self.conn, job.id) if resumed else 0)
            try:
                outcome, status, fresh_lock = await self._run_job(job, workdir, logs, cancel)
            except _NotOurs:
                log.warning("job %s was re-queued or completed before it started here;"
                            " not running it", job.id)
                return
            await self._complete(job, logs, status, outcome, fresh_lock)
            self.jobs_done += 1
        finally:
            self._cancel.pop(job.id, None)
            self._masked_refs.pop(job.id, None)
            shutil.rmtree(workdir, ignore_errors=True)

    async def _run_job(
        self, job: ClaimedJob, workdir: Path, logs: LogBuffer, cancel: asyncio.Event
    ) -> tuple[Outcome, JobStatus, str | None]:
        # Pinged from the claim on: preparing a job (a venv to build) may take a while.
        job_ended = asyncio.Event()
        heartbeat = asyncio.create_task(self._heartbeat(job.id, logs, cancel, job_ended))
        try:
            assert self.conn is not None
            cached = await limits.cached_result(self.conn, job.extra)
            if cached is not None:
                logs.add("[tidemill] the same script version ran with these arguments within"
                         " its cache_ttl: that result is reused\n")
                return Outcome(True, cached), JobStatus.SUCCESS, None
            try:
                ctx, stored_lock = await self._context(job, workdir)
            except TidemillError as exc:
                logs.add(f"[tidemill] {exc}\n")
                return Outcome.failure(type(exc).__name__, str(exc)), JobStatus.FAILURE, None
            logs.mask_values([ctx.env["WM_TOKEN"]])  # the job's own credential never shows
            try:
                runtime = runtime_for(self.runtimes, ctx.language)
                launch = await runtime.prepare(ctx)
            except Exception as exc:  # a job that cannot start fails; the worker lives on
                for line in ctx.log_lines:
                    logs.add(f"[tidemill] {line}\n")
                if not isinstance(exc, TidemillError):
                    log.exception("preparing job %s failed", job.id)
                    exc = TidemillError(f"preparing the job failed: {type(exc).__name__}: {exc}")
                logs.add(f"[tidemill] {exc}\n")
                return Outcome.failure(type(exc).__name__, str(exc)), JobStatus.FAILURE, None
            for line in ctx.log_lines:
                logs.add(f"[tidemill] {line}\n")
            assert self.conn is not None
            cap = await queue.mark_started(self.conn, self.name, job.id,
                                           workspace=job.workspace_id, script_hash=job.script_hash)
            if cap is None:
                raise _NotOurs(job.id)
            logs.limit = cap
            confine(launch, workdir, self.memory_bytes)
            timeout = job.timeout_s or self.default_timeout_s
            proc, reason = await run_and_stream(launch, logs.add, cancel, timeout)
        finally:
            # Let a flush or ping in flight finish rather than cancel it half-way (see
            # LogBuffer.seq_unsure); one stuck on a hung connection is cancelled.
            job_ended.set()
            with contextlib.suppress(asyncio.CancelledError, asyncio.TimeoutError):
                await asyncio.wait_for(heartbeat, HEARTBEAT_STOP_S)
        fresh_lock = ctx.lock if ctx.lock != stored_lock else None
        if reason == "canceled":
            by, why = await self._cancel_info(job.id)
            return Outcome(False, json.dumps(queue.canceled_result(by, why))), JobStatus.CANCELED, fresh_lock
        if reason == "timeout":
            message = f"job exceeded its timeout of {timeout} s and was killed"
            logs.add(f"\n[tidemill] {message}\n")
            return Outcome.failure("Timeout", message), JobStatus.FAILURE, fresh_lock
        outcome = over_memory(runtime.outcome(ctx, proc.returncode, list(proc.tail)),
                              self.memory_bytes)
        return outcome, JobStatus.SUCCESS if outcome.success else JobStatus.FAILURE, fresh_lock

    async def _context(self, job: ClaimedJob, workdir: Path) -> tuple[JobContext, str | None]:
        assert self.conn is not None and self.base_url is not None
        schema: dict[str, Any] | None
        if job.raw_code is not None:
            code, lock, language = job.raw_code, job.raw_lock, job.language or "python3"
            schema = job.extra.get("schema") if isinstance(job.extra.get("schema"), dict) else None
        else:
            if not job.script_hash:
                raise TidemillError(f"job {job.id} names no script version")
            script = await self._script(job.workspace_id, job.script_hash)
            if script.lock_error:
                raise TidemillError(
                    f"the requirements of {script.path} could not be resolved:\n{script.lock_error}",
                    hint="fix the requirements and deploy again",
                )
            code, lock, language, schema = script.content, script.lock, script.language, script.schema
        workdir.mkdir(parents=True, exist_ok=True)
        if job.extra.get("shared_dir"):  # a step of a `same_worker` flow
            shared = self.home / "shared" / str(job.extra["shared_dir"])
            shared.mkdir(parents=True, exist_ok=True)
            (workdir / "shared").symlink_to(shared, target_is_directory=True)
        env = job_environment(job, base_url=self.base_url, token_key=self._token_key, worker=self.name)
        args = await self._resolve_references(job)
        wac_checkpoint = job.extra.get("wac_checkpoint")
        if wac_checkpoint is None and "wac" in job.extra:  # a workflow's next round
            wac_checkpoint = await durable.load_checkpoint(self.conn, job.id)
        ctx = JobContext(
            job_id=str(job.id), language=language, code=code, args=args, schema=schema,
            lock=lock, workdir=workdir, env=env, state_dir=self.home,
            max_result_bytes=self.max_result_bytes, wac_checkpoint=wac_checkpoint,
        )
        return ctx, lock

    async def _resolve_references(self, job: ClaimedJob) -> dict[str, Any]:
        """`$res:`/`$var:` arguments become the values they name (as in Windmill); a secret
        read this way is masked in the job's logs like one read through the API."""
        if not any(references.is_reference(v) and not is_plain_arg(job.extra, k)
                   for k, v in job.args.items()):
            return dict(job.args)  # no reference, or only ones their supplier may not use
        assert self.conn is not None
        conn = self.conn

        async def note_secret(ref: str) -> None:
            await conn.execute("INSERT INTO job_secret_reads (job_id, workspace_id, secret_ref)"
                               " VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                               (job.id, job.workspace_id, ref))

        try:
            # with the rights of the job's caller: a job reads only what they may
            reader = references.ReadsAs.permissioned_as(job.permissioned_as)
            return {k: v if is_plain_arg(job.extra, k) else
                    await references.resolve(conn, job.workspace_id, v, reader,
                                             secrets_access.secret_value, note_secret)
                    for k, v in job.args.items()}
        except TidemillError as exc:
            raise ResourceError(f"an argument's reference could not be resolved: {exc.message}",
                                hint=exc.hint) from exc

    async def _script(self, workspace: str, hash_: str) -> script_store.ScriptVersion:
        key = (workspace, hash_)
        script = self._scripts.get(key)
        if script is None or script.lock is None:
            assert self.conn is not None
            script = await script_store.by_hash(self.conn, workspace, hash_)
            self._scripts[key] = script
        return script

    async def _heartbeat(self, job_id: uuid.UUID, logs: LogBuffer, cancel: asyncio.Event,
                         job_ended: asyncio.Event) -> None:
        """Write the job's output and ping its row each tick, until `job_ended` is set;
        the final flush is `_complete`'s."""
        loop = asyncio.get_running_loop()
        next_ping = loop.time() + self.heartbeat_s
        while True:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(job_ended.wait(), self.log_flush_s)
            if job_ended.is_set():
                return
            try:
                assert self.conn is not None
                # Only output that arrived before the masks were refreshed may be written:
                # a secret read (and printed) while they were being read is not known yet.
                ready = len(logs.parts)
                if await self._refresh_masks(job_id, logs):
                    await logs.flush(self.conn, job_id, upto=ready)
                if loop.time() >= next_ping:
                    next_ping = loop.time() + self.heartbeat_s
                    if await queue.heartbeat(self.conn, job_id, self.name):
                        cancel.set()
            except (psycopg.Error, AssertionError) as exc:
                # The job keeps running; its logs stay buffered until the database is back.
                log.warning("heartbeat for %s failed: %s", job_id, exc)
                with contextlib.suppress(Exception):
                    await self._reconnect_quietly()

    async def _refresh_masks(self, job_id: uuid.UUID, logs: LogBuffer) -> bool:
        """Learn the secrets this job read through the API since the last flush; False
        when one of them could not be read back (keyring trouble): then nothing may be
        written yet.

        The API records a read (committed) before it answers the script, and the output
        to write is counted before this query, so a secret printed after reading it is
        always known here before the output that contains it is written. A ref counts as
        known only once its value is in the masker: a refresh cancelled half-way (the job
        ended) leaves it to the final one."""
        if not logs.parts or self.conn is None:
            return True
        cur = await self.conn.execute(
            "SELECT workspace_id, secret_ref FROM job_secret_reads WHERE job_id = %s", (job_id,))
        known = self._masked_refs.setdefault(job_id, set())
        for ws, ref in await cur.fetchall():
            if ref in known:
                continue
            try:
                value = await asyncio.to_thread(self._secret_value, ws, ref)
            except Exception as exc:  # the keyring's many failure types; retried next time
                log.warning("job %s read secret %s, which cannot be read back to mask it: %s",
                            job_id, ref, exc)
                return False
            if value:
                logs.mask_values([value])
            known.add(ref)
        return True

    def _secret_value(self, workspace: str, ref: str) -> str | None:
        if self._secrets is None:
            from desktop_app.secrets.store import open_secret_store

            self._secrets = open_secret_store(self.home, self._instance)
        return self._secrets.get(workspace, ref)

    async def _reconnect_quietly(self) -> None:
        if self.conn is None or self.conn.closed or self.conn.broken:
            self.conn = await AsyncConnection.connect(self.database_url, autocommit=True)

    async def _cancel_info(self, job_id: uuid.UUID) -> tuple[str, str | None]:
        assert self.conn is not None
        cur = await self.conn.execute(
            "SELECT canceled_by, canceled_reason FROM job_queue WHERE id = %s", (job_id,))
        row = await cur.fetchone()
        return (row[0] or "unknown", row[1]) if row else ("unknown", None)

    async def _complete(self, job: ClaimedJob, logs: LogBuffer, status: JobStatus,
                        outcome: Outcome, fresh_lock: str | None) -> None:
        """Record the outcome in one transaction, retrying until the database answers:
        a finished job's result is never dropped because Postgres restarted."""
        delay = 0.2
        saved = logs.snapshot()
        while True:
            logs.restore(saved)  # a rolled-back attempt must not lose or skip log chunks
            try:
                await self._reconnect_quietly()
                assert self.conn is not None
                if not await self._refresh_masks(job.id, logs):
                    logs.withhold("[tidemill] this job's output is withheld: it read a secret "
                                  "that could not be read back from the keyring to mask it\n")
                async with self.conn.transaction():
                    await logs.flush(self.conn, job.id, final=True)
                    if fresh_lock is not None and job.script_hash and job.raw_code is None:
                        await script_store.set_lock(self.conn, job.workspace_id, job.script_hash,
                                                    fresh_lock, None)
                    result_json = outcome.result_json
                    if outcome.wac:
                        rnd = await durable.apply_round(self.conn, job,
                                                        durable.round_payload(result_json))
                        if rnd.suspended:  # the workflow waits, holding no worker
                            await queue.worker_ping(self.conn, self.name, idle=True)
                            return
                        status, result_json = rnd.status or status, json.dumps(rnd.result)
                    # (a flow step: its flow moves on, in this transaction)
                    nxt = await self._complete_and_claim_next(job, status, result_json)
                self._next = nxt  # committed: it is ours
                return
            except psycopg.OperationalError as exc:
                log.warning("completing %s failed (%s); retrying in %.1fs", job.id, exc, delay)
                await self._close()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            except psycopg.Error as exc:
                # Not an outage: a value or a rule the database refuses, which a retry would
                # meet again. The job still ends, failed with that cause, and the worker lives
                # on (it used to die, and the job to fail later as WorkerLost, cause unseen).
                log.exception("recording the outcome of job %s failed", job.id)
                logs.restore(saved)  # the output the rolled-back attempt did not write
                await self._complete_failed(job, logs, exc)
                return

    async def _complete_failed(self, job: ClaimedJob, logs: LogBuffer, exc: psycopg.Error) -> None:
        """End the job as failed because its outcome could not be recorded (one transaction:
        its output, a line saying why, and the failure); an error here too ends the worker,
        as before."""
        assert self.conn is not None
        message = (f"recording this job's outcome failed: {type(exc).__name__}: "
                   f"{str(exc).strip()}")
        logs.add(f"\n[tidemill] {message}\n")
        async with self.conn.transaction():
            await logs.flush(self.conn, job.id, final=True)
            nxt = await self._complete_and_claim_next(
                job, JobStatus.FAILURE, json.dumps(error_result("CompletionFailed", message)))
        self._next = nxt

    async def _complete_and_claim_next(self, job: ClaimedJob, status: JobStatus,
                                       result_json: str) -> ClaimedJob | None:
        """Complete the job in the caller's transaction; for a flow step, also claim the
        flow's next step for this worker (the flow fast path), returned to run next."""
        assert self.conn is not None
        fin = await queue.complete(self.conn, job.id, status, None, result_json=result_json,
                                   worker=self.name)
        if fin is None or fin.parent_job is None:
            return None
        return await queue.claim_child(self.conn, self.name, self.tags, fin.parent_job,
                                       self.heartbeat_s)
