"""The names a flow expression sees (Windmill's scope) and how inputs are computed.

`flow_input`, `results.<id>`, `previous_result`, `resume`/`resumes`/`approvers`,
`flow_env`, plus what the caller adds (`result`, `error`, `all_iters`). Inside a loop
iteration or a branch, results of the enclosing flow stay visible: the child flow job
carries them in `extra.scope`.
"""

from __future__ import annotations

import re
from typing import Any

from psycopg import AsyncConnection

from desktop_app.core.errors import TidemillError, UsageError

_evaluator: Any = None  # one expression pool per process, created on first use
_CALL = re.compile(r"""\b(variable|resource)\(\s*(["'])([^"']+)\2\s*\)""")


def evaluator() -> Any:
    global _evaluator
    if _evaluator is None:
        from desktop_app.flows.expression_pool import ExpressionPool

        _evaluator = ExpressionPool()
    return _evaluator


def inherited(row: dict[str, Any]) -> dict[str, Any]:
    return dict(((row.get("extra") or {}).get("scope")) or {})


def inherited_previous(row: dict[str, Any]) -> Any:
    return inherited(row).get("previous_result")


def build(row: dict[str, Any], state: dict[str, Any], **extra: Any) -> dict[str, Any]:
    outer = inherited(row)
    scope: dict[str, Any] = {
        "flow_input": row.get("args") or {},
        "results": {**(outer.get("results") or {}), **(state.get("results") or {})},
        "previous_result": state["previous_result"] if "previous_result" in state
        else outer.get("previous_result"),
        "resume": state.get("resume", outer.get("resume")),
        "resumes": state.get("resumes", outer.get("resumes") or []),
        "approvers": state.get("approvers", outer.get("approvers") or []),
        "flow_env": outer.get("flow_env") or (row.get("raw_flow") or {}).get("flow_env") or {},
    }
    scope.update(extra)
    return scope


def carried(scope: dict[str, Any]) -> dict[str, Any]:
    """What a child flow (iteration, branch) inherits from this scope."""
    return {k: scope[k] for k in ("results", "previous_result", "resume", "resumes", "approvers",
                                  "flow_env") if k in scope}


async def evaluate(conn: AsyncConnection[Any], row: dict[str, Any], expr: str,
                   scope: dict[str, Any]) -> Any:
    """Evaluate one expression. `variable("p")`/`resource("p")` calls with literal paths
    are fetched beforehand (the JS engine is synchronous; the database is not)."""
    fetched: dict[tuple[str, str], Any] = {}
    for kind, _q, path in _CALL.findall(expr):
        fetched[(kind, path)] = await _fetch(conn, row["workspace_id"], kind, path,
                                             row.get("permissioned_as"))

    def lookup(kind: str) -> Any:
        def get(path: str) -> Any:
            if (kind, path) not in fetched:
                raise UsageError(f"{kind}({path!r}) must be called with a literal path")
            return fetched[(kind, path)]
        return get

    # on the pool's threads: an expression spinning to its time limit never holds the loop
    return await evaluator().evaluate(expr, scope, variable=lookup("variable"),
                                      resource=lookup("resource"))


async def input_transforms(conn: AsyncConnection[Any], row: dict[str, Any],
                           transforms: dict[str, Any] | None, scope: dict[str, Any]) -> dict[str, Any]:
    args: dict[str, Any] = {}
    for name, t in (transforms or {}).items():
        if not isinstance(t, dict):
            raise UsageError(f"input {name!r}: an input transform must be an object")
        if t.get("type") == "javascript":
            args[name] = await evaluate(conn, row, t.get("expr") or "undefined",
                                        {**scope, "params": args})
        elif t.get("type") == "static":
            args[name] = t.get("value")
        else:
            raise UsageError(f"input {name!r}: unknown transform type {t.get('type')!r}")
    return args


async def _fetch(conn: AsyncConnection[Any], ws: str, kind: str, path: str,
                 permissioned_as: str | None) -> Any:
    from desktop_app.core.errors import Forbidden
    from desktop_app.db.references import ReadsAs, resolve
    from desktop_app.flows.secrets_access import secret_value

    if permissioned_as is None:
        raise Forbidden(f"this flow has no caller, so its {kind}() of {path} cannot be checked")
    # with the rights of the flow's caller
    return await resolve(conn, ws, ("$var:" if kind == "variable" else "$res:") + path,
                         ReadsAs.permissioned_as(permissioned_as), secret_value)


def step_error(exc: TidemillError, step_id: Any) -> dict[str, Any]:
    return {"error": {"name": type(exc).__name__, "message": exc.message, "step_id": step_id}}
