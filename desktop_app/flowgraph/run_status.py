"""What each node of a running flow shows, from the flow job and its sub-flow jobs.

A flow job's ``flow_status.modules`` gives the state of its top-level steps. The steps
inside a loop or a branch run in sub-flow jobs (``flow_jobs`` of the container's status),
each a flow job of its own: their states are merged per step id (any failure wins, then
running, then waiting; success only when every iteration succeeded). Steps of a finished
container that no sub-flow ran (a branch not taken, a loop over nothing) are *skipped*, as
are steps still waiting when the whole flow ended.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from desktop_app.flowgraph.model import FlowDocument

__all__ = ["STATES", "RunView", "child_job_ids", "run_view"]

STATES = ("waiting", "running", "suspended", "success", "failure", "skipped")
_FROM_WINDMILL = {"WaitingForPriorSteps": "waiting", "WaitingForExecutor": "waiting",
                  "WaitingForEvents": "suspended", "InProgress": "running",
                  "Success": "success", "Failure": "failure"}
_PRIORITY = {"failure": 5, "suspended": 4, "running": 3, "waiting": 2, "success": 1,
             "skipped": 0}


@dataclass
class RunView:
    states: dict[str, str] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)
    step_jobs: dict[str, str] = field(default_factory=dict)  # step id -> its own job
    finished: bool = False
    success: bool | None = None
    result: Any = None


def child_job_ids(job: dict[str, Any]) -> Iterator[str]:
    """The sub-flow jobs of a flow job's containers (loops, branches)."""
    status = job.get("flow_status") or {}
    for ms in status.get("modules") or []:
        yield from (ms.get("flow_jobs") or [])


def run_view(job: dict[str, Any], jobs: dict[str, dict[str, Any]],
             doc: FlowDocument) -> RunView:
    """Node states of flow `job` (run from `doc`); `jobs` holds its sub-flow jobs (and
    theirs) by id."""
    out = RunView(finished=job.get("type") == "CompletedJob")
    if out.finished:
        out.success = bool(job.get("success"))
        out.result = job.get("result")
    _merge(out, job, jobs, ended=out.finished)
    inner: dict[str, list[str]] = {}
    for step, ref, _i in doc.walk():
        if ref.owner is not None:
            inner.setdefault(ref.owner, []).append(str(step.get("id")))
    _finish(out, doc.ids(), inner)
    return out


def _merge(out: RunView, job: dict[str, Any], jobs: dict[str, dict[str, Any]],
           ended: bool) -> None:
    status = job.get("flow_status") or {}
    results = (status.get("tidemill") or {}).get("results") or {}
    entries = list(status.get("modules") or [])
    if isinstance(status.get("failure_module"), dict):
        entries.append(status["failure_module"])
    for ms in entries:
        sid = str(ms.get("id"))
        state = "skipped" if ms.get("skipped") else _FROM_WINDMILL.get(str(ms.get("type")),
                                                                        "waiting")
        if ended and state in ("waiting", "running", "suspended"):
            state = "skipped" if state == "waiting" else "failure"
        _put(out, sid, state)
        if sid in results:
            out.results.setdefault(sid, []).append(results[sid])
        if ms.get("job") and not ms.get("flow_jobs"):
            out.step_jobs[sid] = str(ms["job"])
        for child_id in ms.get("flow_jobs") or []:
            child = jobs.get(str(child_id))
            if child is not None:
                child_ended = ended or child.get("type") == "CompletedJob"
                _merge(out, child, jobs, child_ended)


def _put(out: RunView, sid: str, state: str) -> None:
    old = out.states.get(sid)
    if old is None or _PRIORITY[state] > _PRIORITY[old]:
        out.states[sid] = state


def _finish(out: RunView, all_ids: list[str], container_done: dict[str, list[str]]) -> None:
    """Results as single values for steps run once; steps never reached are skipped
    (when the flow ended) or waiting."""
    for sid, values in list(out.results.items()):
        out.results[sid] = values[0] if len(values) == 1 else values
    for sid in all_ids:
        if sid not in out.states:
            out.states[sid] = "skipped" if out.finished else "waiting"
    for owner, inner in container_done.items():
        if out.states.get(owner) in ("success", "failure", "skipped"):
            for sid in inner:
                if out.states.get(sid) == "waiting":
                    out.states[sid] = "skipped"
