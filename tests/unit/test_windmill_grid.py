"""Windmill grid apps read as Tidemill apps (pure): the fixture's components and runnable,
containers/tabs from `subgrids`, background scripts, expressions pointing at runnables and
inputs, placeholders for unknown or broken items, and inline code withheld from callers
who may not read it."""

from __future__ import annotations

import json
from pathlib import Path

from desktop_app.api.routes_apps import _without_code
from desktop_app.apps.folder import load_app_folder
from desktop_app.apps.model import AppDefinition
from desktop_app.apps.windmill_grid import is_windmill_grid, runnable_value, to_tidemill

APP = Path(__file__).resolve().parents[1] / "fixtures" / "apps" / "windmill" / "orders.app"


def test_the_fixture_maps_to_tidemill_components_and_a_runnable() -> None:
    value = load_app_folder(APP)["value"]
    assert is_windmill_grid(value) and not is_windmill_grid(to_tidemill(value))
    app = AppDefinition({"value": to_tidemill(value)})
    kinds = {c.id: c.type for c, _ in app.all_components()}
    assert kinds == {"a": "text", "b": "table", "c": "button", "d": "container",
                     "region": "select", "e": "chart", "f": "windmill:plotlycomponentv2",
                     "g": "form"}
    run, add = app.runnables
    assert (add.id, add.trigger, add.raw["on_success"]) == ("g__run", "button",
                                                            {"refresh": ["b__run"]})
    assert (run.id, run.type, run.language, run.trigger) == ("b__run", "inline", "python3",
                                                              "change")
    assert run.raw["inputs"] == {"region": {"expr": "region.value"}}
    assert "def main(region" in str(run.content)
    assert app.component("c").raw["runnable"] == "b__run"  # recomputeIds: [b]
    assert app.component("a").raw["props"]["text"] == {"expr": "`Orders of ${region.value}`"}
    assert runnable_value(to_tidemill(value)) == to_tidemill(value)  # Tidemill's as it is


def test_tabs_hidden_scripts_buttons_and_broken_items() -> None:
    inline = {"type": "runnableByName", "inlineScript": {"language": "python3",
                                                         "content": "def main():\n  return 1\n"}}
    value = {"grid": [
        {"id": "t", "12": {"x": 0, "y": 0, "w": 12, "h": 6},
         "data": {"type": "tabscomponent", "tabs": ["One", "Two"]}},
        {"id": "go", "12": {"x": "?", "y": None, "w": "wide"},  # a broken layout
         "data": {"type": "buttoncomponent", "recomputeIds": ["tbl", "gone"],
                  "componentInput": {"type": "runnable", "runnable": inline},
                  "configuration": {"label": {"type": "static", "value": "Go"}}}},
        "not an item", {"id": "nodata"},
        {"id": "x-1", "data": {"type": "htmlcomponent"}},
    ], "subgrids": {
        "t-0": [{"id": "tbl", "12": {"x": 0, "y": 0, "w": 6, "h": 4},
                 "data": {"type": "tablecomponent",
                          "componentInput": {"type": "runnable", "autoRefresh": False,
                                             "runnable": {"type": "runnableByPath",
                                                          "path": "f/x/list",
                                                          "runType": "script"}}}}],
        "t-1": [{"id": "n", "12": {"x": 0, "y": 0, "w": 3, "h": 1},
                 "data": {"type": "numberinputcomponent",
                          "configuration": {"defaultValue": {"type": "static", "value": 5}}}}]},
        "hiddenInlineScripts": [{"name": "bg", "inlineScript": inline["inlineScript"],
                                 "autoRefresh": True, "recomputeOnInputChanged": False}]}
    out = to_tidemill(value)
    app = AppDefinition({"value": out})
    tabs = app.component("t")
    assert [(c["id"], c["tab"]) for c in tabs.raw["children"]] == [("tbl", 0), ("n", 1)]
    assert app.component("n").raw["props"] == {"default": 5}
    runs = {r.id: r for r in app.runnables}
    assert runs["tbl__run"].type == "script" and runs["tbl__run"].trigger == "button"
    assert runs["go__run"].raw["on_success"] == {"refresh": ["tbl__run"]}
    assert runs["bg_0"].trigger == "load"
    go = app.component("go")
    assert go.raw["runnable"] == "go__run" and (go.raw["x"], go.raw["w"]) == (0, 4)
    assert app.component("c_x_1").type == "windmill:htmlcomponent"
    assert {c.id for c, _ in app.all_components()} == {"t", "tbl", "n", "go", "c_x_1"}


def test_inline_code_of_a_grid_app_is_withheld() -> None:
    value = load_app_folder(APP)["value"]
    hidden = _without_code(value)
    assert "def main" not in json.dumps(hidden)
    assert "def main" in json.dumps(value)  # the stored document is not touched
