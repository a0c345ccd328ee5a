"""`tidemill doctor`: check this machine for what Tidemill needs, each problem with its fix.

Runs locally (no daemon needed: it is what you run when the daemon will not start); it
reads the running daemon's `daemon.json` only to know which ports are its own."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from desktop_app.cli.output import print_json

MARKS = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}


def register(app: typer.Typer) -> None:
    @app.command()
    def doctor(
        home: Annotated[Path | None, typer.Option("--home", help="state folder ($TIDEMILL_HOME)")] = None,
        only: Annotated[list[str] | None, typer.Option("--only", help="run only this check (repeatable)")] = None,
        port: Annotated[int | None, typer.Option(help="the API port to check (default 8765)")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="the findings as JSON")] = False,
        clean_orphans: Annotated[bool, typer.Option(
            "--clean-orphans", help="remove the embedded database clusters whose home was "
            "deleted or made again (root only; their data is lost), then check")] = False,
    ) -> None:
        """Check the secret store, database, ports, toolchains, disk and tray; exit 1 if
        anything fails (warnings alone exit 0)."""
        from desktop_app.cli.daemon_control import running_info
        from desktop_app.daemon.home import default_home
        from desktop_app.doctor.checks import all_checks, context_from_env, run_checks

        root = (home or default_home()).expanduser().resolve()
        names = [name for name, _ in all_checks()]
        unknown = sorted(set(only or ()) - set(names))
        if unknown:
            typer.echo(f"tidemill doctor: no check named {', '.join(unknown)}; the checks are "
                       f"{', '.join(dict.fromkeys(names))}", err=True)
            raise typer.Exit(2)
        if clean_orphans:
            _clean_orphans()
        findings = run_checks(context_from_env(root, running_info(root), port), only or ())
        if as_json:
            print_json([f.as_dict() for f in findings])
        else:
            for f in findings:
                typer.echo(f"{MARKS[f.status]}  {f.check:<11} {f.detail}")
                if f.fix and f.status != "ok":
                    typer.echo(f"{'':17} fix: {f.fix}")
        raise typer.Exit(1 if any(f.status == "fail" for f in findings) else 0)


def _clean_orphans() -> None:
    from desktop_app.doctor.cluster_checks import clean_orphans

    removed, error = clean_orphans()
    for line in removed or ["no orphaned clusters"]:
        typer.echo(line)
    if error:
        typer.echo(error, err=True)
        raise typer.Exit(1)
