"""`tidemill`: the command line. It reaches the engine only through the HTTP client."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from desktop_app.cli import daemon_control
from desktop_app.cli.arguments import parse_args
from desktop_app.cli.display import EXIT_NO_DISPLAY, missing_display
from desktop_app.cli.files import read_script
from desktop_app.cli.output import fail, fail_client, print_json
from desktop_app.client.http import ClientError, TidemillClient, connection_from_env
from desktop_app.gui.view_names import THEMES
from desktop_app.gui.view_names import VIEWS as VIEW_NAMES

app = typer.Typer(no_args_is_help=False, add_completion=False, pretty_exceptions_enable=False,
                  rich_markup_mode=None, context_settings={"max_content_width": 100},
                  help="Tidemill: scripts become forms, endpoints, jobs and schedules.")
daemon_app = typer.Typer(help="Run the daemon in the foreground, or start, stop or ask about a "
                              "background one.",
                         invoke_without_command=True)
token_app = typer.Typer(help="Create API tokens for scripts, webhooks and other users.")
user_app = typer.Typer(help="Local users and their roles (admin, developer, operator).")
app.add_typer(daemon_app, name="daemon")
app.add_typer(token_app, name="token")
app.add_typer(user_app, name="user")
# adds `sync`, `import`, `secret`; `trigger`; `doctor`; `autostart` and `tray`;
# `scripts`, `flows`, `apps`; `schedule`
from desktop_app.cli import (  # noqa: E402
    autostart_command,
    doctor_command,
    item_commands,
    schedule_commands,
    sync_commands,
    trigger_commands,
)

sync_commands.register(app)
trigger_commands.register(app)
doctor_command.register(app)
autostart_command.register(app)
item_commands.register(app)
schedule_commands.register(app)

HomeOpt = Annotated[Path | None, typer.Option(
    "--home", help="The state folder (default: $TIDEMILL_HOME or your data folder).")]


def _home(home: Path | None) -> Path:
    from desktop_app.daemon.home import default_home

    return (home or default_home()).expanduser().resolve()


def _client(home: Path | None = None) -> TidemillClient:
    return TidemillClient(connection_from_env(_home(home)))


def _call(coro_fn: Any) -> Any:
    async def runner() -> Any:
        async with _client() as c:
            return await coro_fn(c)
    try:
        return asyncio.run(runner())
    except ClientError as exc:
        fail_client(exc)


@app.callback(invoke_without_command=True)
def root(ctx: typer.Context) -> None:
    """With no command: open the desktop app (starting the daemon if none answers)."""
    if ctx.invoked_subcommand is not None:
        return
    _require_display()
    from desktop_app.gui.app import run_gui

    home = _home(None)
    raise typer.Exit(run_gui(connection_from_env(home), os.environ.get("TIDEMILL_THEME", "light"),
                             home=home))


def _require_display() -> None:
    """Stop with one line and exit 2 where Qt would abort for want of a display."""
    problem = missing_display()
    if problem:
        typer.echo(problem, err=True)
        raise typer.Exit(EXIT_NO_DISPLAY)


DEFAULT_PORT = daemon_control.DEFAULT_PORT
PortOpt = Annotated[int, typer.Option(help="The port the API listens on.")]
HostOpt = Annotated[str, typer.Option(
    help="The address the API listens on; anything but 127.0.0.1 lets other machines in.")]
WorkersOpt = Annotated[int, typer.Option(help="How many worker processes run jobs.")]
DbOpt = Annotated[str | None, typer.Option(
    envvar="TIDEMILL_DATABASE_URL",
    help="An external PostgreSQL URL (default: the embedded database in the home).")]
HeartbeatOpt = Annotated[float, typer.Option(help="Seconds between a running job's heartbeats.")]
PublicUrlOpt = Annotated[str | None, typer.Option(
    envvar="TIDEMILL_PUBLIC_URL",
    help="The address users reach the daemon at (approval links use it; its name is allowed).")]
AllowedHostOpt = Annotated[list[str] | None, typer.Option(
    "--allowed-host", help="Another name the API answers to (Host); repeat for more, or set"
                           " TIDEMILL_ALLOWED_HOSTS=a,b.")]
MemoryOpt = Annotated[int | None, typer.Option(
    envvar="TIDEMILL_JOB_MEMORY_MB", help="The memory limit of each job process in MB (0: none; "
    "default 2048).")]


@daemon_app.callback()
def daemon(
    ctx: typer.Context,
    home: HomeOpt = None,
    port: PortOpt = DEFAULT_PORT,
    host: HostOpt = "127.0.0.1",
    workers: WorkersOpt = 2,
    database_url: DbOpt = None,
    heartbeat: HeartbeatOpt = 2.0,
    public_url: PublicUrlOpt = None,
    allowed_host: AllowedHostOpt = None,
    job_memory_mb: MemoryOpt = None,
) -> None:
    """Run the daemon in the foreground (Ctrl-C lets running jobs finish, then stops)."""
    ctx.obj = {"home": _home(home)}
    if ctx.invoked_subcommand is not None:
        return
    if job_memory_mb is not None:  # the workers read it from their environment
        os.environ["TIDEMILL_JOB_MEMORY_MB"] = str(job_memory_mb)
    from desktop_app.core.errors import TidemillError
    from desktop_app.daemon.daemon import DaemonConfig, run_daemon

    if host not in ("127.0.0.1", "localhost", "::1"):
        typer.echo(f"warning: listening on {host}: other machines can reach this API", err=True)
    try:
        run_daemon(DaemonConfig(home=_home(home), host=host, port=port, workers=workers,
                                database_url=database_url, heartbeat_s=heartbeat,
                                public_url=public_url, allowed_hosts=_allowed_hosts(allowed_host)))
    except TidemillError as exc:
        fail(exc.message, exc.hint, code=1)
    except KeyboardInterrupt:
        pass


@daemon_app.command("start")
def daemon_start(
    ctx: typer.Context,
    home: HomeOpt = None,
    port: Annotated[int | None, typer.Option(
        help=f"The port the API listens on (default: {DEFAULT_PORT}).")] = None,
    host: HostOpt = "127.0.0.1",
    workers: WorkersOpt = 2,
    database_url: DbOpt = None,
    heartbeat: HeartbeatOpt = 2.0,
    public_url: PublicUrlOpt = None,
    allowed_host: AllowedHostOpt = None,
) -> None:
    """Start the daemon in the background and wait until it answers.

    One home has one daemon: if it already runs on another port than the one asked for,
    this says where it runs and exits with code 1 (stop it first, or use another --home).
    """
    daemon_control.start(home=_home(home) if home else ctx.obj["home"], port=port, host=host,
                         workers=workers, database_url=database_url, heartbeat=heartbeat,
                         public_url=public_url, allowed_hosts=_allowed_hosts(allowed_host))


def _allowed_hosts(given: list[str] | None) -> list[str]:
    """--allowed-host values, and TIDEMILL_ALLOWED_HOSTS (comma-separated)."""
    names = [n.strip() for n in os.environ.get("TIDEMILL_ALLOWED_HOSTS", "").split(",")]
    return [n for n in [*names, *(given or [])] if n]


@daemon_app.command("stop")
def daemon_stop(ctx: typer.Context, home: HomeOpt = None) -> None:
    """Stop the background daemon (its workers finish their jobs first)."""
    daemon_control.stop(_home(home) if home else ctx.obj["home"])


@daemon_app.command("status")
def daemon_status(ctx: typer.Context, home: HomeOpt = None) -> None:
    """Say whether a daemon runs for this home, where, and with how many workers."""
    daemon_control.status(_home(home) if home else ctx.obj["home"])


@app.command()
def worker(
    database_url: Annotated[str, typer.Option(
        envvar="TIDEMILL_DATABASE_URL", help="The shared PostgreSQL URL the daemon uses.")],
    home: HomeOpt = None,
    base_url: Annotated[str | None, typer.Option(
        help="The daemon's API URL that jobs call (the wmill SDK).")] = None,
    tags: Annotated[str, typer.Option(
        help="Comma-separated tags this worker takes (default: every language).")] = "",
    name: Annotated[str | None, typer.Option(
        help="The worker's name in the workers list (default: host and process id).")] = None,
) -> None:
    """Run one more worker against a shared database, for instance on another machine."""
    import sys

    args = ["--database-url", database_url, "--home", str(_home(home))]
    if tags:
        args += ["--tags", tags]
    if base_url:
        args += ["--base-url", base_url]
    if name:
        args += ["--name", name]
    # The worker is its own program: the CLI only launches it (and stays a pure client).
    os.execv(sys.executable, [sys.executable, "-m", "desktop_app.worker", *args])


LanguageOpt = Annotated[str | None, typer.Option(
    "--language", "-l", help="The script's language (default: from the file's extension).")]


@app.command()
def schema(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="The script file.")],
    language: LanguageOpt = None,
) -> None:
    """Print the JSON Schema of a script's main (the form Windmill would show)."""
    from desktop_app.core.errors import TidemillError
    from desktop_app.parsing import script_schema

    content, lang = read_script(file, language)
    try:
        print_json(script_schema(content, lang))
    except TidemillError as exc:
        fail(f"{file}: {exc.message}", exc.hint)


@app.command()
def deploy(
    file: Annotated[Path, typer.Argument(
        metavar="FILE", help="A script file, a flow folder (or its flow.yaml) or an app folder.")],
    path: Annotated[str, typer.Option("--path", help="Where it lives, e.g. f/folder/name.")],
    summary: Annotated[str, typer.Option(help="A one-line summary shown in lists.")] = "",
    description: Annotated[str, typer.Option(help="A longer description.")] = "",
    language: LanguageOpt = None,
) -> None:
    """Create or update a script, flow or app at PATH from FILE.

    FILE is a script, a Windmill flow folder (name.flow/ or name__flow/ with flow.yaml and
    its inline step files) or an app folder (name.app/ with app.yaml). Deploying what is
    already there says "unchanged" and makes no new version.
    """
    if file.name.endswith((".app", "__app")) or file.name == "app.yaml":
        _deploy_app(file.parent if file.name == "app.yaml" else file, path, summary)
        return
    if file.is_dir() or file.name in ("flow.yaml", "flow.json"):
        _deploy_flow(file, path, summary, description)
        return
    content, lang = read_script(file, language)

    async def go(c: TidemillClient) -> tuple[str | None, dict[str, Any]]:
        kinds = await c.kinds_at(path)
        _warn_other_kind(path, "script", kinds)
        if "script" in kinds:
            old = await c.get_script(path)
            if (old.get("content"), old.get("language"), old.get("summary") or "",
                    old.get("description") or "") == (content, lang, summary, description):
                return None, old
        h = await c.deploy_script(path, content, lang, summary=summary, description=description)
        return h, await c.get_script(path)

    h, script = _call(go)
    if h is None:
        typer.echo(f"unchanged: {path} (version {script.get('hash')})", err=True)
        return
    typer.echo(f"deployed {path} (version {h})", err=True)
    if script.get("lock_error_logs"):
        typer.echo(f"warning: its requirements could not be resolved; runs will fail until "
                   f"fixed:\n{script['lock_error_logs']}", err=True)


def _deploy_app(folder: Path, path: str, summary: str) -> None:
    from desktop_app.apps.folder import load_app_folder
    from desktop_app.apps.model import AppDefinition
    from desktop_app.core.errors import TidemillError

    try:
        document = load_app_folder(folder)
        if summary:
            document["summary"] = summary
        AppDefinition(document).validate()
    except TidemillError as exc:
        fail(exc.message, exc.hint)
    _call(lambda c: c.save_app(path, document))
    count = len(list(AppDefinition(document).all_components()))
    typer.echo(f"deployed app {path} ({count} components); open it with `tidemill app {path}`",
               err=True)


def _deploy_flow(folder: Path, path: str, summary: str, description: str) -> None:
    from desktop_app.core.errors import TidemillError
    from desktop_app.flows.folder import load_flow_folder

    try:
        flow = load_flow_folder(folder)
    except TidemillError as exc:
        fail(exc.message, exc.hint)
    if summary:
        flow["summary"] = summary
    if description:
        flow["description"] = description

    async def go(c: TidemillClient) -> bool:
        kinds = await c.kinds_at(path)
        _warn_other_kind(path, "flow", kinds)
        if "flow" in kinds:
            old = await c.get_flow(path)
            if all(old.get(k) == flow.get(k) for k in ("summary", "description", "value", "schema")
                   if k in flow):
                return False
        await c.deploy_flow(path, flow)
        return True

    steps = len((flow.get("value") or {}).get("modules") or [])
    if not _call(go):
        typer.echo(f"unchanged: flow {path} ({steps} top-level steps)", err=True)
        return
    typer.echo(f"deployed flow {path} ({steps} top-level steps)", err=True)


def _warn_other_kind(path: str, kind: str, kinds: list[str]) -> None:
    other = "flow" if kind == "script" else "script"
    if other in kinds:
        typer.echo(f"warning: a {other} already lives at {path}; the {kind} is kept apart from "
                   f"it (as in Windmill) and `tidemill run {path}` will ask for --script or "
                   f"--flow. Use another path to avoid that.", err=True)


@app.command()
def run(
    path: Annotated[str, typer.Argument(metavar="PATH",
                                        help="The script's or flow's path, e.g. f/demo/hello.")],
    arg: Annotated[list[str] | None, typer.Option(
        "-a", "--arg", metavar="NAME=VALUE",
        help="One argument; repeat for more. The value is read as the argument's type "
             "(42, true, [1, 2], text).")] = None,
    args: Annotated[str | None, typer.Option(
        "--args", metavar="JSON", help="All arguments as one JSON object; -a adds to it.")] = None,
    run_async: Annotated[bool, typer.Option(
        "--async", help="Print the job's id and return at once instead of waiting.")] = False,
    as_script: Annotated[bool, typer.Option(
        "--script", help="Run the script at PATH (needed when a flow lives there too).")] = False,
    as_flow: Annotated[bool, typer.Option(
        "--flow", help="Run the flow at PATH (needed when a script lives there too).")] = False,
    as_json: Annotated[bool, typer.Option(
        "--json", help="On failure, print the error result as JSON instead of text.")] = False,
) -> None:
    """Run the script or flow at PATH and print its result as JSON.

    A failure prints the error, the script's own stack and the end of its log, and exits
    with code 1; arguments that do not fit exit with code 2 and start no job.
    """
    from desktop_app.cli.job_output import failure_text, job_logs

    if as_script and as_flow:
        fail("--script and --flow exclude each other: pick one")

    async def go(c: TidemillClient) -> tuple[Any, str, str]:
        kinds = await c.kinds_at(path)
        wanted = "script" if as_script else "flow" if as_flow else None
        if not kinds or (wanted and wanted not in kinds):
            what = f"no {wanted}" if wanted else "nothing (no script, no flow)"
            raise ClientError(f"{what} is deployed at {path!r}", status=404,
                              hint="deploy it first (`tidemill deploy FILE --path PATH`)")
        if wanted is None and len(kinds) > 1:
            raise ClientError(f"both a script and a flow live at {path!r}", status=400,
                              hint=f"say which to run: `tidemill run {path} --script` or "
                                   f"`--flow`")
        kind = wanted or kinds[0]
        item = (await (c.get_script(path) if kind == "script" else c.get_flow(path))) if arg else None
        job_args = parse_args(args, arg or [], (item.get("schema") or {}) if item else None)
        if run_async:
            return await c.run_async(path, job_args, kind), kind, ""
        outcome = await c.run_wait(path, job_args, kind)
        log = "" if outcome.success or as_json else await job_logs(c, outcome.job_id)
        return outcome, kind, log

    outcome, _kind, log = _call(go)
    if run_async:
        print(outcome)
        return
    if outcome.success or as_json:
        print_json(outcome.result)
    else:
        typer.echo(failure_text(outcome.result, path, log, outcome.job_id), err=True)
    if not outcome.success:
        raise SystemExit(1)


@app.command()
def jobs(
    action: Annotated[str | None, typer.Argument(
        metavar="prune",
        help="prune: delete now the finished jobs the retention policy no longer keeps.")] = None,
    path: Annotated[str | None, typer.Option(
        "--path", help="Only the runs of this script or flow path.")] = None,
    running: Annotated[bool, typer.Option(
        "--running", help="Only jobs that are queued or running now.")] = False,
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many jobs to list.")] = 20,
    show_all: Annotated[bool, typer.Option(
        "--all", help="Also list each flow step as its own job.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the jobs as JSON.")] = False,
) -> None:
    """List recent jobs, newest first (a flow is one job: its steps show with --all)."""
    from desktop_app.core.jobs import job_title

    if action is not None:
        if action != "prune":
            fail(f"unknown jobs action {action!r}", "the only one is prune: tidemill jobs prune")
        from desktop_app.cli.history_commands import prune

        prune(as_json)
        return
    rows = _call(lambda c: c.list_jobs(script_path_exact=path, running=True if running else None,
                                       per_page=limit,
                                       has_null_parent=None if show_all else True))
    if as_json:
        print_json(rows)
        return
    if not rows:
        what = "no job is queued or running" if running else "no jobs yet"
        typer.echo(f"{what}{f' for {path}' if path else ''}", err=True)
        return
    for j in rows:
        state = j.get("status") or ("running" if j.get("running") else "queued")
        took = f"{j['duration_ms']} ms" if j.get("duration_ms") is not None else ""
        typer.echo(f"{j['id']}  {state:<9} {job_title(j):<30} {j['created_at'][:19]}  {took}")


@app.command()
def logs(
    job_id: Annotated[str | None, typer.Argument(metavar="[JOB_ID]", help="The job's id.")] = None,
    grep: Annotated[str | None, typer.Option(
        "--grep", help="Instead: list the jobs whose log contains this text (any case).")] = None,
    path: Annotated[str | None, typer.Option(
        "--path", help="With --grep: only jobs of paths starting with this.")] = None,
    status: Annotated[str | None, typer.Option(
        "--status", help="With --grep: success, failure, canceled or skipped.")] = None,
    since: Annotated[str | None, typer.Option(
        "--since", help="With --grep: only jobs created after this ISO 8601 time.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="With --grep: at most this many.")] = 30,
    as_json: Annotated[bool, typer.Option("--json", help="With --grep: the jobs as JSON.")] = False,
) -> None:
    """Print a job's log, so far if it still runs, or search every log with --grep.

    A flow's log shows each step's log under a header naming the step.
    """
    if grep is not None:
        from desktop_app.cli.history_commands import grep_logs

        grep_logs(grep, path=path, status=status, since=since, limit=limit, as_json=as_json)
        return
    if job_id is None:
        fail("give a job id, or --grep TEXT to search the logs", "tidemill logs --help")
    from desktop_app.cli.job_output import job_logs

    typer.echo(_call(lambda c: job_logs(c, job_id)), nl=False)


@app.command()
def cancel(
    job_id: Annotated[str, typer.Argument(metavar="JOB_ID", help="The job's id.")],
    reason: Annotated[str | None, typer.Option(help="Why, shown with the canceled job.")] = None,
) -> None:
    """Cancel a queued or running job (a running one's processes are killed)."""
    typer.echo(_call(lambda c: c.cancel(job_id, reason)))


@token_app.command("create")
def token_create(
    label: Annotated[str, typer.Option(help="A name to recognise the token by.")] = "",
    scope: Annotated[str, typer.Option(
        help="What it may do: admin (all of the user's rights), or run:GLOB[,GLOB] for "
             "webhooks that may only run those paths.")] = "admin",
    user: Annotated[str | None, typer.Option(
        help="The token's user; only admins may name another (default: you).")] = None,
) -> None:
    """Print a new API token (it acts with its user's role and folder grants)."""
    typer.echo(_call(lambda c: c.create_token(label, scope, user)))


RoleArg = Annotated[str, typer.Argument(metavar="ROLE", help="The role: admin, developer or operator.")]
UserArg = Annotated[str, typer.Argument(metavar="NAME", help="The user's name.")]


@user_app.command("add")
def user_add(
    name: UserArg,
    role: Annotated[str, typer.Option(help="Their role: admin, developer or operator.")] = "developer",
    email: Annotated[str | None, typer.Option(
        help="Their email address (default: NAME@tidemill.local).")] = None,
) -> None:
    """Add a local user; then `tidemill token create --user NAME` gives them a token."""
    if role not in ("admin", "developer", "operator"):
        fail(f"unknown role {role!r}: use admin, developer or operator")
    typer.echo(f"added {_call(lambda c: c.add_user(name, role, email))} ({role})")


@user_app.command("list")
def user_list(as_json: Annotated[bool, typer.Option(
        "--json", help="Print the users as JSON.")] = False) -> None:
    """List every user and their role."""
    users = _call(lambda c: c.list_users())
    if as_json:
        print_json(users)
        return
    for u in users:
        typer.echo(f"{u['username']:<24} {u['role']:<10} {u['email']}")


@user_app.command("role")
def user_role(name: UserArg, role: RoleArg) -> None:
    """Change a user's role."""
    if role not in ("admin", "developer", "operator"):
        fail(f"unknown role {role!r}: use admin, developer or operator")
    typer.echo(_call(lambda c: c.set_role(name, role)))


@user_app.command("delete")
def user_delete(name: UserArg) -> None:
    """Remove a user and their tokens (what they made stays)."""
    typer.echo(_call(lambda c: c.delete_user(name)))


@user_app.command("whoami")
def user_whoami() -> None:
    """Say who the current token acts as."""
    me = _call(lambda c: c.whoami())
    typer.echo(f"{me['username']} ({me['role']})")


@app.command()
def gui(
    screenshot: Annotated[Path | None, typer.Option(
        metavar="PNG", help="Render one view offscreen to this PNG file and exit.")] = None,
    view: Annotated[str, typer.Option(
        help=f"The view to open or render: {', '.join(VIEW_NAMES)}.")] = "home",
    path: Annotated[str | None, typer.Option(
        help="What the view shows: a script or flow path (script, flow), a job id (job) or "
             "an app path (app, app-builder).")] = None,
    theme: Annotated[str, typer.Option(help=f"The colours: {' or '.join(THEMES)}.")] = "light",
) -> None:
    """Open the desktop app; with --screenshot, render one view to a PNG and exit."""
    if view not in VIEW_NAMES:
        fail(f"unknown view {view!r}", f"use one of {', '.join(VIEW_NAMES)}")
    if theme not in THEMES:
        fail(f"unknown theme {theme!r}", f"use {' or '.join(THEMES)}")
    if screenshot is None:
        _require_display()
    # Qt is imported only when the GUI is wanted: the rest of the CLI stays light.
    from desktop_app.gui.app import run_gui
    from desktop_app.gui.app import screenshot as take_screenshot

    home = _home(None)
    conn = connection_from_env(home)
    if screenshot is None:
        raise typer.Exit(run_gui(conn, theme, home=home))
    try:
        take_screenshot(conn, screenshot, view, path, theme)
    except ClientError as exc:
        fail_client(exc)
    except (ValueError, OSError) as exc:
        fail(str(exc))
    typer.echo(str(screenshot), err=True)


@app.command("app")
def open_app(
    path: Annotated[str, typer.Argument(metavar="PATH", help="The app's path, e.g. f/admin/users.")],
    theme: Annotated[str, typer.Option(help=f"The colours: {' or '.join(THEMES)}.")] = "light",
) -> None:
    """Open the app at PATH in its own window (run mode)."""
    _require_display()
    from desktop_app.gui.apps.entry import run_app

    raise typer.Exit(run_app(connection_from_env(_home(None)), path, theme))


def main() -> None:
    os.environ.setdefault("PYTHONWARNINGS", "ignore::UserWarning:platformdirs")
    app()


if __name__ == "__main__":
    main()
