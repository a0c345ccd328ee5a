"""One flow run as a state machine over its job row.

A flow job holds no worker. It lives in `job_queue` (running, never claimed) with its
definition frozen in `raw_flow` and its progress in `flow_status` (Windmill's
FlowStatus shape plus a `tidemill` section with results and loop bookkeeping). Every
step is a child job; loop iterations and branches are child *flow* jobs whose
definition is the container's inner modules. The run advances only inside the
transaction that completes a child (or starts the flow), holding the flow row lock,
so parallel children completing at once are applied one after the other.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
import weakref
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from desktop_app.core.errors import TidemillError
from desktop_app.core.jobs import JobStatus
from desktop_app.flows import approvers
from desktop_app.flows import scope as scopes
from desktop_app.flows.children import ChildFactory
from desktop_app.queue import queue
from desktop_app.queue.model import NewJob
from desktop_app.queue.notify import DONE_CHANNEL

FLOW_TAG = "flow"
INTERNAL_TAG = "__internal"  # timer jobs the daemon completes itself (sleep, timeouts)
MAX_WHILE_ITERATIONS = 10_000

_FLOW_COLUMNS = ("id, workspace_id, args, raw_flow, flow_status, parent_job, root_job,"
                 " created_by, permissioned_as, extra, canceled, script_path")


# Flows loaded and not saved yet by the running task (a transaction runs in one asyncio
# task, and each task sees its own): a child that ends while its parent, loaded in the
# same transaction, is still launching it is applied at the parent's save. Weak values:
# a run dropped after an error leaves nothing behind for the task's next transaction.
_loaded: ContextVar[weakref.WeakValueDictionary[uuid.UUID, FlowRun] | None] = \
    ContextVar("tidemill_loaded_flows", default=None)


def _loaded_runs() -> weakref.WeakValueDictionary[uuid.UUID, FlowRun]:
    runs = _loaded.get()
    if runs is None:
        runs = weakref.WeakValueDictionary()
        _loaded.set(runs)
    return runs


def initial_status(value: dict[str, Any]) -> dict[str, Any]:
    status: dict[str, Any] = {
        "step": 0,
        "modules": [{"id": m.get("id"), "type": "WaitingForPriorSteps"}
                    for m in value.get("modules") or []],
        "retry": {"fail_count": 0, "failed_jobs": []},
        "tidemill": {"results": {}},
    }
    if value.get("failure_module"):
        status["failure_module"] = {"id": value["failure_module"].get("id", "failure"),
                                    "type": "WaitingForPriorSteps"}
    return status


class FlowRun:
    def __init__(self, conn: AsyncConnection[Any], row: dict[str, Any]) -> None:
        self.conn = conn
        self.row = row
        self.id: uuid.UUID = row["id"]
        self.value: dict[str, Any] = row["raw_flow"] or {}
        self.modules: list[dict[str, Any]] = self.value.get("modules") or []
        self.status: dict[str, Any] = row["flow_status"] or initial_status(self.value)
        self.state: dict[str, Any] = self.status.setdefault("tidemill", {"results": {}})
        self.children = ChildFactory(conn, row)
        self.finished = False
        self._driving = False
        self._deferred: list[queue.Finished] = []
        self._next: int | None = None

    # -- loading and saving ------------------------------------------------------------

    @classmethod
    async def load(cls, conn: AsyncConnection[Any], flow_id: uuid.UUID) -> FlowRun | None:
        """The flow, locked for this transaction; None if it already completed."""
        cur = conn.cursor(row_factory=dict_row)
        await cur.execute(f"SELECT {_FLOW_COLUMNS} FROM job_queue WHERE id = %s AND kind = 'flow'"
                          " FOR UPDATE", (flow_id,))
        row = await cur.fetchone()
        if row is None:
            return None
        run = cls(conn, row)
        _loaded_runs()[flow_id] = run
        return run

    @staticmethod
    def loaded(conn: AsyncConnection[Any], flow_id: uuid.UUID) -> FlowRun | None:
        """The flow if this transaction has it loaded and not yet saved."""
        run = _loaded_runs().get(flow_id)
        return run if run is not None and run.conn is conn else None

    def defer(self, fin: queue.Finished) -> None:
        """A child ended while this flow, loaded in the same transaction, is still busy
        launching it (a sub-flow whose steps all finish at once): apply it at `save`,
        once this flow's own state is complete, instead of on a stale copy."""
        self._deferred.append(fin)

    async def save(self) -> None:
        while self._deferred and not self.finished:
            await self.child_done(self._deferred.pop(0))
        if _loaded_runs().get(self.id) is self:
            del _loaded_runs()[self.id]
        if not self.finished:
            await self.conn.execute("UPDATE job_queue SET flow_status = %s WHERE id = %s",
                                    (Jsonb(self.status), self.id))

    # -- scope -----------------------------------------------------------------------

    def scope(self, **extra: Any) -> dict[str, Any]:
        return scopes.build(self.row, self.state, **extra)

    async def evaluate(self, expr: str, scope: dict[str, Any]) -> Any:
        return await scopes.evaluate(self.conn, self.row, expr, scope)

    async def transforms(self, transforms: dict[str, Any] | None, scope: dict[str, Any]) -> dict[str, Any]:
        return await scopes.input_transforms(self.conn, self.row, transforms, scope)

    # -- starting steps ----------------------------------------------------------------

    async def start_module(self, i: int) -> None:
        self.status["step"] = i
        mod = self.modules[i]
        ms = self.status["modules"][i]
        try:
            skip = mod.get("skip_if") or {}
            if skip.get("expr") and await self.evaluate(skip["expr"], self.scope()):
                ms["skipped"] = True
                await self.module_done(i, True, self.previous_result(), skipped=True)
                return
            mock = mod.get("mock") or {}
            if mock.get("enabled"):
                await self.module_done(i, True, mock.get("return_value"))
                return
            await self._launch(i, mod, ms)
        except TidemillError as exc:  # a bad expression or definition fails this step
            await self.module_done(i, False, scopes.step_error(exc, mod.get("id")))

    async def _launch(self, i: int, mod: dict[str, Any], ms: dict[str, Any]) -> None:
        value = mod.get("value") or {}
        kind = value.get("type")
        scope = self.scope()
        ms["type"] = "InProgress"
        if kind == "identity":
            await self.module_done(i, True, self.previous_result())
        elif kind in ("rawscript", "script", "flow"):
            args = await self.transforms(value.get("input_transforms"), scope)
            cache_key = None
            if mod.get("cache_ttl") and kind != "flow":
                # Same code (or script version) and same inputs within the TTL: reuse.
                cache_key = hashlib.sha256(json.dumps(
                    [value.get("content"), value.get("path"), value.get("hash"),
                     value.get("language"), args], sort_keys=True, default=str).encode()).hexdigest()
                hit, cached = await self.children.cached(cache_key, float(mod["cache_ttl"]))
                if hit:
                    ms["cached"] = True
                    await self.module_done(i, True, cached)
                    return
            job_id = await self.children.step(mod, args, scope, await self._timeout(mod, scope),
                                              cache_key=cache_key)
            ms["job"] = str(job_id)
            self.state.setdefault("args", {})[mod["id"]] = args
        elif kind == "forloopflow":
            items = await self.evaluate(_expr(value.get("iterator")), scope) \
                if (value.get("iterator") or {}).get("type") == "javascript" \
                else (value.get("iterator") or {}).get("value")
            if not isinstance(items, list):
                raise TidemillError(f"step {mod['id']}: the iterator gave "
                                    f"{type(items).__name__}, not a list")
            ms["iterator"] = {"index": 0, "itered": items, "itered_len": len(items), "args": None}
            ms["flow_jobs"] = []
            self.loop_state(mod)["results"] = [None] * len(items)
            if not items:
                await self.module_done(i, True, [])
                return
            width = len(items) if not value.get("parallel") else \
                int(await self._parallelism(value, scope) or len(items))
            width = width if value.get("parallel") else 1
            for k in range(min(width, len(items))):
                await self._launch_iteration(mod, ms, k, items[k])
        elif kind == "whileloopflow":
            ms["flow_jobs"] = []
            self.loop_state(mod)["results"] = []
            await self._launch_iteration(mod, ms, 0, 0)
        elif kind == "branchone":
            chosen, modules = None, value.get("default") or []
            for b, branch in enumerate(value.get("branches") or []):
                if await self.evaluate(branch.get("expr") or "false", scope):
                    chosen, modules = b, branch.get("modules") or []
                    break
            ms["branch_chosen"] = {"type": "default"} if chosen is None else \
                {"type": "branch", "branch": chosen}
            if not modules:
                await self.module_done(i, True, self.previous_result())
                return
            job_id = await self.children.subflow(mod, modules, self.row["args"], self.scope(),
                                                 {"branch": chosen})
            ms["job"] = str(job_id)
            ms["flow_jobs"] = [str(job_id)]
        elif kind == "branchall":
            branches = value.get("branches") or []
            ms["branchall"] = {"branch": 0, "len": len(branches)}
            ms["flow_jobs"] = []
            self.loop_state(mod)["results"] = [None] * len(branches)
            if not branches:
                await self.module_done(i, True, [])
                return
            for b in range(len(branches) if value.get("parallel") else 1):
                await self._launch_branch(mod, ms, b)
        else:
            raise TidemillError(f"step {mod.get('id')}: unknown module type {kind!r}")

    async def _launch_iteration(self, mod: dict[str, Any], ms: dict[str, Any], k: int,
                                item: Any) -> None:
        flow_input = {**(self.row["args"] or {}), "iter": {"value": item, "index": k}}
        job_id = await self.children.subflow(mod, mod["value"].get("modules") or [], flow_input,
                                             self.scope(), {"iter_index": k})
        ms["flow_jobs"].append(str(job_id))
        ms.setdefault("iterator", {})["index"] = k
        self.loop_state(mod)["launched"] = k + 1

    async def _launch_branch(self, mod: dict[str, Any], ms: dict[str, Any], b: int) -> None:
        branch = mod["value"]["branches"][b]
        job_id = await self.children.subflow(mod, branch.get("modules") or [], self.row["args"],
                                             self.scope(), {"branch": b})
        ms["flow_jobs"].append(str(job_id))
        ms["branchall"]["branch"] = b
        self.loop_state(mod)["launched"] = b + 1

    async def _timeout(self, mod: dict[str, Any], scope: dict[str, Any]) -> int | None:
        t = mod.get("timeout")
        if t is None:
            return None
        if isinstance(t, int | float):
            return int(t)
        value = await self.evaluate(t["expr"], scope) if t.get("type") == "javascript" \
            else t.get("value")
        return int(value) if value is not None else None

    async def _parallelism(self, value: dict[str, Any], scope: dict[str, Any]) -> Any:
        p = value.get("parallelism")
        if isinstance(p, dict):
            return await self.evaluate(p["expr"], scope) if p.get("type") == "javascript" \
                else p.get("value")
        return p

    def loop_state(self, mod: dict[str, Any]) -> dict[str, Any]:
        return self.state.setdefault("loops", {}).setdefault(mod["id"], {})

    def previous_result(self) -> Any:
        if "previous_result" in self.state:
            return self.state["previous_result"]
        return scopes.inherited_previous(self.row)

    # -- children finishing ------------------------------------------------------------

    async def child_done(self, fin: queue.Finished) -> None:
        step_id = fin.extra.get("flow_step_id")
        ok = fin.status == JobStatus.SUCCESS
        result = fin.result_value()
        if step_id == "__sleep__":
            await self.next(int(fin.extra["after"]) + 1)
            return
        if step_id == "__suspend_timeout__":
            await self.suspend_timed_out(int(fin.extra["module"]))
            return
        if step_id == "failure" and self.value.get("failure_module", {}).get("id", "failure") \
                == "failure" and self.status.get("failure_module", {}).get("type") == "InProgress":
            self.status["failure_module"]["type"] = "Success" if ok else "Failure"
            recovered = ok and isinstance(result, dict) and result.get("recover") is True
            await self.finish(JobStatus.SUCCESS if recovered else JobStatus.FAILURE, result)
            return
        i = self.index_of(step_id)
        if i is None or i != self.status["step"]:
            return  # a stale child (e.g. of a step the flow already left): ignore
        mod = self.modules[i]
        ms = self.status["modules"][i]
        kind = (mod.get("value") or {}).get("type")
        if kind in ("rawscript", "script", "flow"):
            if not ok and await self._retry(mod, ms, fin, result):
                return
            await self.module_done(i, ok, result)
        elif kind == "forloopflow":
            await self._iteration_done(i, mod, ms, fin, ok, result)
        elif kind == "whileloopflow":
            await self._while_done(i, mod, ms, ok, result)
        elif kind == "branchone":
            await self.module_done(i, ok, result)
        elif kind == "branchall":
            await self._branch_done(i, mod, ms, fin, ok, result)

    async def _retry(self, mod: dict[str, Any], ms: dict[str, Any], fin: queue.Finished,
                     result: Any) -> bool:
        retry = mod.get("retry") or {}
        constant, expo = retry.get("constant") or {}, retry.get("exponential") or {}
        failed = ms.setdefault("failed_retries", [])
        attempts = int(constant.get("attempts") or expo.get("attempts") or 0)
        if len(failed) >= attempts:
            return False
        cond = (retry.get("retry_if") or {}).get("expr")
        if cond and not await self.evaluate(cond, self.scope(result=result,
                                                             error=(result or {}).get("error"))):
            return False
        n = len(failed)
        if expo:
            base = float(expo.get("seconds") or 1) * float(expo.get("multiplier") or 1) ** n
            jitter = float(expo.get("random_factor") or 0) / 100.0
            delay = base * (1 + random.uniform(-jitter, jitter))
        else:
            delay = float(constant.get("seconds") or 0)
        failed.append(str(fin.id))
        self.status["retry"]["fail_count"] += 1
        self.status["retry"]["failed_jobs"].append(str(fin.id))
        args = self.state.get("args", {}).get(mod["id"], {})
        when = datetime.now(UTC) + timedelta(seconds=delay) if delay > 0 else None
        job_id = await self.children.step(mod, args, self.scope(),
                                          await self._timeout(mod, self.scope()), when)
        ms["job"] = str(job_id)
        return True

    async def _iteration_done(self, i: int, mod: dict[str, Any], ms: dict[str, Any],
                              fin: queue.Finished, ok: bool, result: Any) -> None:
        value = mod["value"]
        loop = self.loop_state(mod)
        k = int(fin.extra.get("iter_index", 0))
        if not ok and not value.get("skip_failures"):
            await self.module_done(i, False, result)
            return
        loop["results"][k] = result if ok else None
        loop["done"] = loop.get("done", 0) + 1
        items = ms["iterator"]["itered"]
        stop = (mod.get("stop_after_if") or {}).get("expr")
        if stop and ok and await self.evaluate(stop, self.scope(result=result)):
            loop["stopped"] = True
        launched = loop.get("launched", 0)
        if launched < len(items) and not loop.get("stopped"):
            await self._launch_iteration(mod, ms, launched, items[launched])
            return
        if loop["done"] < launched:
            return  # other iterations still running
        results = loop["results"][:launched] if loop.get("stopped") else loop["results"]
        await self.module_done(i, True, results, loop_results=True)

    async def _while_done(self, i: int, mod: dict[str, Any], ms: dict[str, Any], ok: bool,
                          result: Any) -> None:
        loop = self.loop_state(mod)
        if not ok and not mod["value"].get("skip_failures"):
            await self.module_done(i, False, result)
            return
        loop["results"].append(result if ok else None)
        stop = (mod.get("stop_after_if") or {}).get("expr")
        n = len(loop["results"])
        if (stop and await self.evaluate(stop, self.scope(result=result))) \
                or n >= MAX_WHILE_ITERATIONS:
            await self.module_done(i, True, loop["results"], loop_results=True)
            return
        await self._launch_iteration(mod, ms, n, n)

    async def _branch_done(self, i: int, mod: dict[str, Any], ms: dict[str, Any],
                           fin: queue.Finished, ok: bool, result: Any) -> None:
        loop = self.loop_state(mod)
        b = int(fin.extra.get("branch", 0))
        branches = mod["value"]["branches"]
        if not ok and not branches[b].get("skip_failure"):
            await self.module_done(i, False, result)
            return
        loop["results"][b] = result
        loop["done"] = loop.get("done", 0) + 1
        if not mod["value"].get("parallel") and loop.get("launched", 0) < len(branches):
            await self._launch_branch(mod, ms, loop["launched"])
            return
        if loop["done"] == len(branches):
            await self.module_done(i, True, loop["results"])

    # -- after a step ------------------------------------------------------------------

    async def module_done(self, i: int, ok: bool, result: Any, *, skipped: bool = False,
                          loop_results: bool = False) -> None:
        mod = self.modules[i]
        ms = self.status["modules"][i]
        if not ok:
            ms["type"] = "Failure"
            if not mod.get("continue_on_error"):
                await self.fail(result, mod.get("id"))
                return
        else:
            ms["type"] = "Success"
        self.state["results"][mod["id"]] = result
        self.state["previous_result"] = result
        if self.value.get("early_return") == mod["id"] and "early" not in self.state:
            # Sync callers get this result now; the rest of the flow goes on.
            self.state["early"] = {"result": result}
            await self.conn.execute("SELECT pg_notify(%s, %s)", (DONE_CHANNEL, str(self.id)))
        try:
            all_iters = (mod.get("stop_after_all_iters_if") or {}).get("expr")
            stop = mod.get("stop_after_all_iters_if") if loop_results and all_iters else \
                (None if loop_results else mod.get("stop_after_if"))
            if stop and stop.get("expr") and not skipped and await self.evaluate(
                    stop["expr"], self.scope(result=result, all_iters=result)):
                message = stop.get("error_message")
                if message is not None:
                    await self.fail({"error": {"name": "StopAfterIf", "step_id": mod["id"],
                                               "message": message or f"flow stopped at step "
                                               f"{mod['id']}"}}, mod["id"])
                    return
                await self.finish(JobStatus.SKIPPED if stop.get("skip_if_stopped")
                                  else JobStatus.SUCCESS, result)
                return
            suspend = mod.get("suspend") or {}
            if int(suspend.get("required_events") or 0) > 0 and not skipped:
                await self.begin_suspend(i, mod, ms, suspend)
                return
            if await self._sleep_then_next(i, mod):
                return
        except TidemillError as exc:
            await self.fail(scopes.step_error(exc, mod.get("id")), mod.get("id"))
            return
        await self.next(i + 1)

    async def _sleep_then_next(self, i: int, mod: dict[str, Any]) -> bool:
        sleep = mod.get("sleep")
        if not sleep:
            return False
        seconds = sleep if isinstance(sleep, int | float) else (
            await self.evaluate(sleep["expr"], self.scope()) if sleep.get("type") == "javascript"
            else sleep.get("value"))
        if not seconds or float(seconds) <= 0:
            return False
        await self.children.timer(datetime.now(UTC) + timedelta(seconds=float(seconds)),
                                  {"flow_step_id": "__sleep__", "after": i})
        return True

    async def next(self, i: int) -> None:
        """Start step i. Steps that finish at once (identity, skipped, mocked) lead to the
        next one: a loop here, not recursion, so a 200-step flow has a flat stack."""
        self._next = i
        if self._driving:
            return
        self._driving = True
        try:
            while self._next is not None and not self.finished:
                j, self._next = self._next, None
                if j >= len(self.modules):
                    await self.finish(JobStatus.SUCCESS, self.previous_result())
                else:
                    await self.start_module(j)
        finally:
            self._driving = False

    # -- suspend / resume ----------------------------------------------------------------

    async def begin_suspend(self, i: int, mod: dict[str, Any], ms: dict[str, Any],
                            suspend: dict[str, Any]) -> None:
        ms["type"] = "WaitingForEvents"
        ms["count"] = int(suspend["required_events"])
        ms.setdefault("approvers", [])
        ms["user_groups_required"] = await self.approval_groups(i)
        early = self.state.pop("early_resumes", {}).get(ms.get("job"), [])
        for payload, approver in early:
            if await self.resume(i, payload, approver):
                return
        if suspend.get("timeout"):
            when = datetime.now(UTC) + timedelta(seconds=float(suspend["timeout"]))
            await self.children.timer(when, {"flow_step_id": "__suspend_timeout__", "module": i})

    async def approval_groups(self, i: int) -> list[str] | None:
        """Step i's `user_groups_required`, evaluated (once: kept in its status)."""
        ms = self.status["modules"][i]
        if "user_groups_required" in ms:
            return list(ms["user_groups_required"]) if ms["user_groups_required"] else None
        transform = (self.modules[i].get("suspend") or {}).get("user_groups_required")
        if not transform:
            return None
        value = (await self.transforms({"user_groups_required": transform},
                                       self.scope()))["user_groups_required"]
        return approvers.groups_of(value)

    async def resume(self, i: int, payload: Any, approver: str | None) -> bool:
        """An approval arrived for step i. Returns True once the flow moved on."""
        ms = self.status["modules"][i]
        mod = self.modules[i]
        self.state.setdefault("resumes", []).append(payload)
        self.state["resume"] = payload
        ms["approvers"].append({"resume_id": len(ms["approvers"]), "approver": approver or "anonymous"})
        self.state["approvers"] = [a["approver"] for a in ms["approvers"]]
        if len(ms["approvers"]) < ms["count"]:
            return False
        ms["type"] = "Success"
        if await self._sleep_then_next(i, mod):
            return True
        await self.next(i + 1)
        return True

    async def suspend_timed_out(self, i: int) -> None:
        ms = self.status["modules"][i]
        if self.status["step"] != i or ms.get("type") != "WaitingForEvents":
            return  # approved in time
        suspend = self.modules[i].get("suspend") or {}
        if suspend.get("continue_on_disapprove_timeout"):
            ms["type"] = "Success"
            await self.next(i + 1)
            return
        await self.fail({"error": {"name": "SuspendTimeout", "step_id": self.modules[i]["id"],
                                   "message": f"no approval within {suspend.get('timeout')} s"}},
                        self.modules[i]["id"])

    # -- the end -------------------------------------------------------------------------

    async def fail(self, result: Any, step_id: str | None) -> None:
        if isinstance(result, dict) and isinstance(result.get("error"), dict) and step_id:
            result["error"].setdefault("step_id", step_id)
        failure = self.value.get("failure_module")
        fstate = self.status.get("failure_module")
        if failure and fstate and fstate.get("type") == "WaitingForPriorSteps":
            fstate["type"] = "InProgress"
            error = result.get("error") if isinstance(result, dict) else result
            scope = self.scope(error=error, previous_result=result)
            try:
                args = await self.transforms((failure.get("value") or {}).get("input_transforms"),
                                             scope)
                job_id = await self.children.step(failure, args, scope, None)
                fstate["job"] = str(job_id)
                return
            except TidemillError as exc:
                result = scopes.step_error(exc, "failure")
        await self.finish(JobStatus.FAILURE, result)

    async def finish(self, status: JobStatus, result: Any) -> None:
        await self.conn.execute("UPDATE job_queue SET flow_status = %s WHERE id = %s",
                                (Jsonb(self.status), self.id))
        self.finished = True
        # `complete` tells the parent flow, if any (its `on_complete` handler), at once
        await queue.complete(self.conn, self.id, status, None, result_json=json.dumps(result))
        await self.children.cancel_pending()

    def index_of(self, step_id: Any) -> int | None:
        for i, m in enumerate(self.modules):
            if m.get("id") == step_id:
                return i
        return None


def _expr(transform: dict[str, Any] | None) -> str:
    return (transform or {}).get("expr") or "undefined"


def new_flow_job(**kw: Any) -> NewJob:
    return NewJob(kind="flow", tag=FLOW_TAG, **kw)
