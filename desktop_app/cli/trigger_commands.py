"""`tidemill trigger list|show|enable|disable|delete`: the workspace's triggers (HTTP
routes, WebSocket, Postgres, MQTT, email) and how their listeners are doing."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from desktop_app.cli.daemon_call import call_daemon
from desktop_app.cli.output import fail

trigger_app = typer.Typer(help="Triggers: HTTP routes and event listeners.")
KINDS = ("http", "websocket", "postgres", "mqtt", "nats", "email")
KindArg = Annotated[str, typer.Argument(help="http, websocket, postgres, mqtt, nats or email")]
PathArg = Annotated[str, typer.Argument(help="the trigger's path, e.g. f/hooks/orders")]


def register(app: typer.Typer) -> None:
    app.add_typer(trigger_app, name="trigger")


_call = call_daemon


def _kind(kind: str) -> str:
    if kind not in KINDS:
        fail(f"unknown trigger kind {kind!r}", f"one of {', '.join(KINDS)}")
    return kind


@trigger_app.command("list")
def list_triggers(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every trigger with its status and last error."""
    rows = _call(lambda c: c.list_all_triggers())
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("no triggers")
        return
    for t in rows:
        line = f"{t['kind']:<9} {t['path']:<30} {t['status']:<12} → {t['script_path']}" \
               f"  ({t['detail']})"
        typer.echo(line)
        if t.get("last_error"):
            when = f" at {t['last_error_at']}" if t.get("last_error_at") else ""
            typer.echo(f"          last error{when}: {t['last_error']}")


@trigger_app.command("show")
def show(kind: KindArg, path: PathArg) -> None:
    """A trigger's definition and state, as JSON."""
    typer.echo(json.dumps(_call(lambda c: c.get_trigger(_kind(kind), path)), indent=2))


@trigger_app.command("enable")
def enable(kind: KindArg, path: PathArg) -> None:
    typer.echo(_call(lambda c: c.set_trigger_enabled(_kind(kind), path, True)))


@trigger_app.command("disable")
def disable(kind: KindArg, path: PathArg) -> None:
    typer.echo(_call(lambda c: c.set_trigger_enabled(_kind(kind), path, False)))


@trigger_app.command("delete")
def delete(kind: KindArg, path: PathArg) -> None:
    typer.echo(_call(lambda c: c.delete_trigger(_kind(kind), path)))
