"""Where secret values live: the OS keyring, or (opt-in) a passphrase-encrypted file.

The database only ever holds opaque refs; the values are here. `open_secret_store` is
what the daemon calls at start: it refuses to run without a real OS keyring rather than
fall back to plaintext, and names the two ways out. Errors: see `errors.py`.

The stores are blocking (a Secret Service call costs ~10 ms of D-Bus round trips): call
them from async code through `asyncio.to_thread`.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar

import keyring.backend
import keyring.core
import keyring.errors
from keyring.backends import chainer, fail

from desktop_app.core.errors import DaemonError, TidemillError, UsageError
from desktop_app.secrets.encrypted_file import EncryptedFileSecretStore
from desktop_app.secrets.errors import (
    KeyringLockedError,
    KeyringUnavailableError,
    SecretStoreError,
    WrongPassphraseError,
)

__all__ = [
    "EncryptedFileSecretStore",
    "KeyringLockedError",
    "KeyringSecretStore",
    "KeyringUnavailableError",
    "SecretStore",
    "SecretStoreError",
    "WrongPassphraseError",
    "detect_keyring_backend",
    "open_secret_store",
]

T = TypeVar("T")

#: Backends that keep values in an OS-provided, encrypted store. Anything else (keyring's
#: fail/null backends, keyrings.alt's plaintext or stdin-prompting files, third-party
#: credential helpers) would be a silent plaintext or hanging fallback, so it is refused.
OS_KEYRING_MODULES = frozenset({
    "keyring.backends.SecretService",
    "keyring.backends.libsecret",
    "keyring.backends.kwallet",
    "keyring.backends.macOS",
    "keyring.backends.Windows",
})

NO_KEYRING_WAYS_OUT = (
    "Either start a Secret Service (e.g. gnome-keyring in a D-Bus session: "
    "`dbus-run-session -- sh -c 'printf PASSWORD | gnome-keyring-daemon --unlock "
    "--components=secrets; tidemill daemon'`, or log in to a desktop session), or keep "
    "secrets in an encrypted file: set TIDEMILL_SECRETS=encrypted-file and "
    "TIDEMILL_SECRETS_PASSPHRASE=<passphrase>."
)


class SecretStore(Protocol):
    """Secret values by (workspace, ref). `get` gives None for an unknown ref;
    `delete` of an unknown ref does nothing."""

    def set(self, workspace: str, ref: str, value: str) -> None: ...

    def get(self, workspace: str, ref: str) -> str | None: ...

    def delete(self, workspace: str, ref: str) -> None: ...

    def describe(self) -> str: ...


def detect_keyring_backend() -> keyring.backend.KeyringBackend:
    """The OS keyring backend `keyring` would use, or DaemonError when there is none.

    Unlike `keyring.get_keyring()` this re-reads PYTHON_KEYRING_BACKEND and the keyring
    config every call (keyring caches its choice per process) and never returns the
    chainer, which would silently fall through to the next backend on any failure.
    """
    try:
        backend = (keyring.core.load_env() or keyring.core.load_config()
                   or max(keyring.backend.get_all_keyring(), default=fail.Keyring(),
                          key=keyring.backend.by_priority))
        if isinstance(backend, chainer.ChainerBackend):
            backend = next(iter(backend.backends), fail.Keyring())
    except Exception as exc:  # an explicitly chosen backend that is not viable
        raise DaemonError(f"No OS keyring was found ({exc}). {NO_KEYRING_WAYS_OUT}") from exc
    name = f"{type(backend).__module__}.{type(backend).__qualname__}"
    if type(backend).__module__ not in OS_KEYRING_MODULES:
        raise DaemonError(f"No OS keyring was found (the keyring library offers only {name}, "
                          f"which is not an OS keyring). {NO_KEYRING_WAYS_OUT}")
    return backend


def _check_name(kind: str, value: str) -> str:
    # "/" separates instance and workspace in the service name; allowing it would let
    # two different (instance, workspace) pairs share one service.
    if not value or "/" in value:
        raise UsageError(f"invalid secret {kind} {value!r}: must be non-empty, without '/'")
    return value


class KeyringSecretStore:
    """Secrets in the OS keyring: service `tidemill/<instance>/<workspace>`, username = ref.

    `instance` tells apart Tidemill installations sharing one keyring (the daemon passes
    a per-database id). Every call runs under `timeout` seconds: a locked desktop keyring
    may show an unlock prompt and wait forever; we give up and say so instead (the call
    may still finish later in its thread if the user answers the prompt).
    """

    def __init__(self, instance: str, backend: keyring.backend.KeyringBackend | None = None,
                 timeout: float = 15.0) -> None:
        self.instance = _check_name("instance", instance)
        self.backend = backend if backend is not None else detect_keyring_backend()
        self.timeout = timeout

    def service(self, workspace: str) -> str:
        return f"tidemill/{self.instance}/{_check_name('workspace', workspace)}"

    def set(self, workspace: str, ref: str, value: str) -> None:
        service = self.service(workspace)
        self._call(lambda: self.backend.set_password(service, ref, value), f"store {ref!r}")

    def get(self, workspace: str, ref: str) -> str | None:
        service = self.service(workspace)
        return self._call(lambda: self.backend.get_password(service, ref), f"read {ref!r}")

    def delete(self, workspace: str, ref: str) -> None:
        service = self.service(workspace)

        def delete_if_present() -> None:
            try:
                self.backend.delete_password(service, ref)
            except keyring.errors.PasswordDeleteError:
                pass  # already gone: delete is idempotent

        self._call(delete_if_present, f"delete {ref!r}")

    def describe(self) -> str:
        name = self.backend.name
        if type(self.backend).__module__ == "keyring.backends.SecretService":
            provider = _secret_service_provider()
            return f"Secret Service ({provider})" if provider else "Secret Service"
        return name

    def probe(self) -> None:
        """A set/get/delete round trip of a throwaway entry: proves the keyring works
        (unlocked, writable) before the daemon accepts secrets."""
        # A ref of its own: the daemon and each worker probe as they open the store, and with
        # one shared ref one's delete found the entry already deleted by another's (seen as
        # a worker that could not read back a secret to mask it).
        service, value = f"tidemill/{self.instance}", secrets.token_hex(8)
        ref = f"probe-{os.getpid()}-{value}"

        def round_trip() -> str | None:
            self.backend.set_password(service, ref, value)
            try:
                return self.backend.get_password(service, ref)
            finally:
                self.backend.delete_password(service, ref)

        if self._call(round_trip, "store a probe entry") != value:
            raise KeyringUnavailableError(
                f"the OS keyring ({self.backend.name}) did not give back the probe entry")

    def _call(self, fn: Callable[[], T], what: str) -> T:
        """Run a backend call in a daemon thread with a deadline; translate its errors."""
        outcome: list[T] = []
        failure: list[BaseException] = []

        def run() -> None:
            try:
                outcome.append(_through_a_restart(fn))
            except BaseException as exc:
                failure.append(exc)

        thread = threading.Thread(target=run, name="tidemill-keyring", daemon=True)
        thread.start()
        thread.join(self.timeout)
        name = self.backend.name
        if thread.is_alive():
            raise KeyringLockedError(
                f"the OS keyring ({name}) did not answer within {self.timeout:g} s "
                f"trying to {what}; it is probably locked and waiting on an unlock prompt",
                hint="unlock the keyring (e.g. log in to the desktop session) and retry")
        if failure:
            exc = failure[0]
            if isinstance(exc, keyring.errors.KeyringLocked):
                raise KeyringLockedError(
                    f"the OS keyring ({name}) is locked, so Tidemill cannot {what}",
                    hint="unlock it (log in to the desktop session, or "
                         "`gnome-keyring-daemon --unlock`) and retry") from exc
            if isinstance(exc, TidemillError):
                raise exc
            # D-Bus stacks raise many unrelated types (jeepney.DBusErrorResponse,
            # SecretStorageException, OSError, RuntimeError): all mean "keyring unusable".
            if isinstance(exc, Exception):
                raise KeyringUnavailableError(
                    f"the OS keyring ({name}) failed to {what}: "
                    f"{type(exc).__name__}: {exc}") from exc
            raise exc
        return outcome[0]


# gnome-keyring-daemon aborts now and then when a client's request and its disconnect cross
# ("gkd_secret_service_get_pkcs11_session: assertion 'client' failed", an upstream bug);
# desktops start it again at once (D-Bus activation, systemd). A call that met the crash
# is tried again while the keyring comes back, instead of failing a job or a request.
_GONE_AWAY = ("disconnected from message bus without replying",
              "was not provided by any .service files", "NoReply", "ServiceUnknown")
_RETRY_FOR_S = 5.0


def _keyring_went_away(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if any(marker in f"{type(seen).__name__}: {seen}" for marker in _GONE_AWAY):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _through_a_restart(fn: Callable[[], T]) -> T:
    deadline = time.monotonic() + _RETRY_FOR_S
    while True:
        try:
            return fn()
        except Exception as exc:
            if not _keyring_went_away(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.25)


def _secret_service_provider() -> str | None:
    """Which program owns org.freedesktop.secrets on the session bus (e.g.
    gnome-keyring-daemon, kwalletd6, keepassxc): best effort, for messages only."""
    try:
        from jeepney.bus_messages import message_bus
        from jeepney.io.blocking import open_dbus_connection

        with open_dbus_connection(bus="SESSION") as conn:
            reply = conn.send_and_get_reply(
                message_bus.GetConnectionUnixProcessID("org.freedesktop.secrets"), timeout=2)
        argv0 = Path(f"/proc/{reply.body[0]}/cmdline").read_bytes().split(b"\0")[0]
        return os.path.basename(argv0.decode(errors="replace")) or None
    except Exception:  # a message detail is not worth failing for
        return None


def open_secret_store(home: Path, instance: str) -> SecretStore:
    """The store the daemon uses, from TIDEMILL_SECRETS: `keyring` (default) or
    `encrypted-file` (`$home/secrets.enc`, TIDEMILL_SECRETS_PASSPHRASE required).

    Raises DaemonError, naming the ways out, when no working OS keyring exists: secrets
    never fall back to plaintext.
    """
    choice = os.environ.get("TIDEMILL_SECRETS", "keyring").strip() or "keyring"
    if choice == "encrypted-file":
        passphrase = os.environ.get("TIDEMILL_SECRETS_PASSPHRASE", "")
        if not passphrase:
            raise DaemonError("TIDEMILL_SECRETS=encrypted-file needs the passphrase in "
                              "TIDEMILL_SECRETS_PASSPHRASE (it is empty or unset).")
        return EncryptedFileSecretStore(home / "secrets.enc", passphrase)
    if choice != "keyring":
        raise DaemonError(f"TIDEMILL_SECRETS={choice!r} is not a secret store; "
                          "use 'keyring' (the default) or 'encrypted-file'.")
    store = KeyringSecretStore(instance)
    try:
        store.probe()
    except SecretStoreError as exc:
        raise DaemonError(f"The OS keyring does not work: {exc.message}. "
                          f"{NO_KEYRING_WAYS_OUT}", hint=exc.hint) from exc
    return store
