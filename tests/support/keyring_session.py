"""A real, private Secret Service for tests: its own D-Bus session bus and an unlocked
gnome-keyring-daemon, nothing shared with the machine's (or another test run's) keyring.

    with secret_service_session(tmp_dir) as session:   # ~30 ms to start
        ...  # os.environ points the keyring library (and every subprocess) at it

While active, os.environ has DBUS_SESSION_BUS_ADDRESS, XDG_RUNTIME_DIR and
PYTHON_KEYRING_BACKEND=keyring.backends.SecretService.Keyring (so `keyring` cannot pick a
different backend, nor reuse a choice it cached before the bus existed); daemons started
by tests inherit them. On exit both processes stop and the variables are restored, so
sessions may nest (e.g. a throwaway one to lock). `session.env` has the same variables
for a subprocess started with an explicit environment.

The keyring files live under the given folder (HOME and XDG_DATA_HOME of the daemons
point there), never in the real home.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

SECRET_SERVICE_BACKEND = "keyring.backends.SecretService.Keyring"
SECRETS_BUS_NAME = "org.freedesktop.secrets"
NEEDED_PROGRAMS = ("dbus-daemon", "gnome-keyring-daemon")
DEBIAN_PACKAGES = "gnome-keyring dbus libsecret-1-0"

# No <servicedir>: nothing is D-Bus-activated, so if our gnome-keyring-daemon dies the
# tests see it, instead of the bus quietly starting another one with other settings.
_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


class SecretServiceUnavailable(RuntimeError):
    """The test Secret Service could not be started."""


@dataclass
class SecretServiceSession:
    """A running private Secret Service."""

    root: Path
    bus_address: str
    password: str
    env: dict[str, str] = field(default_factory=dict)
    bus: subprocess.Popen[bytes] | None = None
    supervisor: subprocess.Popen[bytes] | None = None  # restarts gnome-keyring (below)

    @property
    def keyring_pid(self) -> int:
        """The running gnome-keyring-daemon's pid (what a test kills to crash it)."""
        return int((self.root / _PID_FILE).read_text())

    @property
    def restarts(self) -> int:
        """How many times the supervisor started the keyring again after it exited."""
        path = self.root / _RESTARTS_FILE
        return len(path.read_text().splitlines()) if path.exists() else 0

    def lock(self) -> None:
        """Lock the default collection (what a locked desktop keyring looks like)."""
        import secretstorage

        with closing(secretstorage.dbus_init()) as conn:
            secretstorage.get_default_collection(conn).lock()

    def stop(self) -> None:
        _stop(self.supervisor, group=True)  # the shell and the keyring it is waiting on
        _stop(self.bus)


def _stop(proc: subprocess.Popen[bytes] | None, *, group: bool = False) -> None:
    """SIGTERM, then SIGKILL after 5 s; with `group`, to the process group `proc` leads."""
    if proc is None or proc.poll() is not None:
        return

    def send(sig: signal.Signals) -> None:
        if group:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)

    try:
        send(signal.SIGTERM)
        proc.wait(5)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:  # the group is already gone
        proc.wait()


def _wait_for_bus_name(address: str, name: str, proc: subprocess.Popen[bytes],
                       log: Path, timeout: float) -> None:
    from jeepney.bus_messages import message_bus
    from jeepney.io.blocking import open_dbus_connection

    deadline = time.monotonic() + timeout
    with open_dbus_connection(bus=address) as conn:
        while time.monotonic() < deadline:
            if conn.send_and_get_reply(message_bus.NameHasOwner(name), timeout=2).body[0]:
                return
            if proc.poll() is not None:
                raise SecretServiceUnavailable(
                    f"the keyring's supervisor exited with {proc.returncode}: "
                    f"{log.read_text(errors='replace').strip()[-2000:]}")
            time.sleep(0.01)
    raise SecretServiceUnavailable(
        f"{name} did not appear on the test bus in {timeout} s; gnome-keyring-daemon "
        f"said: {log.read_text(errors='replace').strip()[-2000:] or '(nothing)'}")


def start_secret_service(root: Path, password: str = "tidemill-test") -> SecretServiceSession:
    """Start a private bus and an unlocked gnome-keyring under `root`; os.environ is not
    touched (see `secret_service_session`)."""
    missing = [p for p in NEEDED_PROGRAMS if shutil.which(p) is None]
    if missing:
        raise SecretServiceUnavailable(
            f"{', '.join(missing)} not found: install the Debian packages {DEBIAN_PACKAGES}")
    root = Path(root)
    runtime, home = root / "run", root / "home"
    for d in (runtime, home):
        d.mkdir(parents=True, exist_ok=True)
        d.chmod(0o700)  # gnome-keyring refuses a runtime dir others can read
    config = root / "bus.conf"
    config.write_text(_BUS_CONFIG.format(socket=runtime / "bus"))
    env = {k: v for k, v in os.environ.items() if k not in (
        "DBUS_SESSION_BUS_ADDRESS", "GNOME_KEYRING_CONTROL", "SSH_AUTH_SOCK")}
    env.update(HOME=str(home), XDG_RUNTIME_DIR=str(runtime),
               XDG_DATA_HOME=str(home / "data"), XDG_CONFIG_HOME=str(home / "config"))
    session = SecretServiceSession(root=root, bus_address="", password=password)
    try:
        session.bus = subprocess.Popen(
            ["dbus-daemon", f"--config-file={config}", "--nofork", "--nopidfile",
             "--print-address=1"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        assert session.bus.stdout is not None
        session.bus_address = session.bus.stdout.readline().decode().strip()
        session.bus.stdout.close()
        if not session.bus_address:
            raise SecretServiceUnavailable(f"dbus-daemon exited with {session.bus.wait()}")
        env["DBUS_SESSION_BUS_ADDRESS"] = session.bus_address
        _start_keyring_daemon(session, env)
    except BaseException:
        session.stop()
        raise
    session.env = {"DBUS_SESSION_BUS_ADDRESS": session.bus_address,
                   "XDG_RUNTIME_DIR": str(runtime),
                   "PYTHON_KEYRING_BACKEND": SECRET_SERVICE_BACKEND}
    return session


# The keyring runs under a small shell supervisor that starts it again whenever it exits,
# as systemd or D-Bus activation does on a desktop: gnome-keyring-daemon aborts now and
# then when a client's request and its disconnect cross (an upstream bug; seen in CI,
# every later test then failed). Tidemill's store retries a call that met the crash
# (secrets/store.py). A separate process, not a thread here: a Python thread waking in
# the test process can run the garbage collector, which then destroys Qt objects off the
# GUI thread (CI: two segfaults in the GUI tests the day such a watcher thread was added).
# --unlock reads the login keyring's password from stdin (creating the keyring with it
# the first time), so no prompt is ever needed.
_PID_FILE, _RESTARTS_FILE = "gnome-keyring.pid", "gnome-keyring.restarts"
_SUPERVISOR = r"""
started=0
while :; do
  [ $started = 1 ] && echo restarted >> "$2"
  started=1
  printf %s "$TIDEMILL_TEST_KEYRING_PASSWORD" |
    env -u TIDEMILL_TEST_KEYRING_PASSWORD \
      gnome-keyring-daemon --foreground --unlock --components=secrets &
  echo $! > "$1.tmp" && mv "$1.tmp" "$1"
  wait $!
  sleep 0.05
done
"""


def _start_keyring_daemon(session: SecretServiceSession, env: dict[str, str]) -> None:
    log = session.root / "gnome-keyring.log"  # a file, not a pipe nobody drains
    with open(log, "ab") as log_file:
        session.supervisor = subprocess.Popen(
            ["sh", "-c", _SUPERVISOR, "keyring-supervisor",
             str(session.root / _PID_FILE), str(session.root / _RESTARTS_FILE)],
            stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file,
            env={**env, "TIDEMILL_TEST_KEYRING_PASSWORD": session.password},
            start_new_session=True)
    _wait_for_bus_name(session.bus_address, SECRETS_BUS_NAME, session.supervisor, log, 10)


@contextmanager
def secret_service_session(root: Path, password: str = "tidemill-test"
                           ) -> Iterator[SecretServiceSession]:
    """A private Secret Service, with os.environ pointing at it while the block runs."""
    session = start_secret_service(root, password)
    saved = {k: os.environ.get(k) for k in session.env}
    os.environ.update(session.env)
    try:
        yield session
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        session.stop()
