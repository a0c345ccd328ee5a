"""`tidemill schedule list|create|enable|disable|delete|next`: cron schedules that run a
script or flow, through the API (the daemon checks the cron, the zone and the arguments)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer

from desktop_app.cli.arguments import parse_args
from desktop_app.cli.daemon_call import call_daemon as call
from desktop_app.cli.output import fail, print_json
from desktop_app.client.http import ClientError, TidemillClient

schedule_app = typer.Typer(help="Cron schedules that run a script or a flow.")
PathArg = Annotated[str, typer.Argument(metavar="PATH",
                                        help="The schedule's path, e.g. f/reports/nightly.")]
TzOpt = Annotated[str, typer.Option(
    "--tz", help="The IANA time zone the cron is read in, e.g. Europe/Paris.")]


def register(app: typer.Typer) -> None:
    app.add_typer(schedule_app, name="schedule")


def _local(ts: str | None) -> str:
    if not ts:
        return "—"
    try:
        return datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone().strftime(
            "%Y-%m-%d %H:%M")
    except ValueError:
        return ts


@schedule_app.command("list")
def schedule_list(as_json: Annotated[bool, typer.Option(
        "--json", help="Print the schedules as JSON.")] = False) -> None:
    """List every schedule: path, cron, what it runs, next and last fire."""
    rows = call(lambda c: c.list_schedules())
    if as_json:
        print_json(rows)
        return
    if not rows:
        typer.echo("no schedules yet (`tidemill schedule create` makes one)", err=True)
        return
    for s in rows:
        stats = s.get("stats") or {}
        state = "on " if s.get("enabled") else "off"
        kind = "flow" if s.get("is_flow") else "script"
        typer.echo(f"{s['path']:<28} {state} {s['schedule']:<16} {s.get('timezone') or 'UTC':<14} "
                   f"{kind} {s['script_path']:<24} next {_local(stats.get('next_fire'))}  "
                   f"last {_local(stats.get('last_fire'))}")


@schedule_app.command("create")
def schedule_create(
    path: PathArg,
    cron: Annotated[str, typer.Option(
        "--cron", help="When it fires: a cron expression, e.g. '0 9 * * 1-5' (9:00 on weekdays); "
                       "six fields start with seconds.")],
    script: Annotated[str | None, typer.Option(
        "--script", metavar="PATH", help="The script it runs.")] = None,
    flow: Annotated[str | None, typer.Option(
        "--flow", metavar="PATH", help="The flow it runs.")] = None,
    timezone: TzOpt = "UTC",
    arg: Annotated[list[str] | None, typer.Option(
        "-a", "--arg", metavar="NAME=VALUE",
        help="One argument for each run; repeat for more.")] = None,
    args: Annotated[str | None, typer.Option(
        "--args", metavar="JSON", help="All arguments as one JSON object; -a adds to it.")] = None,
    summary: Annotated[str, typer.Option(help="A one-line summary shown in lists.")] = "",
    disabled: Annotated[bool, typer.Option(
        "--disabled", help="Create it switched off (enable it later).")] = False,
) -> None:
    """Create a schedule that runs a script (--script) or a flow (--flow) on a cron."""
    if bool(script) == bool(flow):
        fail("give exactly one of --script PATH or --flow PATH: what the schedule runs")
    target = str(script or flow)

    async def go(c: TidemillClient) -> str:
        item = await (c.get_script(target) if script else c.get_flow(target))
        body: dict[str, Any] = {
            "path": path, "schedule": cron, "timezone": timezone, "script_path": target,
            "is_flow": bool(flow), "args": parse_args(args, arg or [], item.get("schema") or {}),
            "enabled": not disabled, "summary": summary}
        return await c.create_schedule(body)

    call(go)
    first = call(lambda c: c.schedule_preview(cron, timezone, 1))
    when = f"; first run {_local(first[0])}" if first and not disabled else ""
    typer.echo(f"created schedule {path}: {target} at '{cron}' ({timezone}){when}")


def _set_enabled(path: str, enabled: bool) -> None:
    call(lambda c: c.set_schedule_enabled(path, enabled))
    typer.echo(f"schedule {path} {'enabled' if enabled else 'disabled'}")


@schedule_app.command("enable")
def schedule_enable(path: PathArg) -> None:
    """Switch a schedule on (it fires from the next matching time)."""
    _set_enabled(path, True)


@schedule_app.command("disable")
def schedule_disable(path: PathArg) -> None:
    """Switch a schedule off (runs already started go on)."""
    _set_enabled(path, False)


@schedule_app.command("delete")
def schedule_delete(path: PathArg) -> None:
    """Delete a schedule (the runs it made stay in the history)."""
    call(lambda c: c.delete_schedule(path))
    typer.echo(f"deleted schedule {path}")


@schedule_app.command("next")
def schedule_next(
    what: Annotated[str, typer.Argument(
        metavar="PATH_OR_CRON", help="A schedule's path, or a cron expression in quotes.")],
    timezone: Annotated[str | None, typer.Option(
        "--tz", help="The time zone of a cron expression (default UTC; a schedule's own zone "
                     "for a path).")] = None,
    count: Annotated[int, typer.Option("--count", "-n", help="How many fire times.")] = 5,
) -> None:
    """Print the next fire times of a schedule or of a cron expression, in local time."""

    async def go(c: TidemillClient) -> tuple[str, str, list[str]]:
        cron, tz = what, timezone or "UTC"
        if " " not in what.strip():
            try:
                schedule = await c.get_schedule(what)
            except ClientError as exc:
                if exc.status != 404:
                    raise
                raise ClientError(f"no schedule at {what!r}", status=404,
                                  hint="give a schedule's path, or a cron expression in quotes "
                                       "such as '0 9 * * *'") from None
            cron, tz = schedule["schedule"], timezone or schedule.get("timezone") or "UTC"
        return cron, tz, await c.schedule_preview(cron, tz, count)

    cron, tz, fires = call(go)
    typer.echo(f"'{cron}' in {tz}:")
    for ts in fires:
        typer.echo(f"  {_local(ts)}")
