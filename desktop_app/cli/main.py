"""`tidemill`: the command line. It reaches the engine only through the HTTP client."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from desktop_app.cli import daemon_control
from desktop_app.cli.display import EXIT_NO_DISPLAY, missing_display
from desktop_app.cli.files import read_script
from desktop_app.cli.output import fail, fail_client, print_json
from desktop_app.client.http import ClientError, TidemillClient, connection_from_env

app = typer.Typer(no_args_is_help=False, add_completion=False, pretty_exceptions_enable=False,
                  help="Tidemill: scripts become forms, endpoints, jobs and schedules.")
daemon_app = typer.Typer(help="Run the daemon (foreground), or start/stop/status a background one.",
                         invoke_without_command=True)
token_app = typer.Typer(help="API tokens.")
user_app = typer.Typer(help="Local users and their roles (admin, developer, operator).")
app.add_typer(daemon_app, name="daemon")
app.add_typer(token_app, name="token")
app.add_typer(user_app, name="user")
# adds `sync`, `import`, `secret`; `trigger`; `doctor`; `autostart` and `tray`
from desktop_app.cli import (  # noqa: E402
    autostart_command,
    doctor_command,
    sync_commands,
    trigger_commands,
)

sync_commands.register(app)
trigger_commands.register(app)
doctor_command.register(app)
autostart_command.register(app)

HomeOpt = Annotated[Path | None, typer.Option("--home", help="state folder ($TIDEMILL_HOME)")]


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


PortOpt = Annotated[int, typer.Option(help="API port")]
HostOpt = Annotated[str, typer.Option(help="listen address (127.0.0.1 unless you mean it)")]
WorkersOpt = Annotated[int, typer.Option(help="worker processes")]
DbOpt = Annotated[str | None, typer.Option(envvar="TIDEMILL_DATABASE_URL",
                                           help="external PostgreSQL (default: embedded)")]
HeartbeatOpt = Annotated[float, typer.Option(help="seconds between job heartbeats")]
PublicUrlOpt = Annotated[str | None, typer.Option(
    envvar="TIDEMILL_PUBLIC_URL",
    help="the address users reach the daemon at (approval links use it; its name is allowed)")]
AllowedHostOpt = Annotated[list[str] | None, typer.Option(
    "--allowed-host", help="another name the API answers to (Host); repeat for more;"
                           " TIDEMILL_ALLOWED_HOSTS=a,b")]
MemoryOpt = Annotated[int | None, typer.Option(
    envvar="TIDEMILL_JOB_MEMORY_MB", help="memory limit of each job process in MB (0: none; "
    "default 2048)")]


@daemon_app.callback()
def daemon(
    ctx: typer.Context,
    home: HomeOpt = None,
    port: PortOpt = 8765,
    host: HostOpt = "127.0.0.1",
    workers: WorkersOpt = 2,
    database_url: DbOpt = None,
    heartbeat: HeartbeatOpt = 2.0,
    public_url: PublicUrlOpt = None,
    allowed_host: AllowedHostOpt = None,
    job_memory_mb: MemoryOpt = None,
) -> None:
    """Run the daemon in the foreground (Ctrl-C drains and stops)."""
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
    port: PortOpt = 8765,
    host: HostOpt = "127.0.0.1",
    workers: WorkersOpt = 2,
    database_url: DbOpt = None,
    heartbeat: HeartbeatOpt = 2.0,
    public_url: PublicUrlOpt = None,
    allowed_host: AllowedHostOpt = None,
) -> None:
    """Start the daemon in the background and wait until it answers."""
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
    database_url: Annotated[str, typer.Option(envvar="TIDEMILL_DATABASE_URL")],
    home: HomeOpt = None,
    base_url: Annotated[str | None, typer.Option(help="API URL jobs should call")] = None,
    tags: Annotated[str, typer.Option(help="comma-separated tags (default: every language)")] = "",
    name: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Run one extra worker against a shared database (e.g. on another machine)."""
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


@app.command()
def schema(
    file: Path,
    language: Annotated[str | None, typer.Option("--language", "-l")] = None,
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
    file: Path,
    path: Annotated[str, typer.Option("--path", help="where it lives, e.g. f/folder/name")],
    summary: Annotated[str, typer.Option()] = "",
    description: Annotated[str, typer.Option()] = "",
    language: Annotated[str | None, typer.Option("--language", "-l")] = None,
) -> None:
    """Create or update a script at PATH from FILE, a flow from a Windmill flow folder
    (`name.flow/` or `name__flow/` with flow.yaml and its inline step files), or an app from
    an app folder (`name.app/` with app.yaml)."""
    if file.name.endswith((".app", "__app")) or file.name == "app.yaml":
        _deploy_app(file.parent if file.name == "app.yaml" else file, path, summary)
        return
    if file.is_dir() or file.name in ("flow.yaml", "flow.json"):
        _deploy_flow(file, path, summary, description)
        return
    content, lang = read_script(file, language)

    async def go(c: TidemillClient) -> tuple[str, dict[str, Any]]:
        h = await c.deploy_script(path, content, lang, summary=summary, description=description)
        return h, await c.get_script(path)

    h, script = _call(go)
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
    _call(lambda c: c.deploy_flow(path, flow))
    steps = len((flow.get("value") or {}).get("modules") or [])
    typer.echo(f"deployed flow {path} ({steps} top-level steps)", err=True)


def _parse_args(args_json: str | None, kv: list[str], schema: dict[str, Any] | None) -> dict[str, Any]:
    from desktop_app.core.args import coerce_cli_value
    from desktop_app.core.errors import ArgumentError

    out: dict[str, Any] = {}
    if args_json:
        try:
            loaded = json.loads(args_json)
        except ValueError as exc:
            fail(f"--args is not valid JSON: {exc}")
        if not isinstance(loaded, dict):
            fail("--args must be a JSON object, e.g. '{\"x\": 1}'")
        out.update(loaded)
    props = (schema or {}).get("properties") or {}
    for item in kv:
        if "=" not in item:
            fail(f"-a takes key=value, got {item!r}")
        key, raw = item.split("=", 1)
        try:
            out[key] = coerce_cli_value(props.get(key), raw)
        except ArgumentError as exc:
            fail(exc.message, exc.hint)
    return out


@app.command()
def run(
    path: str,
    arg: Annotated[list[str] | None, typer.Option("-a", "--arg", help="key=value")] = None,
    args: Annotated[str | None, typer.Option("--args", help="JSON object of arguments")] = None,
    run_async: Annotated[bool, typer.Option("--async", help="print the job id and return")] = False,
) -> None:
    """Run the script or flow at PATH; print its result as JSON (exit 1 on failure)."""

    async def go(c: TidemillClient) -> Any:
        kind = await c.kind_of(path)
        if kind is None:
            raise ClientError(f"nothing is deployed at {path!r} (no script, no flow)", status=404,
                              hint="deploy it first (`tidemill deploy FILE --path PATH`)")
        item = (await (c.get_script(path) if kind == "script" else c.get_flow(path))) if arg else None
        job_args = _parse_args(args, arg or [], item.get("schema") if item else None)
        if run_async:
            return await c.run_async(path, job_args, kind)
        return await c.run_wait(path, job_args, kind)

    outcome = _call(go)
    if run_async:
        print(outcome)
        return
    print_json(outcome.result)
    if not outcome.success:
        raise SystemExit(1)


@app.command()
def jobs(
    action: Annotated[str | None, typer.Argument(
        help="prune: delete now the finished jobs the retention policy no longer keeps.")] = None,
    path: Annotated[str | None, typer.Option("--path")] = None,
    running: Annotated[bool, typer.Option("--running")] = False,
    limit: Annotated[int, typer.Option("--limit", "-n")] = 20,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List recent jobs, newest first."""
    if action is not None:
        if action != "prune":
            fail(f"unknown jobs action {action!r}", "the only one is prune: tidemill jobs prune")
        from desktop_app.cli.history_commands import prune

        prune(as_json)
        return
    rows = _call(lambda c: c.list_jobs(script_path_exact=path, running=True if running else None,
                                       per_page=limit))
    if as_json:
        print_json(rows)
        return
    for j in rows:
        state = j.get("status") or ("running" if j.get("running") else "queued")
        took = f"{j['duration_ms']} ms" if j.get("duration_ms") is not None else ""
        typer.echo(f"{j['id']}  {state:<9} {j.get('script_path') or '(preview)':<30} "
                   f"{j['created_at'][:19]}  {took}")


@app.command()
def logs(
    job_id: Annotated[str | None, typer.Argument(help="The job's id.")] = None,
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
    """Print a job's logs (so far, if it still runs), or search every log with --grep."""
    if grep is not None:
        from desktop_app.cli.history_commands import grep_logs

        grep_logs(grep, path=path, status=status, since=since, limit=limit, as_json=as_json)
        return
    if job_id is None:
        fail("give a job id, or --grep TEXT to search the logs", "tidemill logs --help")
    typer.echo(_call(lambda c: c.get_logs(job_id)), nl=False)


@app.command()
def cancel(job_id: str, reason: Annotated[str | None, typer.Option()] = None) -> None:
    """Cancel a queued or running job (a running one's processes are killed)."""
    typer.echo(_call(lambda c: c.cancel(job_id, reason)))


@token_app.command("create")
def token_create(
    label: Annotated[str, typer.Option()] = "",
    scope: Annotated[str, typer.Option(help="admin (all of the user's rights), or"
                                            " run:<glob>[,<glob>] for webhooks")] = "admin",
    user: Annotated[str | None, typer.Option(help="the token's user (admins; default: you)")] = None,
) -> None:
    """Print a new API token (it acts with its user's role and folder grants)."""
    typer.echo(_call(lambda c: c.create_token(label, scope, user)))


RoleArg = Annotated[str, typer.Argument(help="admin, developer or operator")]


@user_app.command("add")
def user_add(
    name: str,
    role: Annotated[str, typer.Option(help="admin, developer or operator")] = "developer",
    email: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Add a local user; then `tidemill token create --user NAME` gives them a token."""
    if role not in ("admin", "developer", "operator"):
        fail(f"unknown role {role!r}: use admin, developer or operator")
    typer.echo(f"added {_call(lambda c: c.add_user(name, role, email))} ({role})")


@user_app.command("list")
def user_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every user and their role."""
    users = _call(lambda c: c.list_users())
    if as_json:
        print_json(users)
        return
    for u in users:
        typer.echo(f"{u['username']:<24} {u['role']:<10} {u['email']}")


@user_app.command("role")
def user_role(name: str, role: RoleArg) -> None:
    """Change a user's role."""
    if role not in ("admin", "developer", "operator"):
        fail(f"unknown role {role!r}: use admin, developer or operator")
    typer.echo(_call(lambda c: c.set_role(name, role)))


@user_app.command("delete")
def user_delete(name: str) -> None:
    """Remove a user and their tokens (what they made stays)."""
    typer.echo(_call(lambda c: c.delete_user(name)))


@user_app.command("whoami")
def user_whoami() -> None:
    """Who the current token acts as."""
    me = _call(lambda c: c.whoami())
    typer.echo(f"{me['username']} ({me['role']})")


@app.command()
def gui(
    screenshot: Annotated[Path | None, typer.Option(help="render a view offscreen to this PNG and exit")] = None,
    view: Annotated[str, typer.Option(help="home, script, runs, job, resources, schedules, settings, app, app-builder")] = "home",
    path: Annotated[str | None, typer.Option(help="script path (script view), job id (job view) or app path (app views)")] = None,
    theme: Annotated[str, typer.Option(help="light or dark")] = "light",
) -> None:
    """Open the desktop app, or with --screenshot render one view to PNG and exit."""
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
    path: Annotated[str, typer.Argument(help="the app's path, e.g. f/admin/users")],
    theme: Annotated[str, typer.Option(help="light or dark")] = "light",
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
