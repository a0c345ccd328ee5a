"""Database URLs: users give libpq URLs; SQLAlchemy wants its dialect prefix."""

from __future__ import annotations


def sqlalchemy_url(url: str) -> str:
    """`postgresql://…` → `postgresql+psycopg://…` (psycopg 3 driver)."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def libpq_url(url: str) -> str:
    """The inverse: strip a SQLAlchemy dialect so psycopg can use the URL directly."""
    if url.startswith("postgresql+psycopg://"):
        return "postgresql://" + url[len("postgresql+psycopg://"):]
    return url
