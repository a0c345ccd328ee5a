"""The app definition: app.yaml round trips, validation messages, folders, undo/redo."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop_app.apps import commands
from desktop_app.apps.folder import load_app_folder, write_app_folder
from desktop_app.apps.kinds import KINDS
from desktop_app.apps.model import AppDefinition, is_expr
from desktop_app.core.errors import UsageError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "apps"
ALL = sorted(FIXTURES.glob("*.app.yaml"))


@pytest.mark.parametrize("fixture", ALL, ids=[f.name for f in ALL])
def test_load_then_save_gives_the_same_yaml(fixture: Path) -> None:
    text = fixture.read_text()
    app = AppDefinition.from_yaml(text)
    app.validate()
    assert app.to_yaml() == text


def test_the_fixtures_hold_every_component_kind() -> None:
    app = AppDefinition.from_yaml((FIXTURES / "every_kind.app.yaml").read_text())
    assert {c.type for c, _ in app.all_components()} == set(KINDS)
    assert {r.type for r in app.runnables} == {"inline", "flow"}


def test_unknown_keys_and_yaml_1_2_strings_survive() -> None:
    app = AppDefinition.from_yaml((FIXTURES / "every_kind.app.yaml").read_text())
    assert app.document["custom_top_level_key"] == {"kept": [1, "two"]}
    assert app.value["hiddenInlineScripts"] == []
    assert app.component("upload").raw["accept"] == ".csv"
    assert app.component("name").prop("default") == "yes"  # not True (YAML 1.1)
    assert app.component("since").prop("default") == "2026-01-01"  # not a date
    table_data = app.component("table1").prop("data")
    assert not is_expr(table_data)  # {value: {expr: …}} is a static object


def test_reading_never_changes_the_document() -> None:
    text = "summary: bare\nvalue: {}\n"
    app = AppDefinition.from_yaml(text)
    assert app.components == [] and app.runnables == []
    app.validate()
    assert app.to_yaml() == "summary: bare\nvalue: {}\n"


def test_edits_then_undo_give_back_the_same_yaml() -> None:
    text = (FIXTURES / "admin_panel.app.yaml").read_text()
    app = AppDefinition.from_yaml(text)
    stack = commands.UndoStack(app)
    stack.push(commands.AddComponent("button", 0, 12))
    stack.push(commands.SetGeometry("users", (2, 1, 10, 8)))
    stack.push(commands.SetField(("prop", "title"), "text", {"expr": "'x'"}))
    stack.push(commands.SetField(("runnable", "add_user"), "trigger", "load"))
    stack.push(commands.RemoveComponent("selected"))
    stack.push(commands.AddRunnable({"id": "extra", "type": "flow", "path": "f/a/b"}))
    app.validate()
    assert app.component("button1").geometry == (0, 12, 2, 1)
    assert app.component("users").geometry == (2, 1, 10, 8)
    edited = app.to_yaml()
    assert edited != text
    while stack.undo():
        pass
    assert app.to_yaml() == text
    while stack.redo():
        pass
    assert app.to_yaml() == edited


def test_adding_into_a_container() -> None:
    app = AppDefinition.from_yaml((FIXTURES / "every_kind.app.yaml").read_text())
    stack = commands.UndoStack(app)
    stack.push(commands.AddComponent("text", 0, 1, parent="box"))
    assert [c.id for c in app.component("box").children] == ["inner_text", "text1"]
    with pytest.raises(UsageError, match="cannot hold components"):
        stack.push(commands.AddComponent("text", 0, 1, parent="go"))


@pytest.mark.parametrize(("edit", "message"), [
    (lambda v: v["components"][0].update(id="1abc"), "not usable in expressions"),
    (lambda v: v["components"][1].update(id="title"), "used twice"),
    (lambda v: v["components"][0].update(type="slider"), "unknown type 'slider'"),
    (lambda v: v["components"][0].update(x=10, w=4), "must fit the 12-column grid"),
    (lambda v: v["components"][0].update(w=-1), "w must be a whole number"),
    (lambda v: v["components"][1].update(runnable="nope"), "runnable 'nope' does not exist"),
    (lambda v: v["runnables"][0].update(type="lambda"), "type must be one of"),
    (lambda v: v["runnables"][0].update(path="list_users"), "needs the deployed path"),
    (lambda v: v["runnables"][0].update(trigger="hourly"), "trigger must be one of"),
    (lambda v: v["runnables"][1]["on_success"].update(refresh=["ghost"]),
     "refreshes 'ghost', which does not exist"),
    (lambda v: v["components"][2]["props"].update(data={"expr": " "}), "expr must be"),
    (lambda v: v["components"][0].update(children=[]), "a markdown cannot hold children"),
])
def test_bad_definitions_are_refused_with_what_is_wrong(edit: object, message: str) -> None:
    app = AppDefinition.from_yaml((FIXTURES / "admin_panel.app.yaml").read_text())
    edit(app.value)  # type: ignore[operator]
    with pytest.raises(UsageError, match=message):
        app.validate()


def test_malformed_yaml_names_the_line() -> None:
    with pytest.raises(UsageError, match=r"app.yaml, line 2: malformed YAML"):
        AppDefinition.from_yaml("summary: x\n  bad: 1\n")
    with pytest.raises(UsageError, match="an app must be a mapping"):
        AppDefinition.from_yaml("- 1\n")


def test_folder_round_trip_puts_inline_scripts_in_their_own_files(tmp_path: Path) -> None:
    text = (FIXTURES / "every_kind.app.yaml").read_text()
    document = AppDefinition.from_yaml(text).document
    folder = tmp_path / "every.app"
    write_app_folder(document, folder)
    assert sorted(p.name for p in folder.iterdir()) == [
        "app.yaml", "inline_sum.inline_script.ts", "regions.inline_script.py"]
    assert "content: '!inline regions.inline_script.py'" in (folder / "app.yaml").read_text()
    assert (folder / "regions.inline_script.py").read_text().startswith("def main():")
    assert load_app_folder(folder) == document
    # The inline runnable goes away: its file does too.
    document["value"]["runnables"] = document["value"]["runnables"][2:]
    document["value"]["components"] = []
    write_app_folder(document, folder)
    assert sorted(p.name for p in folder.iterdir()) == ["app.yaml"]


def test_folder_refuses_inline_files_outside_it(tmp_path: Path) -> None:
    folder = tmp_path / "x.app"
    folder.mkdir()
    (folder / "app.yaml").write_text(
        "summary: x\nvalue:\n  runnables:\n    - id: r\n      type: inline\n"
        "      language: python3\n      content: '!inline ../secret.py'\n")
    with pytest.raises(UsageError, match="must name a file inside"):
        load_app_folder(folder)
    (folder / "app.yaml").write_text(
        "summary: x\nvalue:\n  runnables:\n    - id: r\n      type: inline\n"
        "      language: python3\n      content: '!inline r.inline_script.py'\n")
    with pytest.raises(UsageError, match=r"inline file 'r\.inline_script\.py' is missing"):
        load_app_folder(folder)
    with pytest.raises(UsageError, match="not an app folder"):
        load_app_folder(tmp_path)


def test_a_windmill_grid_app_is_kept_but_named_foreign() -> None:
    text = "summary: wm\nvalue:\n  grid:\n    - id: a\n  hiddenInlineScripts: []\n"
    app = AppDefinition.from_yaml(text)
    app.validate()  # stored and synced as it is
    assert app.to_yaml() == text
    assert "Windmill app (value.grid)" in (app.foreign_format() or "")
    assert AppDefinition.from_yaml((FIXTURES / "dashboard.app.yaml").read_text()
                                   ).foreign_format() is None
