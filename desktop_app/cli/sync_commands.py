"""`tidemill sync push|pull|status`, `tidemill import DIR`, `tidemill secret set PATH`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from desktop_app.cli.daemon_call import call_daemon
from desktop_app.cli.output import fail

sync_app = typer.Typer(help="The workspace's Git repository ($TIDEMILL_HOME/workspace).")
secret_app = typer.Typer(help="Secrets kept in this machine's keyring (never in Git).")

RemoteOpt = Annotated[str | None, typer.Option(
    "--remote", help="The repository's URL (file://, ssh:// or https://); it is remembered as "
                     "origin.")]


def register(app: typer.Typer) -> None:
    app.add_typer(sync_app, name="sync")
    app.add_typer(secret_app, name="secret")
    app.command("import")(import_folder)


_call = call_daemon


def _report(out: dict[str, Any]) -> None:
    for line in out.get("changed", []):
        typer.echo(f"  updated {line}")
    for line in out.get("deleted", []):
        typer.echo(f"  deleted {line}")
    for line in out.get("skipped", []):
        typer.echo(f"  skipped {line} (not imported)")
    missing = out.get("missing_secrets") or []
    if missing:
        typer.echo(f"{len(missing)} secret(s) are missing on this machine; set each with:")
        for m in missing:
            typer.echo(f"  {m['command']}")


@sync_app.command("push")
def push(remote: RemoteOpt = None) -> None:
    """Push the workspace's commits to the remote."""
    out = _call(lambda c: c.sync("push", remote))
    typer.echo(f"pushed {str(out['head'])[:12]} to {out['remote']}")


@sync_app.command("pull")
def pull(remote: RemoteOpt = None) -> None:
    """Fetch and merge the remote; the database then matches the files. A conflict
    changes nothing and lists the files."""
    out = _call(lambda c: c.sync("pull", remote))
    typer.echo(f"pull: {out['kind']} (now at {str(out['head'])[:12]})")
    _report(out)


@sync_app.command("status")
def status() -> None:
    """Show the repository's folder, head commit and remote."""
    out = _call(lambda c: c.sync_status(wait=True))
    typer.echo(f"{out['path']}: head {out['head'] or '(no commit)'}, remote "
               f"{out['remote'] or '(none)'}")


def import_folder(folder: Path) -> None:
    """Import a Windmill sync folder (dotted and __flow layouts).

    The folder's files are read here and sent to the daemon, which checks every item
    first, then applies them all together.
    """
    from desktop_app.core.errors import TidemillError
    from desktop_app.core.folder_files import collect_files

    try:
        files = collect_files(folder)
    except TidemillError as exc:
        fail(exc.message, exc.hint)
    out = _call(lambda c: c.import_files(files))
    typer.echo(f"imported {len(out['changed'])} items from {folder}")
    _report(out)


@secret_app.command("set")
def secret_set(
    path: Annotated[str, typer.Argument(
        metavar="PATH", help="The variable's or resource's path, e.g. f/demo/api_key.")],
    field: Annotated[str | None, typer.Option(
        "--field", help="For a resource: the name of the secret field to set.")] = None,
) -> None:
    """Set a secret variable's value (or a resource's secret field) from stdin or a prompt."""
    value = sys.stdin.read().rstrip("\n") if not sys.stdin.isatty() else \
        typer.prompt(f"value of {path}{' ' + field if field else ''}", hide_input=True)
    typer.echo(_call(lambda c: c.set_secret(path, value, field)))
