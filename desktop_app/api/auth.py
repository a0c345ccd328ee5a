"""Bearer-token authentication. Tokens come as `Authorization: Bearer …` or `?token=`.

Scopes: `admin` may do everything; `run` may only run scripts whose path matches
one of the token's globs (for webhooks). A job token acts as the job's owner.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request

from desktop_app.core.tokens import JOB_TOKEN_PREFIX, hash_token, verify_job_token


@dataclass
class Identity:
    username: str
    scope: str  # admin | run | job
    path_globs: list[str] | None = None
    job_id: str | None = None

    @property
    def permissioned_as(self) -> str:
        return f"u/{self.username}"

    def require_admin(self, what: str) -> None:
        if self.scope == "run":
            raise HTTPException(403, f"this token may only run scripts; it cannot {what}")

    def require_run(self, path: str) -> None:
        if self.scope == "run" and not any(fnmatch.fnmatchcase(path, g) for g in self.path_globs or []):
            raise HTTPException(
                403, f"this token may not run {path!r} (allowed: {', '.join(self.path_globs or [])})"
            )


def _token_from(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.query_params.get("token")


async def authenticate(request: Request) -> Identity:
    state = request.app.state.tidemill
    token = _token_from(request)
    if not token:
        raise HTTPException(
            401, "missing credentials: send `Authorization: Bearer <token>` or `?token=<token>`"
            " (create one with `tidemill token create`)",
        )
    if token.startswith(JOB_TOKEN_PREFIX):
        job_id = verify_job_token(state.token_key, token)
        if job_id is None:
            raise HTTPException(401, "invalid job token")
        async with state.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT permissioned_as FROM job_queue WHERE id = %s AND running", (job_id,))
            job_row = await cur.fetchone()
        if job_row is None:
            raise HTTPException(401, "this job token has expired: its job is no longer running")
        return Identity(job_row[0].split("/", 1)[-1], "job", job_id=str(job_id))
    token_hash = hash_token(token)
    known = state.tokens.get(token_hash)
    if known is not None:
        return Identity(known[0], known[1], known[2])
    generation = state.tokens.generation
    async with state.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT owner, scope, path_globs,"
            " extract(epoch FROM expires_at - now())::float8 AS expires_in"
            " FROM tokens WHERE token_hash = %s AND (expires_at IS NULL OR expires_at > now())",
            (token_hash,),
        )
        row: Any = await cur.fetchone()
    if row is None:
        raise HTTPException(401, "invalid or expired token")
    # Cached a few seconds, never past the token's expiry.
    ttl = None if row[3] is None else min(state.tokens.ttl_s, row[3])
    state.tokens.put(token_hash, (row[0], row[1], row[2]), generation, ttl)
    return Identity(row[0], row[1], row[2])
