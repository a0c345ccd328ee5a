"""How big the job database is and what takes the space, asked of the running daemon
(`GET /api/database/usage`, with the home's admin token)."""

from __future__ import annotations

import httpx

from desktop_app.doctor.checks import Context, Finding, check

#: Past this the history deserves a look (retention settings, `tidemill jobs prune`).
LARGE_BYTES = 5 * 1024**3


@check("storage")
def database_size(ctx: Context) -> Finding:
    if not ctx.daemon or not ctx.daemon.get("url"):
        return Finding("storage", "ok", "the daemon is not running: its database's size is "
                       "shown once it runs")
    try:
        token = (ctx.home / "admin.token").read_text().strip()
        resp = httpx.get(f"{ctx.daemon['url']}/api/database/usage", timeout=10,
                         headers={"Authorization": f"Bearer {token}"})
        resp.raise_for_status()
    except (OSError, httpx.HTTPError) as exc:
        return Finding("storage", "warn", f"could not ask the daemon for the database's size: "
                       f"{exc}", "check `tidemill daemon status`")
    usage = resp.json()
    total = int(usage["database_bytes"])
    biggest = ", ".join(f"{t['table']} {_mb(t['total_bytes'])}" for t in usage["tables"][:3])
    detail = f"database {_mb(total)} (largest: {biggest})"
    if total > LARGE_BYTES:
        return Finding("storage", "warn", detail,
                       "keep jobs for less time (workspaces/edit_job_settings: "
                       "keep_success_secs, keep_failure_secs), then `tidemill jobs prune`")
    return Finding("storage", "ok", detail)


def _mb(n: int) -> str:
    return f"{n / 2**20:.0f} MB" if n >= 2**20 else f"{n / 1024:.0f} KB"
