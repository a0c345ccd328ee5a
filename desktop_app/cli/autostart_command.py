"""`tidemill autostart enable|disable|status` (the daemon and its tray at login) and
`tidemill tray` (the tray icon alone, as the login entry starts it)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from desktop_app.cli.display import EXIT_NO_DISPLAY, missing_display
from desktop_app.cli.output import print_json

HomeOpt = Annotated[Path | None, typer.Option("--home", help="state folder ($TIDEMILL_HOME)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="the status as JSON")]


def _home(home: Path | None) -> Path:
    from desktop_app.daemon.home import default_home

    return (home or default_home()).expanduser().resolve()


def _show(as_json: bool) -> None:
    from desktop_app.autostart.manage import status

    st = status()
    if as_json:
        print_json({"enabled": st.enabled, "entries": st.entries, "detail": st.detail})
    else:
        typer.echo(("enabled: " if st.enabled else "disabled: ") + st.detail)


def register(app: typer.Typer) -> None:
    autostart = typer.Typer(help="Start the daemon and its tray icon when you log in.")
    app.add_typer(autostart, name="autostart")

    @autostart.command("enable")
    def enable(home: HomeOpt = None, as_json: JsonOpt = False) -> None:
        """Install the login entries (systemd user unit, LaunchAgents or a Startup entry)."""
        from desktop_app.autostart.manage import enable as do_enable

        do_enable(_home(home))
        _show(as_json)

    @autostart.command("disable")
    def disable(as_json: JsonOpt = False) -> None:
        """Remove the login entries (a running daemon goes on running)."""
        from desktop_app.autostart.manage import disable as do_disable

        do_disable()
        _show(as_json)

    @autostart.command("status")
    def show(as_json: JsonOpt = False) -> None:
        """Whether Tidemill starts at login, and from which files."""
        _show(as_json)

    @app.command()
    def tray(home: HomeOpt = None) -> None:
        """The tray icon of this home's daemon (running jobs, failures, pause, quit)."""
        problem = missing_display()
        if problem:
            typer.echo(problem, err=True)
            raise typer.Exit(EXIT_NO_DISPLAY)
        from desktop_app.gui.tray import main as tray_main

        raise typer.Exit(tray_main(["--home", str(_home(home))]))
