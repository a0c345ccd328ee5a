"""Tidemill's error tree. Every error a user can meet derives from TidemillError.

    TidemillError
     ├── UsageError            bad input from the user: wrong args, unknown path, bad file
     │    ├── NotFound          an item or job that does not exist
     │    ├── Forbidden         the caller's role or grants do not allow it (403)
     │    ├── Unauthenticated   no credentials, or ones this daemon does not know (401)
     │    ├── ArgumentError     a field that is wrong (job arguments, a definition's field)
     │    ├── Conflict          the request cannot be done in the item's present state (409)
     │    ├── TooLarge          a request body over the daemon's limit (413)
     │    └── ScriptSyntaxError a script that cannot be parsed
     ├── Unavailable           a part of the daemon this needs is missing (503)
     ├── WaitTimeout           a job did not finish within the wait's limit (504)
     ├── DatabaseError         the database cannot be reached or refused a statement
     │    └── EmbeddedPostgresError  the bundled server could not be prepared or started
     ├── RuntimeSetupError     a script's environment could not be built (e.g. uv failed)
     │    └── CompileError      a script (Go) does not compile: the compiler's message
     └── DaemonError           daemon life cycle problems (already running, not running)

Each class's docstring is its default message, so ``raise NotFound()`` still says something.
Adapters translate driver errors (psycopg, httpx, subprocess) into these at the boundary.
"""

from __future__ import annotations


class TidemillError(Exception):
    """Tidemill failed."""

    #: HTTP status the API answers with for this error.
    http_status = 500

    def __init__(self, message: str | None = None, *, hint: str | None = None) -> None:
        self.message = message or (self.__doc__ or self.__class__.__name__).strip()
        self.hint = hint
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class UsageError(TidemillError):
    """The request is not valid."""

    http_status = 400


class NotFound(UsageError):
    """Not found."""

    http_status = 404


class Forbidden(UsageError):
    """You are not allowed to do this."""

    http_status = 403


class SecretMissing(UsageError):
    """A secret value is missing from this machine's keyring."""

    http_status = 409

    def __init__(self, message: str | None = None, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint or "set it again on this machine (after a Git pull"
                                               " or on a new machine, secrets must be entered"
                                               " again: `tidemill secret set`)")


class ArgumentError(UsageError):
    """The arguments do not fit the script's signature."""

    def __init__(self, message: str | None = None, *, field: str | None = None,
                 hint: str | None = None) -> None:
        self.field = field
        super().__init__(message, hint=hint)


class Unauthenticated(UsageError):
    """Missing or invalid credentials."""

    http_status = 401


class Conflict(UsageError):
    """The request conflicts with the item's present state."""

    http_status = 409


class TooLarge(UsageError):
    """The request is too large."""

    http_status = 413


class Unavailable(TidemillError):
    """A part of the daemon this request needs is not available."""

    http_status = 503


class WaitTimeout(TidemillError):
    """The job did not finish in time; it keeps running."""

    http_status = 504


class ScriptSyntaxError(UsageError):
    """The script cannot be parsed."""

    def __init__(self, message: str | None = None, *, line: int | None = None,
                 hint: str | None = None) -> None:
        self.line = line
        super().__init__(message, hint=hint)


class DatabaseError(TidemillError):
    """The database is unavailable."""

    http_status = 503


class EmbeddedPostgresError(DatabaseError):
    """The embedded PostgreSQL server could not be started."""


class RuntimeSetupError(TidemillError):
    """The script's runtime environment could not be prepared."""


class CompileError(RuntimeSetupError):
    """The script does not compile."""


class DaemonError(TidemillError):
    """The daemon is in a state that does not allow this."""


class ResourceError(UsageError):
    """A `$res:` or `$var:` reference could not be resolved."""
