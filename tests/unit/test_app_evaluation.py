"""Bindings over the app state, dependency tracking, and the session's runs (no UI)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from desktop_app.apps.evaluation import AppSession, AppState, RunOutcome, expression_ids
from desktop_app.apps.model import AppDefinition, Runnable

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "apps"


def _app(name: str) -> AppDefinition:
    return AppDefinition.from_yaml((FIXTURES / name).read_text())


def test_initial_state_takes_defaults() -> None:
    state = AppState(_app("every_kind.app.yaml"))
    v = state.values
    assert v["name"]["value"] == "yes"
    assert v["count"]["value"] == 3
    assert v["active"]["value"] is True
    assert v["since"]["value"] == "2026-01-01"
    assert v["colour"]["value"] == "red"
    assert v["table1"]["selectedRow"] is None and v["table1"]["search"] == ""
    assert v["tabs1"]["selectedTab"] == 0 and v["details"]["open"] is False
    assert v["inline_sum"] == {"result": None, "loading": False, "error": None}


def test_properties_evaluate_over_the_state() -> None:
    app = _app("every_kind.app.yaml")
    state = AppState(app)
    assert state.prop(app.component("heading"), "text") == ("Hello yes", None)
    state.values["name"]["value"] = ""
    assert state.prop(app.component("heading"), "text") == ("Hello nobody", None)
    state.values["table1"]["selectedRow"] = {"email": "ada@example.com"}
    assert state.prop(app.component("modal_json"), "data") == (
        {"email": "ada@example.com"}, None)
    # static values pass through, {value: …} unwraps
    assert state.prop(app.component("table1"), "data") == (
        {"expr": "a static object that looks like an expression"}, None)
    assert state.prop(app.component("table1"), "searchable") == (True, None)  # kind default


def test_a_failing_expression_gives_its_message_not_an_exception() -> None:
    app = _app("every_kind.app.yaml")
    state = AppState(app)
    value, error = state.try_evaluate({"expr": "table1.selectedRow.email"})
    assert value is None
    assert error is not None and "table1.selectedRow.email" in error and "null" in error


def test_dependencies_are_the_ids_an_expression_reads() -> None:
    ids = {"users", "list_users", "name"}
    assert expression_ids({"expr": "users.selectedRow.name + list_users.result"}, ids) == {
        "users", "list_users"}
    assert expression_ids({"expr": "x.name"}, ids) == set()  # `.name` is a property
    assert expression_ids("users", ids) == set()  # a static string reads nothing
    app = _app("every_kind.app.yaml")
    state = AppState(app)
    assert [r.id for r in state.dependent_runnables({"count"})] == ["inline_sum"]
    assert state.dependent_runnables({"since"}) == []  # flow_run runs on its button only
    assert {c.id for c in state.dependent_components({"inline_sum"})} == {"chart_pie", "raw"}


class FakeRunner:
    """Records calls; answers from a function of (runnable id, args)."""

    def __init__(self, answer: Any) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.answer = answer

    async def __call__(self, runnable: Runnable, args: dict[str, Any]) -> RunOutcome:
        self.calls.append((runnable.id, args))
        await asyncio.sleep(0)
        return self.answer(runnable.id, args)


def test_change_runnables_run_on_load_and_rerun_when_an_input_changes() -> None:
    app = _app("dashboard.app.yaml")
    runner = FakeRunner(lambda rid, args: RunOutcome(True, [{"day": "Mon",
                                                              "amount": len(args["region"])}]))
    changed: list[set[str]] = []
    session = AppSession(app, runner, on_change=changed.append)

    async def go() -> None:
        await session.start()
        assert runner.calls == [("sales", {"region": "all"})]
        assert session.state.values["sales"]["result"] == [{"day": "Mon", "amount": 3}]
        assert session.state.prop(app.component("total"), "text") == ("Total: 3", None)
        await session.set_value("region", "value", "eu")
        assert runner.calls[-1] == ("sales", {"region": "eu"})
        await session.set_value("region", "value", "eu")  # unchanged: no rerun
        await session.set_value("title", "value", "x")  # read by nothing
        assert len(runner.calls) == 2

    asyncio.run(go())
    assert {"sales"} in changed and {"region"} in changed


def test_button_run_refreshes_and_messages() -> None:
    app = _app("admin_panel.app.yaml")
    rows: list[dict[str, Any]] = [{"name": "ada", "logins": 1}]

    def answer(rid: str, args: dict[str, Any]) -> RunOutcome:
        if rid == "add_user":
            if args["name"] == "bad":
                return RunOutcome(False, {"error": {"name": "ValueError", "message": "no"}})
            rows.append({"name": args["name"], "logins": 0})
            return RunOutcome(True, len(rows))
        return RunOutcome(True, list(rows))

    runner = FakeRunner(answer)
    messages: list[tuple[str, str]] = []
    session = AppSession(app, runner, on_message=lambda level, text: messages.append(
        (level, text)))

    async def go() -> None:
        await session.start()
        assert [c[0] for c in runner.calls] == ["list_users"]  # the button's waits
        await session.run("add_user", {"name": "bob"}, source="new_user")
        assert [c[0] for c in runner.calls] == ["list_users", "add_user", "list_users"]
        assert session.state.values["list_users"]["result"][-1]["name"] == "bob"
        assert session.state.values["new_user"]["loading"] is False
        await session.run("add_user", {"name": "bad"})
        assert session.state.values["add_user"]["error"] == "ValueError: no"
        assert runner.calls[-1][0] == "add_user"  # no refresh after a failure

    asyncio.run(go())
    assert messages == [("success", "User added"),
                        ("error", "Could not add the user: ValueError: no")]


def test_a_runner_exception_becomes_the_runnable_error() -> None:
    app = _app("dashboard.app.yaml")

    async def refuse(runnable: Runnable, args: dict[str, Any]) -> RunOutcome:
        raise PermissionError("403: you may not run this app")

    messages: list[tuple[str, str]] = []
    session = AppSession(app, refuse, on_message=lambda lv, t: messages.append((lv, t)))
    asyncio.run(session.start())
    assert "you may not run this app" in session.state.values["sales"]["error"]
    assert session.state.values["sales"]["loading"] is False
    assert messages and messages[0][0] == "error"


def test_a_bad_input_expression_stops_the_run_and_says_which_input() -> None:
    app = _app("dashboard.app.yaml")
    app.runnable("sales").raw["inputs"]["region"] = {"expr": "region.value.nope.deeper"}
    runner = FakeRunner(lambda rid, args: RunOutcome(True, None))
    session = AppSession(app, runner)
    asyncio.run(session.run("sales"))
    assert runner.calls == []
    assert session.state.values["sales"]["error"].startswith("input region:")
