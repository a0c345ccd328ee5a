"""The environment a job's process sees: a clean base plus Windmill's WM_* variables."""

from __future__ import annotations

import os

from desktop_app.core.tokens import job_token
from desktop_app.queue.model import ClaimedJob

# Only these are inherited from the worker: a script must not see the daemon's own
# secrets (TIDEMILL_TOKEN, database URLs) through its environment.
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "USER", "LOGNAME",
              "SYSTEMROOT", "DENO_DIR", "GOPATH", "GOCACHE", "GOPROXY", "GOPRIVATE", "GONOSUMDB",
              # where package downloads (npm:, Go modules, pip) go and which CAs they trust
              "SSL_CERT_FILE", "SSL_CERT_DIR", "DENO_CERT", "NODE_EXTRA_CA_CERTS",
              "NPM_CONFIG_REGISTRY", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy",
              "https_proxy", "no_proxy")


def state_path(job: ClaimedJob) -> str:
    trigger = job.created_by if job.schedule_path else "user"
    if job.script_path:
        path = job.script_path
        return f"{path}state" if path.endswith("/") else f"{path}/{trigger}"
    return f"u/{job.created_by}/tmp_state"


def job_environment(job: ClaimedJob, *, base_url: str, token_key: str, worker: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in _INHERITED}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    username = job.permissioned_as.split("/", 1)[-1]
    env.update({
        "BASE_INTERNAL_URL": base_url,
        "WM_BASE_URL": base_url,
        "BASE_URL": base_url,
        "WM_TOKEN": job_token(token_key, job.id),
        "WM_WORKSPACE": job.workspace_id,
        "WM_JOB_ID": str(job.id),
        "WM_JOB_PATH": job.script_path or "",
        "WM_FLOW_JOB_ID": str(job.parent_job) if job.parent_job else "",
        "WM_FLOW_STEP_ID": str(job.extra.get("flow_step_id") or ""),
        "WM_ROOT_FLOW_JOB_ID": str(job.root_job or job.parent_job or ""),
        "WM_ROOT_JOB_ID": str(job.root_job or job.id),
        "WM_PERMISSIONED_AS": job.permissioned_as,
        "WM_EMAIL": job.extra.get("email") or f"{username}@tidemill.local",
        "WM_USERNAME": username,
        "WM_STATE_PATH": state_path(job),
        "WM_STATE_PATH_NEW": state_path(job),
        "WM_SCHEDULED_FOR": job.scheduled_for.isoformat().replace("+00:00", "Z"),
        "WM_SCHEDULE_PATH": job.schedule_path or "",
        "WM_RUNNABLE_ID": job.script_hash or "",
        "WM_WORKER_GROUP": "default",
        "WM_WORKER": worker,
    })
    return {k: v for k, v in env.items() if v != ""}
