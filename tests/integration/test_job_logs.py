"""Job logs: paged reads at any offset, long writes split into chunks, the per-job cap
(script, workspace, default) and the line that says how much was dropped."""

from __future__ import annotations

import uuid
from typing import Any

from psycopg import AsyncConnection

from desktop_app.core.jobs import JobStatus
from desktop_app.db import workspace_settings
from desktop_app.queue.logs import (
    CHUNK_CHARS,
    DEFAULT_LOG_MAX_BYTES,
    append_log,
    log_limit,
    read_log_page,
    read_logs,
)
from desktop_app.worker.worker import LogBuffer


async def connect(url: str) -> AsyncConnection:
    return await AsyncConnection.connect(url, autocommit=True)


async def test_pages_at_any_offset_give_back_the_text_written(database_url: str) -> None:
    conn = await connect(database_url)
    job = uuid.uuid4()
    text = "".join(f"line {i} é✓\n" for i in range(60_000))  # ~800 K characters, non-ASCII
    seq = await append_log(conn, job, 0, text[:1000])
    seq = await append_log(conn, job, seq, text[1000:])  # long: split into several rows
    rows = await (await conn.execute(
        "SELECT count(*), max(length(chunk)) FROM job_logs WHERE job_id = %s", (job,))).fetchone()
    assert rows[0] == seq >= 1 + len(text[1000:]) // CHUNK_CHARS and rows[1] <= CHUNK_CHARS
    assert await read_logs(conn, job) == text
    for offset in (0, 1, 999, 1000, 1001, CHUNK_CHARS + 7, len(text) - 1, len(text)):
        assert await read_logs(conn, job, offset) == text[offset:], offset
    page = await read_log_page(conn, job, 5, max_chars=10)
    assert text[5:].startswith(page) and len(page) >= 10  # whole rows: at least what was asked
    # the pages a client would read one after the other give the whole log back
    got, offset = [], 0
    while page := await read_log_page(conn, job, offset, max_chars=100_000):
        got.append(page)
        offset += len(page)
    assert "".join(got) == text and len(got) > 3
    await conn.close()


async def test_nul_bytes_do_not_shift_offsets(database_url: str) -> None:
    conn = await connect(database_url)
    job = uuid.uuid4()
    seq = await append_log(conn, job, 0, "a\x00b")
    await append_log(conn, job, seq, "cd")
    assert await read_logs(conn, job) == "a\\0bcd"
    assert await read_logs(conn, job, 4) == "cd"
    await conn.close()


async def test_a_log_past_its_cap_ends_saying_how_much_was_dropped(database_url: str) -> None:
    conn = await connect(database_url)
    job = uuid.uuid4()
    logs = LogBuffer(0, limit=1000)
    for _ in range(50):
        logs.add("x" * 99 + "\n")  # 5,000 bytes
    await logs.flush(conn, job)
    logs.add("more\n")
    await logs.flush(conn, job, final=True)
    text = await read_logs(conn, job)
    kept = text.split("[tidemill]")[0]
    assert kept == ("x" * 99 + "\n") * 10 + "\n"  # 1000 bytes, then the notes
    assert "log limit of 1000 bytes reached" in text
    assert text.rstrip("\n").splitlines()[-1].startswith(
        "[tidemill] log truncated: 3.9 KB (4005 bytes) of output dropped after the 1000 bytes")
    await conn.close()


async def test_the_cap_comes_from_the_script_then_the_workspace(database_url: str) -> None:
    conn = await connect(database_url)
    assert await log_limit(conn, "main", None) == DEFAULT_LOG_MAX_BYTES
    await workspace_settings.update(conn, "main", {"log_max_bytes": 5000})
    assert await log_limit(conn, "main", None) == 5000
    assert await log_limit(conn, "other", None) == DEFAULT_LOG_MAX_BYTES
    await conn.execute(
        "INSERT INTO scripts (workspace_id, hash, path, language, content, created_by, extra)"
        " VALUES ('main', 'h1', 'f/x/y', 'bash', 'echo', 'test', '{\"log_max_bytes\": 123}'),"
        "        ('main', 'h2', 'f/x/z', 'bash', 'echo', 'test', '{\"log_max_bytes\": \"big\"}')")
    assert await log_limit(conn, "main", "h1") == 123
    await conn.execute(
        "INSERT INTO scripts (workspace_id, hash, path, language, content, created_by, extra)"
        " VALUES ('main', 'h3', 'f/x/w', 'bash', 'echo', 'test', '{\"log_max_bytes\": 2048.5}'),"
        "        ('main', 'h4', 'f/x/v', 'bash', 'echo', 'test', '{\"log_max_bytes\": 1e30}')")
    assert await log_limit(conn, "main", "h3") == 2048  # a fraction is not an error
    assert await log_limit(conn, "main", "h4") == 9 * 10**18  # nor a number past bigint
    assert await log_limit(conn, "main", "h2") == 5000  # not a number: the workspace's
    await workspace_settings.update(conn, "main", {"log_max_bytes": None})
    assert await log_limit(conn, "main", "h2") == DEFAULT_LOG_MAX_BYTES
    await conn.close()


async def test_log_search_pages_newest_first_through_window_and_index(
        database_url: str, monkeypatch: Any) -> None:
    from desktop_app.db import jobs as job_reads
    from desktop_app.queue.logs import matching_lines

    monkeypatch.setattr(job_reads, "SEARCH_WINDOW_PAGES", 2)  # a window of 2 pages
    conn = await connect(database_url)
    ids = []
    for i in range(40):  # job 0 is the oldest; every job logs "common", every 5th "Rare_%"
        job = uuid.uuid4()
        ids.append(job)
        await conn.execute(
            "INSERT INTO job_completed (id, kind, tag, created_by, permissioned_as, created_at,"
            " status) VALUES (%s, 'script', 'bash', 't', 'u/t', now() - make_interval(secs => %s),"
            " 'success')", (job, 1000 - i))
        await append_log(conn, job, 0, f"common line {i}\n" + ("x Rare_% here\n" if i % 5 == 0 else ""))
    newest_first = ids[::-1]

    async def search(text: str, **kw: Any) -> list[uuid.UUID]:
        f = job_reads.JobFilter(log_search=text, per_page=4, **kw)
        return [r["id"] for r in await job_reads.list_jobs(conn, "main", f)]

    assert await search("COMMON line") == newest_first[:4]  # found in the window
    rare = [j for j in newest_first if ids.index(j) % 5 == 0]
    first = await search("rare_%")  # 1 in 5: the window (8 jobs) has too few, the index runs
    assert first == rare[:4]
    rows = await job_reads.list_jobs(conn, "main", job_reads.JobFilter(log_search="rare_%",
                                                                       per_page=4))
    after = (rows[-1]["created_at"], rows[-1]["id"])
    assert await search("rare_%", before=after) == rare[4:8]
    assert await search("rare_x") == []  # _ and % are literal
    lines = await matching_lines(conn, rare[:2], "RARE_%")
    assert set(lines.values()) == {"x Rare_% here"}
    await conn.close()


async def test_a_tick_writes_at_most_a_megabyte_and_the_end_writes_all(database_url: str) -> None:
    from desktop_app.worker.worker import FLUSH_CHARS

    conn = await connect(database_url)
    job = uuid.uuid4()
    logs = LogBuffer(0)
    for i in range(80):
        logs.add(f"{i:05d}" + "y" * 65530 + "\n")  # 80 reads of 64 KB: 5 MB
    await logs.flush(conn, job)
    written = len(await read_logs(conn, job))
    assert 0 < written <= FLUSH_CHARS and logs.parts  # the rest waits for the next tick
    await logs.flush(conn, job, final=True)
    text = await read_logs(conn, job)
    assert len(text) == 80 * 65536 and text.endswith("00079" + "y" * 65530 + "\n")
    await conn.close()


async def test_a_flush_cancelled_mid_write_never_makes_the_next_one_fail(database_url: str) -> None:
    # Cancelled at any point of its INSERT, a flush may or may not have committed; the next
    # flush must still write (a reused chunk number used to kill the worker).
    import asyncio

    conn = await connect(database_url)
    for delay in range(20):
        job = uuid.uuid4()
        logs = LogBuffer()
        logs.add("first\n")
        first = asyncio.create_task(logs.flush(conn, job))
        for _ in range(delay):  # cancel at a different point of the round trip each time
            await asyncio.sleep(0)
        first.cancel()
        try:
            await first
        except asyncio.CancelledError:
            pass
        logs.add("last\n")
        await logs.flush(conn, job, final=True)
        text = await read_logs(conn, job)
        assert text.endswith("first\nlast\n"), (delay, text)


async def test_a_job_started_by_its_worker_gets_its_scripts_cap(database_url: str) -> None:
    # The worker learns the cap in the statement that marks the job started.
    import socket

    from desktop_app.queue import queue
    from desktop_app.queue.model import NewJob

    conn = await connect(database_url)
    await workspace_settings.update(conn, "main", {"log_max_bytes": 5000})
    await conn.execute(
        "INSERT INTO scripts (workspace_id, hash, path, language, content, created_by, extra)"
        " VALUES ('main', 'h1', 'f/x/y', 'bash', 'echo', 'test', '{\"log_max_bytes\": 123}')")
    await conn.execute("INSERT INTO workers (name, hostname, pid, tags) VALUES ('w', %s, 1, '{}')",
                       (socket.gethostname(),))
    for hash_, cap in (("h1", 123), (None, 5000)):
        await queue.push(conn, NewJob(kind="script", tag="bash", created_by="t", script_hash=hash_))
        (job,) = await queue.claim(conn, "w", ["bash"])
        assert await queue.mark_started(conn, "w", job.id, workspace="main",
                                        script_hash=job.script_hash) == cap
        await queue.complete(conn, job.id, JobStatus.SUCCESS, None, worker="w")
    assert await queue.mark_started(conn, "w", job.id, workspace="main",
                                        script_hash=None) is None  # no longer its
    await conn.close()
