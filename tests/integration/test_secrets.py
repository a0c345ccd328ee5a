"""The secret stores against real things: a private gnome-keyring over D-Bus (the
`secret_service` fixture), real files, real subprocesses without any keyring."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from keyring.backend import KeyringBackend

from desktop_app.core.errors import DaemonError
from desktop_app.secrets import (
    EncryptedFileSecretStore,
    KeyringLockedError,
    KeyringSecretStore,
    WrongPassphraseError,
    open_secret_store,
)
from tests.support.keyring_session import SecretServiceSession, secret_service_session

ROOT = Path(__file__).resolve().parents[2]


def files_containing(folder: Path, needle: bytes) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and needle in p.read_bytes()]


# -- the OS keyring (gnome-keyring) -------------------------------------------------------


def test_keyring_round_trip(secret_service: SecretServiceSession) -> None:
    store = KeyringSecretStore(uuid.uuid4().hex[:12])
    assert store.get("main", "u/admin/db_password") is None
    store.set("main", "u/admin/db_password", "pä$$wörd ✓")
    assert store.get("main", "u/admin/db_password") == "pä$$wörd ✓"
    store.set("main", "u/admin/db_password", "rotated")
    assert store.get("main", "u/admin/db_password") == "rotated"
    store.delete("main", "u/admin/db_password")
    assert store.get("main", "u/admin/db_password") is None
    store.delete("main", "u/admin/db_password")  # deleting what is gone is fine


def test_workspaces_and_instances_are_isolated(secret_service: SecretServiceSession) -> None:
    instance = uuid.uuid4().hex[:12]
    store, other_install = KeyringSecretStore(instance), KeyringSecretStore(instance + "x")
    store.set("main", "f/x/token", "main-value")
    store.set("staging", "f/x/token", "staging-value")
    assert store.get("main", "f/x/token") == "main-value"
    assert store.get("staging", "f/x/token") == "staging-value"
    assert other_install.get("main", "f/x/token") is None
    store.delete("staging", "f/x/token")
    assert store.get("main", "f/x/token") == "main-value"
    assert store.service("main") == f"tidemill/{instance}/main"


def test_describe_names_the_secret_service(secret_service: SecretServiceSession) -> None:
    assert KeyringSecretStore("describe").describe() == "Secret Service (gnome-keyring-daemon)"


def test_keyring_value_never_written_under_home(secret_service: SecretServiceSession,
                                                tidemill_home: Path) -> None:
    store = open_secret_store(tidemill_home, uuid.uuid4().hex[:12])
    assert isinstance(store, KeyringSecretStore)
    value = f"never-on-disk-{uuid.uuid4().hex}"
    store.set("main", "f/x/api_key", value)
    assert store.get("main", "f/x/api_key") == value
    assert files_containing(tidemill_home, value.encode()) == []
    # gnome-keyring itself keeps it encrypted (its files are under the session's root).
    assert files_containing(secret_service.root, value.encode()) == []


def test_locked_keyring_gives_a_clear_error(tmp_path: Path) -> None:
    # A throwaway Secret Service: locking the session's one would break other tests.
    with secret_service_session(tmp_path / "locked") as session:
        store = KeyringSecretStore("locked")
        store.set("main", "ref", "value")
        session.lock()
        with pytest.raises(KeyringLockedError, match="is locked"):
            store.get("main", "ref")
        with pytest.raises(DaemonError, match="locked") as err:
            open_secret_store(tmp_path, "locked")
        assert "TIDEMILL_SECRETS=encrypted-file" in str(err.value)


class HangingKeyring(KeyringBackend):
    """A backend waiting on an unlock prompt nobody answers."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def get_password(self, service: str, username: str) -> str | None:
        self.release.wait(30)
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        self.release.wait(30)


def test_a_backend_that_never_answers_times_out() -> None:
    backend = HangingKeyring()
    store = KeyringSecretStore("hang", backend=backend, timeout=0.2)
    started = time.monotonic()
    with pytest.raises(KeyringLockedError, match=r"did not answer within 0.2 s"):
        store.get("main", "ref")
    assert time.monotonic() - started < 2
    backend.release.set()


NO_KEYRING_SCRIPT = """
import sys
from pathlib import Path
from desktop_app.core.errors import DaemonError
from desktop_app.secrets.store import open_secret_store
try:
    open_secret_store(Path(sys.argv[1]), "probe")
except DaemonError as exc:
    print(exc)
    sys.exit(3)
print("opened a store")
"""


@pytest.mark.parametrize("backend", [
    "keyring.backends.fail.Keyring",
    "keyring.backends.null.Keyring",
    "keyring.backends.SecretService.Keyring",  # chosen explicitly, but no D-Bus session
    None,  # keyring's own detection
])
def test_no_keyring_stops_with_the_way_out(tmp_path: Path, backend: str | None) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DBUS_SESSION_BUS_ADDRESS", "PYTHON_KEYRING_BACKEND", "TIDEMILL_SECRETS",
                        "TIDEMILL_SECRETS_PASSPHRASE")}
    # A bus that does not exist, and no keyringrc.cfg of the real user's.
    env.update(DBUS_SESSION_BUS_ADDRESS=f"unix:path={tmp_path}/no-bus",
               XDG_CONFIG_HOME=str(tmp_path / "config"), PYTHONPATH=str(ROOT))
    if backend:
        env["PYTHON_KEYRING_BACKEND"] = backend
    res = subprocess.run([sys.executable, "-c", NO_KEYRING_SCRIPT, str(tmp_path)], env=env,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 3, res.stdout + res.stderr
    assert "No OS keyring was found" in res.stdout
    assert "TIDEMILL_SECRETS=encrypted-file" in res.stdout
    assert "TIDEMILL_SECRETS_PASSPHRASE" in res.stdout
    assert "gnome-keyring" in res.stdout
    assert list(tmp_path.glob("secrets.enc*")) == []  # and no file fallback either


# -- the encrypted file -------------------------------------------------------------------


def test_encrypted_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "secrets.enc"
    store = EncryptedFileSecretStore(path, "correct horse")
    assert path.exists() and store.get("main", "r") is None
    store.set("main", "r", "value-1")
    store.set("other", "r", "value-2")
    assert store.get("main", "r") == "value-1"
    reopened = EncryptedFileSecretStore(path, "correct horse")
    assert reopened.get("other", "r") == "value-2"
    reopened.delete("main", "r")
    reopened.delete("main", "r")
    assert store.get("main", "r") is None
    assert store.get("other", "r") == "value-2"
    assert store.describe() == f"encrypted file {path}"


def test_encrypted_file_wrong_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "secrets.enc"
    EncryptedFileSecretStore(path, "right").set("main", "r", "v")
    with pytest.raises(WrongPassphraseError) as err:
        EncryptedFileSecretStore(path, "wrong")
    assert err.value.message == f"the passphrase does not open {path}"


def test_encrypted_file_mode_and_no_plaintext(tmp_path: Path) -> None:
    path = tmp_path / "secrets.enc"
    store = EncryptedFileSecretStore(path, "pass phrase")
    value = f"plain-{uuid.uuid4().hex}"
    store.set("main", "f/x/y", value)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert files_containing(tmp_path, value.encode()) == []
    assert b"f/x/y" not in path.read_bytes()  # even the refs are inside the ciphertext
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secrets.enc", "secrets.enc.lock"]


def test_encrypted_file_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "secrets.enc"
    EncryptedFileSecretStore(path, "pw")
    stores = [EncryptedFileSecretStore(path, "pw") for _ in range(4)]

    def write(i: int) -> None:
        for j in range(10):
            stores[i].set("main", f"r{i}-{j}", f"v{i}-{j}")

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    final = EncryptedFileSecretStore(path, "pw")
    assert all(final.get("main", f"r{i}-{j}") == f"v{i}-{j}" for i in range(4) for j in range(10))


def test_open_secret_store_encrypted_file_choice(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIDEMILL_SECRETS", "encrypted-file")
    monkeypatch.delenv("TIDEMILL_SECRETS_PASSPHRASE", raising=False)
    with pytest.raises(DaemonError, match="TIDEMILL_SECRETS_PASSPHRASE"):
        open_secret_store(tmp_path, "x")
    monkeypatch.setenv("TIDEMILL_SECRETS_PASSPHRASE", "s3cret pass")
    store = open_secret_store(tmp_path, "x")
    assert isinstance(store, EncryptedFileSecretStore)
    assert store.path == tmp_path / "secrets.enc"
    monkeypatch.setenv("TIDEMILL_SECRETS", "plaintext")
    with pytest.raises(DaemonError, match=r"'keyring'.*'encrypted-file'"):
        open_secret_store(tmp_path, "x")



def test_a_keyring_that_crashes_comes_back_and_the_call_goes_through(
        secret_service: SecretServiceSession) -> None:
    """gnome-keyring-daemon aborts now and then (an upstream bug: a client's request and its
    disconnect crossing); a desktop restarts it at once, as the test session's supervisor does.
    A read that meets the outage is tried again and answers, with what was stored before."""
    store = KeyringSecretStore("restart-check")
    store.set("main", "kept", "still here")
    before, crashed = secret_service.restarts, secret_service.keyring_pid
    os.kill(crashed, signal.SIGKILL)  # what its abort looks like from outside
    assert store.get("main", "kept") == "still here"  # the daemon's store, opened before
    assert secret_service.restarts == before + 1
    assert secret_service.keyring_pid != crashed
