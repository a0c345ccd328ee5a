"""The job history from the command line: `tidemill logs --grep TEXT` (search every job's
log) and `tidemill jobs prune` (apply the retention policy now)."""

from __future__ import annotations

import typer

from desktop_app.cli.daemon_call import call_daemon
from desktop_app.cli.output import print_json

_call = call_daemon


def grep_logs(text: str, *, path: str | None, status: str | None, since: str | None,
              limit: int, as_json: bool) -> None:
    """One line per job whose log contains `text`: id, status, path, when, the line."""
    filters = {"script_path_start": path, "status": status, "created_after": since,
               "per_page": limit}
    rows = _call(lambda c: c.search_logs(text, **filters))
    if as_json:
        print_json(rows)
        return
    if not rows:
        typer.echo(f"no job log contains {text!r}", err=True)
        raise typer.Exit(1)  # as grep: nothing found
    for j in rows:
        state = j.get("status") or ("running" if j.get("running") else "queued")
        typer.echo(f"{j['id']}  {state:<9} {j.get('script_path') or '(preview)':<30} "
                   f"{j['created_at'][:19]}  {(j.get('log_match') or '').strip()}")


def prune(as_json: bool) -> None:
    report = _call(lambda c: c.prune_jobs())
    if as_json:
        print_json(report)
        return
    typer.echo(f"deleted {report['deleted_jobs']} finished job(s) and "
               f"{report['deleted_log_rows']} log chunk(s); cleared {report['cleared_jobs']} "
               "job(s) of scripts with delete_after_secs")
