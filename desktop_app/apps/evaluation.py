"""The running app's state and its bindings: what each property and runnable input evaluates
to, what depends on what, and when a runnable runs.

State is one dict keyed by id: a component's entry holds what it exposes (``value``,
``selectedRow``…), a runnable's holds ``result``, ``loading`` and ``error``. Expressions are
evaluated by the flows' QuickJS evaluator with those ids as the names in scope, so
``table1.selectedRow.email`` or ``list_users.result.length`` read as in Windmill.

`AppSession` drives an app without any UI: it runs the on-load runnables, reruns a
``change`` runnable when an input it reads changes (and only when its arguments really
changed), runs the follow-ups (refresh others, messages), and tells its listener which ids
changed so a view repaints only what depends on them.
"""

from __future__ import annotations

import asyncio
import copy
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from desktop_app.apps.kinds import KINDS
from desktop_app.apps.model import AppDefinition, Component, Runnable, is_expr, static_value
from desktop_app.flows.expressions import ExpressionError, ExpressionEvaluator

__all__ = ["AppSession", "AppState", "RunOutcome", "expression_ids"]

# An identifier not preceded by `.` (a property) — the names an expression reads.
_NAME = re.compile(r"(?<![.\w$])([A-Za-z_$][\w$]*)")


def expression_ids(raw: Any, ids: set[str]) -> set[str]:
    """The app ids a property or input reads (none for a static value)."""
    if not is_expr(raw):
        return set()
    return {m for m in _NAME.findall(raw["expr"]) if m in ids}


def _initial_state(component: Component) -> dict[str, Any]:
    kind = KINDS.get(component.type)
    state: dict[str, Any] = {}
    if kind is None:
        return state
    for key in kind.state:
        state[key] = None
    if "value" in kind.state:
        default = component.prop("default")
        state["value"] = None if is_expr(default) else copy.deepcopy(static_value(default))
    if component.type in ("button", "form"):
        state["loading"] = False
    if component.type == "form":
        state["values"] = {}
    if component.type == "tabs":
        state["selectedTab"] = 0
    if component.type in ("modal", "drawer"):
        state["open"] = False
    if component.type == "table":
        state["search"] = ""
    return state


class AppState:
    """Every component's and runnable's state, and evaluation over it."""

    def __init__(self, app: AppDefinition, evaluator: ExpressionEvaluator | None = None) -> None:
        self.app = app
        self.evaluator = evaluator or ExpressionEvaluator(time_limit_s=0.5,
                                                          memory_limit_bytes=32 * 2**20)
        self.values: dict[str, dict[str, Any]] = {}
        self.ids: set[str] = set()
        self.sync()

    def sync(self) -> None:
        """Give components and runnables added since (the builder) their initial state;
        forget the removed ones."""
        fresh = []
        present = set()
        for c, _parent in self.app.all_components():
            present.add(c.id)
            if c.id not in self.values:
                self.values[c.id] = _initial_state(c)
                fresh.append(c)
        for r in self.app.runnables:
            present.add(r.id)
            self.values.setdefault(r.id, {"result": None, "loading": False, "error": None})
        for gone in set(self.values) - present:
            del self.values[gone]
        self.ids = present
        # Input components whose default is an expression get it once, when they appear.
        for c in fresh:
            default = c.props.get("default")
            if is_expr(default):
                self.values[c.id]["value"], _err = self.try_evaluate(default)

    # -- evaluation ---------------------------------------------------------------------
    def evaluate(self, raw: Any) -> Any:
        """A property's value: static as it is, an expression evaluated over the state."""
        if not is_expr(raw):
            return static_value(raw)
        return self.evaluator.evaluate(raw["expr"], self.values)

    def try_evaluate(self, raw: Any) -> tuple[Any, str | None]:
        """(value, None), or (None, the error message) when the expression fails."""
        try:
            return self.evaluate(raw), None
        except ExpressionError as e:
            return None, e.message

    def prop(self, component: Component, name: str) -> tuple[Any, str | None]:
        return self.try_evaluate(component.prop(name))

    def args(self, runnable: Runnable) -> tuple[dict[str, Any], dict[str, str]]:
        """The runnable's arguments now, and the inputs that failed (name → message)."""
        args: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for name, raw in runnable.inputs.items():
            value, error = self.try_evaluate(raw)
            if error:
                errors[name] = error
            else:
                args[name] = value
        return args, errors

    # -- dependencies ------------------------------------------------------------------
    def reads(self, raw: Any) -> set[str]:
        return expression_ids(raw, self.ids)

    def runnable_reads(self, runnable: Runnable) -> set[str]:
        out: set[str] = set()
        for raw in runnable.inputs.values():
            out |= self.reads(raw)
        return out

    def component_reads(self, component: Component) -> set[str]:
        out: set[str] = set()
        for raw in component.props.values():
            out |= self.reads(raw)
        return out

    def dependent_components(self, changed: set[str]) -> list[Component]:
        """Components with a property reading any of `changed` (to repaint)."""
        return [c for c, _ in self.app.all_components() if self.component_reads(c) & changed]

    def dependent_runnables(self, changed: set[str]) -> list[Runnable]:
        """`change` runnables with an input reading any of `changed`."""
        return [r for r in self.app.runnables
                if r.trigger == "change" and self.runnable_reads(r) & changed]


@dataclass
class RunOutcome:
    success: bool
    result: Any
    job_id: str = ""


Runner = Callable[[Runnable, dict[str, Any]], Awaitable[RunOutcome]]
Listener = Callable[[set[str]], None]
Messenger = Callable[[str, str], None]  # (level "success"|"error", text)


class AppSession:
    """An app being used: state, runs and follow-ups (no UI)."""

    def __init__(self, app: AppDefinition, runner: Runner, *,
                 on_change: Listener | None = None, on_message: Messenger | None = None) -> None:
        self.app = app
        self.state = AppState(app)
        self.runner = runner
        self.on_change = on_change or (lambda ids: None)
        self.on_message = on_message or (lambda level, text: None)
        self.last_args: dict[str, dict[str, Any]] = {}
        self.runs: dict[str, int] = {}  # runnable id → how many times it ran (tests, status)

    async def start(self) -> None:
        """Run every runnable that runs on load (``load`` and ``change``), together."""
        await asyncio.gather(*(self.run(r.id) for r in self.app.runnables
                               if r.trigger in ("load", "change")))

    async def set_value(self, component_id: str, key: str, value: Any) -> None:
        """A component's state changed (typed text, a selected row…): repaint dependents
        and rerun the ``change`` runnables whose arguments changed because of it."""
        entry = self.state.values.setdefault(component_id, {})
        if entry.get(key) == value and key in entry:
            return
        entry[key] = value
        await self._changed({component_id})

    async def _changed(self, ids: set[str]) -> None:
        self.on_change(ids)
        reruns = []
        for r in self.state.dependent_runnables(ids):
            args, errors = self.state.args(r)
            if not errors and args != self.last_args.get(r.id):
                reruns.append(self.run(r.id))
        if reruns:
            await asyncio.gather(*reruns)

    async def run(self, runnable_id: str, extra_args: dict[str, Any] | None = None,
                  *, source: str | None = None) -> RunOutcome:
        """Run a runnable now (a button, a form's submit with `extra_args`, a refresh)."""
        r = self.app.runnable(runnable_id)
        args, errors = self.state.args(r)
        entry = self.state.values[r.id]
        if errors:
            name, message = next(iter(errors.items()))
            entry.update(error=f"input {name}: {message}", loading=False)
            self.on_change({r.id})
            self.on_message("error", f"{r.id}: input {name}: {message}")
            return RunOutcome(False, None)
        args.update(extra_args or {})
        self.last_args[r.id] = copy.deepcopy(args)
        entry["loading"] = True
        loading = {r.id} | ({source} if source else set())
        if source and source in self.state.values:
            self.state.values[source]["loading"] = True
        self.on_change(loading)
        try:
            outcome = await self.runner(r, args)
        except Exception as e:  # the daemon refused (403, a bad argument…): shown, not raised
            message = getattr(e, "message", None) or str(e) or type(e).__name__
            outcome = RunOutcome(False, {"error": {"name": type(e).__name__,
                                                   "message": message}})
        finally:
            entry["loading"] = False
            if source and source in self.state.values:
                self.state.values[source]["loading"] = False
        self.runs[r.id] = self.runs.get(r.id, 0) + 1
        if outcome.success:
            entry.update(result=outcome.result, error=None)
        else:
            entry["error"] = _error_text(outcome.result)
        follow = r.follow_up("success" if outcome.success else "error")
        if follow.get("message"):
            text = str(follow["message"])
            if not outcome.success:
                text = f"{text}: {entry['error']}"
            self.on_message("success" if outcome.success else "error", text)
        elif not outcome.success:
            self.on_message("error", f"{r.id} failed: {entry['error']}")
        await self._changed(loading)
        refresh = [t for t in follow.get("refresh") or [] if t != r.id]
        if refresh:
            await asyncio.gather(*(self.run(t) for t in refresh))
        return outcome


def _error_text(result: Any) -> str:
    if isinstance(result, dict) and isinstance(result.get("error"), dict):
        err = result["error"]
        name, message = err.get("name"), err.get("message")
        return f"{name}: {message}" if name and message else str(message or name)
    return str(result)
