"""Which script languages this build of Tidemill can run (and therefore deploy)."""

from __future__ import annotations

#: Languages with a runtime. A language only parsed for its signature (e.g. bigquery) is
#: not listed: deploying it would give scripts that can never run.
RUNNABLE_LANGUAGES: frozenset[str] = frozenset(
    {"python3", "bash", "deno", "bun", "nativets", "go", "postgresql", "mysql", "duckdb"})


def require_runnable(language: object) -> str:
    from desktop_app.core.errors import UsageError

    if not isinstance(language, str) or language not in RUNNABLE_LANGUAGES:
        raise UsageError(f"language {language!r} cannot run on Tidemill yet",
                         hint=f"supported: {', '.join(sorted(RUNNABLE_LANGUAGES))}")
    return language
