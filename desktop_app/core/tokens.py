"""API tokens. User tokens are random and stored hashed; job tokens are signed.

A job token (WM_TOKEN) is `jt_<job id hex>_<signature>`: the API checks the
signature with the database's key and that the job is still running, so a token
costs no write per job and expires with the job.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid

JOB_TOKEN_PREFIX = "jt_"


def new_user_token() -> str:
    return "tm_" + secrets.token_urlsafe(24)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def job_token(key: str, job_id: uuid.UUID) -> str:
    sig = hmac.new(key.encode(), job_id.hex.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{JOB_TOKEN_PREFIX}{job_id.hex}_{sig}"


def verify_job_token(key: str, token: str) -> uuid.UUID | None:
    """The job id a well-signed job token names, else None."""
    if not token.startswith(JOB_TOKEN_PREFIX):
        return None
    try:
        hex_id, _sig = token[len(JOB_TOKEN_PREFIX):].split("_", 1)
        job_id = uuid.UUID(hex=hex_id)
    except ValueError:
        return None
    expected = job_token(key, job_id)
    return job_id if hmac.compare_digest(expected, token) else None
