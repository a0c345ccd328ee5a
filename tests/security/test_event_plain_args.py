"""An event trigger's message comes from a peer, not a person with rights: the runs it
starts carry `plain_args`, and a flow hands it on to its steps' expression inputs while
its author's static inputs stay references (resolved by the worker)."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from desktop_app.core.jobs import PLAIN_ARGS
from desktop_app.triggers import runs

STEP = {"id": "a", "value": {"type": "rawscript", "language": "bash", "content": "echo $1",
                             "input_transforms": {
                                 "msg": {"type": "javascript", "expr": "flow_input.msg"},
                                 "key": {"type": "static", "value": "$var:f/sec/key"}}}}


def _trigger(path: str, target: str, is_flow: bool) -> dict[str, Any]:
    return {"workspace_id": "main", "kind": "websocket", "path": path, "script_path": target,
            "is_flow": is_flow, "edited_by": "admin", "permissioned_as": "u/admin",
            "retry": None}


async def test_event_runs_pass_references_as_text(database_url: str) -> None:
    async with await AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute("INSERT INTO scripts (workspace_id, hash, path, language, content,"
                           " created_by) VALUES ('main', 'h1', 'f/ev/hook', 'bash', 'echo', 't')")
        await conn.execute("INSERT INTO flows (path, value, created_by) VALUES"
                           " ('f/ev/flow', %s, 't')", (Jsonb({"modules": [STEP]}),))
    async with AsyncConnectionPool(database_url, min_size=1, max_size=2,
                                   kwargs={"autocommit": True}) as pool:
        script_job = await runs.fire(pool, _trigger("f/ev/t1", "f/ev/hook", False),
                                     {"msg": "$var:f/sec/key"}, {"msg": "$var:f/sec/key"})
        flow_job = await runs.fire(pool, _trigger("f/ev/t2", "f/ev/flow", True),
                                   {"msg": "$var:f/sec/key"}, {"msg": "$var:f/sec/key"})
        assert script_job is not None and flow_job is not None
        async with pool.connection() as conn:
            cur = await conn.execute("SELECT id, parent_job, args, extra FROM job_queue")
            jobs = {(r[1] or r[0]): r for r in await cur.fetchall() if r[1] is None}
            cur = await conn.execute("SELECT args, extra FROM job_queue WHERE parent_job = %s",
                                     (flow_job,))
            steps = await cur.fetchall()
    assert jobs[script_job][3][PLAIN_ARGS] is True
    assert jobs[flow_job][3][PLAIN_ARGS] is True
    assert len(steps) == 1
    args, extra = steps[0]
    assert args == {"msg": "$var:f/sec/key", "key": "$var:f/sec/key"}
    assert extra[PLAIN_ARGS] == ["msg"]  # the peer's text stays text; the author's resolves
