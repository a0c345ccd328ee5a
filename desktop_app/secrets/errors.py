"""Errors of the secrets layer, under core's tree (each docstring is the default message):

    TidemillError
     └── SecretStoreError            a secret could not be stored or read
          ├── KeyringLockedError       the keyring is locked, or waits on a prompt nobody answers
          ├── KeyringUnavailableError  D-Bus / backend failures
          └── WrongPassphraseError     the passphrase does not open the encrypted file

Failing to *open* a store at daemon start is a `core.errors.DaemonError` instead: the
daemon refuses to run, and the message names the way out.
"""

from __future__ import annotations

from desktop_app.core.errors import TidemillError


class SecretStoreError(TidemillError):
    """The secret store failed."""

    http_status = 503


class KeyringLockedError(SecretStoreError):
    """The OS keyring is locked."""


class KeyringUnavailableError(SecretStoreError):
    """The OS keyring cannot be reached."""


class WrongPassphraseError(SecretStoreError):
    """The passphrase does not open the secrets file."""
