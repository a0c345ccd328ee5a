"""Secret values: kept in the OS keyring (or, opted in, a passphrase-encrypted file),
never in the database or plain files; and masked out of job logs.

    store.open_secret_store(home, instance)  the daemon's store, or DaemonError with the way out
    store.KeyringSecretStore                 service `tidemill/<instance>/<workspace>`, user = ref
    encrypted_file.EncryptedFileSecretStore  TIDEMILL_SECRETS=encrypted-file
    masking.LogMasker                        replaces secret values in (streamed) log text
"""

from desktop_app.secrets.encrypted_file import EncryptedFileSecretStore
from desktop_app.secrets.errors import (
    KeyringLockedError,
    KeyringUnavailableError,
    SecretStoreError,
    WrongPassphraseError,
)
from desktop_app.secrets.masking import MASK, LogMasker
from desktop_app.secrets.store import KeyringSecretStore, SecretStore, open_secret_store

__all__ = [
    "MASK",
    "EncryptedFileSecretStore",
    "KeyringLockedError",
    "KeyringSecretStore",
    "KeyringUnavailableError",
    "LogMasker",
    "SecretStore",
    "SecretStoreError",
    "WrongPassphraseError",
    "open_secret_store",
]
