"""`tidemill scripts|flows|apps list|show|delete`: what is deployed, read and removed through
the API (a script's or flow's delete is Windmill's archive: it stops listing and running, its
versions and past runs stay)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from desktop_app.cli.arguments import argument_names
from desktop_app.cli.daemon_call import call_daemon as call
from desktop_app.cli.output import fail, print_json

PathArg = Annotated[str, typer.Argument(metavar="PATH", help="Its path, e.g. f/demo/hello.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


def register(app: typer.Typer) -> None:
    for name, sub in (("scripts", scripts_app), ("flows", flows_app), ("apps", apps_app)):
        app.add_typer(sub, name=name)



def _confirm(what: str, yes: bool) -> None:
    if not yes and not typer.confirm(f"Delete {what}?", default=False):
        fail("nothing was deleted", code=1)


def _arguments(schema: dict[str, Any] | None) -> str:
    props = (schema or {}).get("properties") or {}
    required = set((schema or {}).get("required") or [])
    parts = [f"{name} ({props[name].get('type') or 'any'}{', required' if name in required else ''})"
             for name in argument_names(schema) if isinstance(props[name], dict)]
    return ", ".join(parts) or "none"


def _table(rows: list[dict[str, Any]], kind: str, columns: Any, as_json: bool) -> None:
    if as_json:
        print_json(rows)
        return
    if not rows:
        typer.echo(f"no {kind} deployed yet", err=True)
        return
    for row in rows:
        typer.echo(columns(row).rstrip())


# -- scripts ---------------------------------------------------------------------------------
scripts_app = typer.Typer(help="List, show or delete the deployed scripts.")


@scripts_app.command("list")
def scripts_list(as_json: JsonOpt = False) -> None:
    """List every script: path, language and summary."""
    rows = call(lambda c: c.list_scripts())
    _table(rows, "scripts", lambda s: f"{s['path']:<36} {s.get('language') or '':<10} "
                                      f"{s.get('summary') or ''}", as_json)


@scripts_app.command("show")
def scripts_show(path: PathArg, as_json: JsonOpt = False) -> None:
    """Show a script's newest version: summary, arguments, then its code."""
    s = call(lambda c: c.get_script(path))
    if as_json:
        print_json(s)
        return
    typer.echo(f"{s['path']}  ({s.get('language')}, version {s.get('hash')}, "
               f"{str(s.get('created_at') or '')[:19]})")
    if s.get("summary"):
        typer.echo(f"summary: {s['summary']}")
    typer.echo(f"arguments: {_arguments(s.get('schema'))}")
    typer.echo("")
    typer.echo(str(s.get("content") or ""), nl=not str(s.get("content") or "").endswith("\n"))


@scripts_app.command("delete")
def scripts_delete(path: PathArg, yes: YesOpt = False) -> None:
    """Delete (archive) a script: it no longer lists or runs; its versions and runs stay."""
    _confirm(f"the script {path}", yes)
    call(lambda c: c.archive_script(path))
    typer.echo(f"deleted script {path} (archived: its versions and past runs are kept)")


# -- flows -----------------------------------------------------------------------------------
flows_app = typer.Typer(help="List, show or delete the deployed flows.")


@flows_app.command("list")
def flows_list(as_json: JsonOpt = False) -> None:
    """List every flow: path and summary."""
    rows = call(lambda c: c.list_flows())
    _table(rows, "flows", lambda f: f"{f['path']:<36} {f.get('summary') or ''}", as_json)


@flows_app.command("show")
def flows_show(path: PathArg, as_json: JsonOpt = False) -> None:
    """Show a flow: summary, inputs and its steps."""
    f = call(lambda c: c.get_flow(path))
    if as_json:
        print_json(f)
        return
    typer.echo(f"{f['path']}  (version {f.get('version_id')}, {str(f.get('edited_at'))[:19]})")
    if f.get("summary"):
        typer.echo(f"summary: {f['summary']}")
    typer.echo(f"inputs: {_arguments(f.get('schema'))}")
    typer.echo("steps:")
    for line in _steps((f.get("value") or {}).get("modules") or [], "  "):
        typer.echo(line)


def _steps(modules: list[dict[str, Any]], indent: str) -> list[str]:
    out: list[str] = []
    for m in modules:
        value = m.get("value") or {}
        kind = value.get("type") or "?"
        what = value.get("path") or value.get("language") or ""
        summary = f" — {m['summary']}" if m.get("summary") else ""
        out.append(f"{indent}{m.get('id')}: {kind}{f' {what}' if what else ''}{summary}")
        if isinstance(value.get("modules"), list):
            out += _steps(value["modules"], indent + "  ")
        for i, branch in enumerate(value.get("branches") or []):
            out.append(f"{indent}  branch {i + 1}:")
            out += _steps(branch.get("modules") or [], indent + "    ")
        if isinstance(value.get("default"), list) and value["default"]:
            out.append(f"{indent}  default:")
            out += _steps(value["default"], indent + "    ")
    return out


@flows_app.command("delete")
def flows_delete(path: PathArg, yes: YesOpt = False) -> None:
    """Delete (archive) a flow: it no longer lists or runs; its versions and runs stay."""
    _confirm(f"the flow {path}", yes)
    call(lambda c: c.archive_flow(path))
    typer.echo(f"deleted flow {path} (archived: its versions and past runs are kept)")


# -- apps ------------------------------------------------------------------------------------
apps_app = typer.Typer(help="List, show or delete the deployed apps (`tidemill app PATH` opens one).")


@apps_app.command("list")
def apps_list(as_json: JsonOpt = False) -> None:
    """List every app: path and summary."""
    rows = call(lambda c: c.list_apps())
    _table(rows, "apps", lambda a: f"{a['path']:<36} {a.get('summary') or ''}", as_json)


@apps_app.command("show")
def apps_show(path: PathArg) -> None:
    """Print an app's definition as JSON."""
    print_json(call(lambda c: c.get_app(path)))


@apps_app.command("delete")
def apps_delete(path: PathArg, yes: YesOpt = False) -> None:
    """Delete an app."""
    _confirm(f"the app {path}", yes)
    call(lambda c: c.delete_app(path))
    typer.echo(f"deleted app {path}")
