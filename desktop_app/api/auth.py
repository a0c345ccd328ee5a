"""Bearer-token authentication. Tokens come as `Authorization: Bearer …`, `?token=` or
the `token` cookie (as Windmill's clients send them).

Every token belongs to a user, whose role (admin, developer, operator) and folder grants
decide what the token may do (see access.py). Token scopes narrow that further: `admin`
(a historical name) carries all of its user's rights; `run` may only start runs of paths
matching its globs and read the jobs it started (status, result, logs): every other
endpoint answers 403 naming the scope (`RUN_SCOPE_ROUTES`, checked here so a new endpoint
is closed to such tokens by default). A job token (WM_TOKEN) acts as the job's
`permissioned_as` user — the caller who started the run — with that user's current role.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from desktop_app.core.errors import Forbidden, Unauthenticated
from desktop_app.core.permissions import Principal
from desktop_app.core.tokens import JOB_TOKEN_PREFIX, hash_token, verify_job_token

#: The role of a job whose permissioned_as names no user any more (deleted): the least.
_UNKNOWN_USER_ROLE = "operator"


@dataclass
class Identity:
    username: str
    scope: str  # admin | run | job
    path_globs: list[str] | None = None
    job_id: str | None = None
    role: str = "admin"
    # A user token's id (the start of its hash): the jobs a run-only token started carry it.
    token_id: str | None = None

    @property
    def permissioned_as(self) -> str:
        return f"u/{self.username}"

    @property
    def principal(self) -> Principal:
        return Principal(self.username, self.role)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin" and self.scope != "run"

    @property
    def scope_text(self) -> str:
        return f"run:{','.join(self.path_globs or [])}" if self.scope == "run" else self.scope

    @property
    def supplies_references(self) -> bool:
        """Whether `$var:`/`$res:` strings this caller sends may be resolved (with its
        user's rights). A run-only token is a webhook secret, not a person: what it
        sends is passed to the script as plain text."""
        return self.scope != "run"

    def scope_refusal(self, doing: str) -> Forbidden:
        return Forbidden(f"this token's scope is {self.scope_text}: it may only start"
                         f" runs of those paths and read the jobs it started, not {doing}")

    def require_admin(self, what: str) -> None:
        """Not a run-only token (the role is checked by access.require)."""
        if self.scope == "run":
            raise self.scope_refusal(what)

    def require_run(self, path: str) -> None:
        if self.scope == "run" and not any(fnmatch.fnmatchcase(path, g) for g in self.path_globs or []):
            raise self.scope_refusal(f"run {path}")


#: The endpoints a run-only token may call (route templates): start runs, read its jobs,
#: open and run an app. On each, access.require allows it only paths matching its globs.
RUN_SCOPE_ROUTES = frozenset(
    [f"/api/w/{{workspace}}/jobs/{kind}/{target}" for kind in ("run", "run_wait_result")
     for target in ("p/{path:path}", "h/{hash_}", "f/{path:path}")]
    + [f"/api/w/{{workspace}}/jobs_u/{read}/{{job_id}}" for read in (
        "get", "get_logs", "completed/get", "completed/get_result", "completed/get_result_maybe",
        "getupdate", "getupdate_sse")]
    # an app in its globs: opened (without code) and its runnables run
    + ["/api/w/{workspace}/apps/get/p/{path:path}",
       "/api/w/{workspace}/apps_u/execute_component/{path:path}"]
    + ["/api/r/{route_path:path}"])


def _token_from(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    if "token" in request.query_params:
        return request.query_params["token"]
    # wmill sends some requests (its dependency jobs) with `Cookie: token=…`, as Windmill
    # accepts. The daemon never sets that cookie; still, a browser page on another site
    # must not ride on one, and browsers say where a request comes from (wmill does not).
    cookie = request.cookies.get("token")
    if cookie and request.headers.get("sec-fetch-site", "same-origin") == "same-origin":
        return cookie
    return None


async def authenticate(request: Request) -> Identity:
    who = await _authenticate(request)
    request.state.identity = who  # for the audit hook, without a second lookup
    if who.scope == "run":
        route = request.scope.get("route")
        if getattr(route, "path", None) not in RUN_SCOPE_ROUTES:
            raise who.scope_refusal(f"{request.method} {request.url.path}")
    return who


def token_from(request: Request) -> str | None:
    """The request's credential, if it sends one (approval links work without)."""
    return _token_from(request)


async def identify(request: Request) -> Identity:
    """The caller of a route that works without credentials but honours them (approval
    links): like `authenticate`, without the run-only token's route check."""
    return await _authenticate(request)


async def _authenticate(request: Request) -> Identity:
    state = request.app.state.tidemill
    token = _token_from(request)
    if not token:
        raise Unauthenticated("missing credentials: send `Authorization: Bearer <token>` or `?token=<token>`"
" (create one with `tidemill token create`)",
)
    if token.startswith(JOB_TOKEN_PREFIX):
        job_id = verify_job_token(state.token_key, token)
        if job_id is None:
            raise Unauthenticated("invalid job token")
        async with state.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT q.permissioned_as, u.role FROM job_queue q LEFT JOIN users u"
                " ON u.username = split_part(q.permissioned_as, '/', 2)"
                " WHERE q.id = %s AND q.running", (job_id,))
            job_row = await cur.fetchone()
        if job_row is None:
            raise Unauthenticated("this job token has expired: its job is no longer running")
        return Identity(job_row[0].split("/", 1)[-1], "job", job_id=str(job_id),
                        role=job_row[1] or _UNKNOWN_USER_ROLE)
    token_hash = hash_token(token)
    known = state.tokens.get(token_hash)
    if known is not None:
        return Identity(known[0], known[1], known[2], role=known[3], token_id=token_hash[:16])
    generation = state.tokens.generation
    async with state.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT t.owner, t.scope, t.path_globs,"
            " extract(epoch FROM t.expires_at - now())::float8 AS expires_in, u.role"
            " FROM tokens t LEFT JOIN users u ON u.username = t.owner"
            " WHERE t.token_hash = %s AND (t.expires_at IS NULL OR t.expires_at > now())",
            (token_hash,),
        )
        row: Any = await cur.fetchone()
    if row is None:
        raise Unauthenticated("invalid or expired token")
    if row[4] is None:
        raise Unauthenticated(f"this token's user {row[0]!r} no longer exists")
    # Cached a few seconds, never past the token's expiry; a role change clears the cache.
    ttl = None if row[3] is None else min(state.tokens.ttl_s, row[3])
    state.tokens.put(token_hash, (row[0], row[1], row[2], row[4]), generation, ttl)
    return Identity(row[0], row[1], row[2], role=row[4], token_id=token_hash[:16])
