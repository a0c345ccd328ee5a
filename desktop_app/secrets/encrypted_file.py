"""The opt-in fallback for machines without an OS keyring: one passphrase-encrypted file.

Format (JSON): a header `{"format", "version", "kdf": {scrypt n, r, p, salt}, "cipher"}`
plus `nonce` and `ciphertext`: AES-256-GCM over the JSON `{workspace: {ref: value}}`,
with the header as associated data, so a changed KDF parameter fails like a wrong
passphrase instead of deriving a weaker key. The whole map is encrypted as one blob:
refs are not secret, but one blob keeps the format trivial and hides even the names.

Every write is read-modify-write under a lock file (other processes may hold the store
open too) and lands atomically (temp file 0600 + fsync + rename). The salt is kept across
rewrites, so the key is derived once per process (scrypt costs ~0.1 s on purpose); each
write takes a fresh random nonce.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import sys
import tempfile
import threading
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from filelock import FileLock

from desktop_app.core.errors import UsageError
from desktop_app.secrets.errors import SecretStoreError, WrongPassphraseError

FORMAT, VERSION, CIPHER = "tidemill-secrets", 1, "AES-256-GCM"
# scrypt cost: 2**15 * 8 * 128 B = 32 MiB of memory, ~0.1 s; OWASP's interactive minimum.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
_SCRYPT_MAXMEM = 64 * 1024 * 1024  # hashlib's default (32 MiB) is just too small for n=2**15

Entries = dict[str, dict[str, str]]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any) -> bytes:
    return base64.b64decode(str(text), validate=True)


class EncryptedFileSecretStore:
    """Secrets in `path`, encrypted with a key derived from `passphrase`.

    Opening checks the passphrase at once (creating the file, empty, when missing), so a
    daemon with the wrong passphrase stops at start rather than at the first secret.
    """

    def __init__(self, path: Path, passphrase: str) -> None:
        if not passphrase:
            raise UsageError("the secrets file needs a non-empty passphrase")
        self.path = Path(path)
        # NFC: the same passphrase typed through different input methods gives one key.
        self._passphrase = unicodedata.normalize("NFC", passphrase).encode("utf-8")
        self._keys: dict[tuple[bytes, int, int, int], bytes] = {}
        self._thread_lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self._locked():
            if self.path.exists():
                if stat.S_IMODE(self.path.stat().st_mode) & 0o077:
                    os.chmod(self.path, 0o600)  # ciphertext, but nobody else's business
                self._load()
            else:
                salt = os.urandom(16)
                self._save(self._header(salt), {})

    def set(self, workspace: str, ref: str, value: str) -> None:
        with self._locked():
            header, entries = self._load()
            entries.setdefault(workspace, {})[ref] = value
            self._save(header, entries)

    def get(self, workspace: str, ref: str) -> str | None:
        # No lock: writers replace the file atomically, so a reader sees old or new.
        return self._load()[1].get(workspace, {}).get(ref)

    def delete(self, workspace: str, ref: str) -> None:
        with self._locked():
            header, entries = self._load()
            if entries.get(workspace, {}).pop(ref, None) is None:
                return
            if not entries[workspace]:
                del entries[workspace]
            self._save(header, entries)

    def describe(self) -> str:
        return f"encrypted file {self.path}"

    # -- file format -------------------------------------------------------------------

    @staticmethod
    def _header(salt: bytes) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, "cipher": CIPHER,
                "kdf": {"name": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P,
                        "salt": _b64(salt)}}

    @staticmethod
    def _aad(header: dict[str, Any]) -> bytes:
        return json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")

    def _key(self, kdf: dict[str, Any]) -> bytes:
        salt, n, r, p = _unb64(kdf["salt"]), int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
        cache_key = (salt, n, r, p)
        if cache_key not in self._keys:
            self._keys[cache_key] = hashlib.scrypt(
                self._passphrase, salt=salt, n=n, r=r, p=p, maxmem=_SCRYPT_MAXMEM, dklen=32)
        return self._keys[cache_key]

    def _load(self) -> tuple[dict[str, Any], Entries]:
        try:
            doc = json.loads(self.path.read_bytes())
            header = {k: doc[k] for k in ("format", "version", "cipher", "kdf")}
            nonce, ciphertext = _unb64(doc["nonce"]), _unb64(doc["ciphertext"])
            if (header["format"], header["version"], header["cipher"]) != (FORMAT, VERSION,
                                                                           CIPHER):
                raise ValueError(f"unsupported format {header['format']!r} "
                                 f"v{header['version']} {header['cipher']!r}")
            key = self._key(header["kdf"])
        except FileNotFoundError as exc:
            raise SecretStoreError(f"the secrets file {self.path} has disappeared") from exc
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SecretStoreError(f"{self.path} is not a readable Tidemill secrets file: "
                                   f"{type(exc).__name__}: {exc}") from exc
        try:
            plain = AESGCM(key).decrypt(nonce, ciphertext, self._aad(header))
        except InvalidTag as exc:
            raise WrongPassphraseError(
                f"the passphrase does not open {self.path}",
                hint="set TIDEMILL_SECRETS_PASSPHRASE to the passphrase the file was "
                     "created with (or the file was altered)") from exc
        entries: Entries = json.loads(plain)
        return header, entries

    def _save(self, header: dict[str, Any], entries: Entries) -> None:
        nonce = os.urandom(12)
        plain = json.dumps(entries, separators=(",", ":")).encode("utf-8")
        ciphertext = AESGCM(self._key(header["kdf"])).encrypt(nonce, plain, self._aad(header))
        doc = {**header, "nonce": _b64(nonce), "ciphertext": _b64(ciphertext)}
        # mkstemp creates the file 0600 in the same folder, so the rename is atomic and
        # the file is never readable by others, not even for a moment.
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp",
                                   dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(json.dumps(doc, indent=1).encode("utf-8"))
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        if sys.platform != "win32":  # make the rename itself durable
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialise read-modify-write across threads and processes."""
        lock_path = self.path.with_name(self.path.name + ".lock")
        with self._thread_lock, FileLock(lock_path, mode=0o600, thread_local=False,
                                         preserve_lock_file=True):
            yield
