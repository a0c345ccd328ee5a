"""How the CLI prints a job for a person: a failure as text, a flow's log step by step."""

from __future__ import annotations

import re
from typing import Any

from desktop_app.client.http import TidemillClient

LOG_TAIL_LINES = 20
# The job's own folder (…/jobs/<id>/main.py) tells the user nothing: frames name the script.
_JOB_FILE = re.compile(r'"[^"\n]*/main\.(\w+)"')


def failure_text(result: Any, path: str, log: str, job_id: str) -> str:
    """A failed run as a person reads it: the error and its message, the script's own frames
    naming its path, the end of the log, and how to see the rest."""
    err = result.get("error") if isinstance(result, dict) else None
    err = err if isinstance(err, dict) else {"message": str(result)}
    name, message = str(err.get("name") or "Error"), str(err.get("message") or "").rstrip()
    lines = [f"error: {name}: {message}" if message else f"error: {name}"]
    where = f"{path}/{err['step_id']}" if err.get("step_id") else path
    stack = str(err.get("stack") or "").rstrip()
    if stack:
        stack = _JOB_FILE.sub(lambda m: f'"{where}.{m.group(1)}"', stack)
        frames = stack.splitlines()
        if frames and frames[-1].strip() == f"{name}: {message}".strip():
            frames = frames[:-1]  # the first line said it already
        lines += frames
    tail = log.rstrip("\n").splitlines()[-LOG_TAIL_LINES:] if log.strip() else []
    if tail:
        lines.append(f"log (last {len(tail)} lines):" if len(tail) > 1 else "log (last line):")
        lines += [f"  {line}" for line in tail]
    else:
        lines.append("log: (empty)")
    lines.append(f"job {job_id}: `tidemill logs {job_id}` prints the whole log")
    return "\n".join(lines)


async def job_logs(c: TidemillClient, job_id: str) -> str:
    """A job's log; for a flow, each step's log under a header naming the step (loops and
    branches nested)."""
    job = await c.get_job(job_id, logs=False)
    if job.get("job_kind") != "flow":
        return await c.get_logs(job_id)
    parts: list[str] = []
    await _flow_logs(c, job, parts, prefix="")
    own = await c.get_logs(job_id)
    return own + "".join(parts)


async def _flow_logs(c: TidemillClient, flow: dict[str, Any], parts: list[str],
                     prefix: str) -> None:
    modules = (flow.get("flow_status") or {}).get("modules") or []
    for module in modules:
        step = f"{prefix}{module.get('id') or '?'}"
        children = [j for j in (module.get("flow_jobs") or []) if j] or \
            ([module["job"]] if module.get("job") else [])
        if not children:
            continue  # not reached (or skipped before it started)
        for index, child_id in enumerate(children):
            child = await c.get_job(str(child_id), logs=False)
            label = f"{step}[{index}]" if len(children) > 1 else step
            if child.get("job_kind") == "flow":
                await _flow_logs(c, child, parts, prefix=f"{label}/")
                continue
            status = child.get("status") or ("running" if child.get("running") else "queued")
            log = await c.get_logs(str(child_id))
            parts.append(f"== step {label} ({status}, job {child_id}) ==\n")
            parts.append(log if log.endswith("\n") or not log else log + "\n")
