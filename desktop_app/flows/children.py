"""Creating a flow's child jobs: steps, loop iterations and branches, and timers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from desktop_app.core.errors import UsageError
from desktop_app.core.jobs import PLAIN_ARGS, default_tag, has_plain_args
from desktop_app.core.languages import require_runnable
from desktop_app.db import scripts as script_store
from desktop_app.flows import scope as scopes
from desktop_app.queue import limits, queue
from desktop_app.queue.model import NewJob

# Parsing a step's signature costs ~1 ms; the same inline code runs many times.
_schemas: dict[tuple[str, str], dict[str, Any]] = {}

# A step whose worker died is run again once: a flow must not fail because a process was
# killed (the reaper re-queues it). A step's own failures follow its `retry` option.
_LOST_WORKER_RETRIES = 1


def step_schema(content: str, language: str) -> dict[str, Any]:
    from desktop_app.parsing import script_metadata

    key = (language, content)
    if key not in _schemas:
        if len(_schemas) > 512:
            _schemas.clear()
        _schemas[key] = script_metadata(content, language)["schema"]
    return _schemas[key]


class ChildFactory:
    def __init__(self, conn: AsyncConnection[Any], flow_row: dict[str, Any]) -> None:
        self.conn = conn
        self.row = flow_row
        self.flow_id: uuid.UUID = flow_row["id"]

    def _common(self, args: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
        # `same_worker`: every step of the flow (loops and branches included) sees one
        # `./shared` folder. Workers of one daemon share the disk, so a folder keyed by the
        # root flow gives Windmill's shared state without pinning a worker.
        shared = (self.row.get("extra") or {}).get("shared_dir")
        if shared is None and (self.row.get("raw_flow") or {}).get("same_worker"):
            shared = str(self.row["root_job"] or self.flow_id)
        if shared is not None:
            extra = {**extra, "shared_dir": shared}
        priority = (self.row.get("extra") or {}).get(limits.FLOW_PRIORITY)
        if priority is not None:  # the root flow's `priority` reaches its nested runs' jobs
            extra = {**extra, limits.FLOW_PRIORITY: priority}
        if has_plain_args(self.row.get("extra")) and PLAIN_ARGS not in extra:
            # The flow's input came from a party that may not resolve references: so do
            # the child flows it flows into (loop iterations, branches, flow steps).
            extra = {**extra, PLAIN_ARGS: True}
        return {
            "created_by": self.row["created_by"],
            "permissioned_as": self.row["permissioned_as"],
            "workspace_id": self.row["workspace_id"],
            "parent_job": self.flow_id,
            "root_job": self.row["root_job"] or self.flow_id,
            "args": args,
            "extra": extra,
        }

    async def step(self, mod: dict[str, Any], args: dict[str, Any], scope: dict[str, Any],
                   timeout: int | None, when: datetime | None = None,
                   cache_key: str | None = None) -> uuid.UUID:
        value = mod.get("value") or {}
        kind = value.get("type")
        extra: dict[str, Any] = {"flow_step_id": mod["id"]}
        if cache_key:
            extra["cache_key"] = cache_key
        if has_plain_args(self.row.get("extra")) and kind != "flow":
            # A static input is the flow author's (its references resolve); an expression
            # may carry the untrusted input (its references stay text).
            transforms = value.get("input_transforms") or {}
            extra[PLAIN_ARGS] = [name for name in args if not (
                isinstance(transforms.get(name), dict)
                and transforms[name].get("type") == "static")]
        common = self._common(args, extra)
        if kind == "rawscript":
            language = require_runnable(value.get("language"))
            content = value.get("content") or ""
            extra["schema"] = step_schema(content, language)
            job = NewJob(kind="flowscript", tag=value.get("tag") or default_tag(language),
                         language=language, raw_code=content, raw_lock=value.get("lock") or None,
                         script_path=value.get("path"), scheduled_for=when, timeout_s=timeout,
                         max_retries=_LOST_WORKER_RETRIES, **common)
        elif kind == "script":
            ws = self.row["workspace_id"]
            script = (await script_store.by_hash(self.conn, ws, value["hash"]) if value.get("hash")
                      else await script_store.latest(self.conn, ws, value.get("path") or ""))
            job = NewJob(kind="script", tag=value.get("tag_override") or script.tag
                         or default_tag(script.language), language=script.language,
                         script_path=script.path, script_hash=script.hash, scheduled_for=when,
                         timeout_s=timeout or script.timeout_s, max_retries=_LOST_WORKER_RETRIES,
                         **common)
            # The script's own concurrency limit and priority hold inside a flow too.
            settings = script.extra or {}
            job.priority = int(settings.get("priority") or 0)
            job.extra.update(limits.job_settings(ws, script.path, script.hash,
                                                 {k: v for k, v in settings.items()
                                                  if k != limits.CACHE_TTL}, args))
        elif kind == "flow":
            from desktop_app.db import flows as flow_store

            flow = await flow_store.latest(self.conn, self.row["workspace_id"], value.get("path") or "")
            return await self._start_flow(flow["value"], args, {**extra, "scope": {}},
                                          script_path=flow["path"])
        else:
            raise UsageError(f"step {mod.get('id')}: a {kind!r} module has no job of its own")
        # the step's own `priority`, else the flow's, else the script's
        job.priority = int(mod.get("priority") or (self.row.get("extra") or {}).get(limits.FLOW_PRIORITY)
                           or job.priority)
        await queue.push(self.conn, job)
        return job.id

    async def cached(self, key: str, ttl_s: float) -> tuple[bool, Any]:
        """A successful result for this cache key younger than `ttl_s`, if any."""
        cur = await self.conn.execute(
            "SELECT result FROM job_completed WHERE extra ? 'cache_key'"
            " AND extra->>'cache_key' = %s AND status = 'success'"
            " AND completed_at > now() - make_interval(secs => %s)"
            " ORDER BY completed_at DESC LIMIT 1", (key, ttl_s))
        row = await cur.fetchone()
        return (True, row[0]) if row else (False, None)

    async def subflow(self, mod: dict[str, Any], modules: list[dict[str, Any]],
                      flow_input: dict[str, Any], scope: dict[str, Any],
                      extra: dict[str, Any]) -> uuid.UUID:
        """A loop iteration or a branch: a child flow of the container's inner modules."""
        return await self._start_flow({"modules": modules}, flow_input,
                                      {"flow_step_id": mod["id"], **extra,
                                       "scope": scopes.carried(scope)})

    async def _start_flow(self, value: dict[str, Any], args: dict[str, Any],
                          extra: dict[str, Any], script_path: str | None = None) -> uuid.UUID:
        from desktop_app.flows.engine import start_flow

        common = self._common(args, extra)
        job = NewJob(kind="flow", tag="flow", raw_flow=value,
                     script_path=script_path or self.row.get("script_path"), **common)
        return await start_flow(self.conn, job)

    async def timer(self, when: datetime, extra: dict[str, Any]) -> uuid.UUID:
        """A job the daemon completes at `when`: sleeps and approval timeouts cost a row."""
        from desktop_app.flows.run import INTERNAL_TAG

        job = NewJob(kind="identity", tag=INTERNAL_TAG, scheduled_for=when,
                     **self._common({}, extra))
        await queue.push(self.conn, job)
        return job.id

    async def cancel_pending(self) -> None:
        """The flow is over: whatever it still has queued or running is canceled."""
        from desktop_app.flows.engine import cancel_flow

        cur = await self.conn.execute(
            "SELECT id, kind FROM job_queue WHERE parent_job = %s", (self.flow_id,))
        for child_id, kind in await cur.fetchall():
            if kind == "flow":
                await cancel_flow(self.conn, child_id, "flow", "its parent flow ended")
            else:
                await queue.request_cancel(self.conn, child_id, "flow", "its parent flow ended")
