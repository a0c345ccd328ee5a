"""Which runtime runs which language."""

from __future__ import annotations

from desktop_app.core.errors import UsageError
from desktop_app.runtimes.base import Runtime
from desktop_app.runtimes.bash import BashRuntime
from desktop_app.runtimes.bun import BunRuntime
from desktop_app.runtimes.deno import DenoRuntime
from desktop_app.runtimes.go import GoRuntime
from desktop_app.runtimes.python import PythonRuntime
from desktop_app.runtimes.sql import SqlRuntime


def make_runtimes() -> dict[str, Runtime]:
    deno = DenoRuntime()  # native-fetch TypeScript runs on Deno as well
    return {"python3": PythonRuntime(), "bash": BashRuntime(), "deno": deno, "bun": BunRuntime(),
            "nativets": deno, "go": GoRuntime(), "postgresql": SqlRuntime("postgresql"),
            "duckdb": SqlRuntime("duckdb"), "mysql": SqlRuntime("mysql")}


def runtime_for(runtimes: dict[str, Runtime], language: str | None) -> Runtime:
    runtime = runtimes.get(language or "")
    if runtime is None:
        raise UsageError(
            f"no runtime for language {language!r} on this worker",
            hint=f"supported here: {', '.join(sorted(runtimes))}",
        )
    return runtime
