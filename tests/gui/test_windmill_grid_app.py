"""A Windmill grid app (Windmill's app builder format, `value.grid`, read from an app
folder with an inline Python script) in the desktop app's run mode against a real daemon:
stored as it is, rendered with Tidemill's components (text, container, select, table,
button, bar chart, form), its inline runnables run through `apps_u/execute_component`, the button
rerunning the table's script, a connected input rerunning it too, and an unknown Windmill
component shown as a labelled placeholder.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QLabel

from desktop_app.apps.folder import load_app_folder
from desktop_app.client.http import Connection, TidemillClient
from desktop_app.gui.apps.chart import ChartView
from desktop_app.gui.apps.displays import TableView
from desktop_app.gui.apps.inputs import FormView
from desktop_app.gui.apps.run_window import AppRunWindow
from tests.e2e.daemon_harness import RunningDaemon

APP = Path(__file__).resolve().parents[1] / "fixtures" / "apps" / "windmill" / "orders.app"


def _drive(loop: Any, daemon: RunningDaemon, body: Any) -> Any:
    async def go() -> Any:
        async with TidemillClient(Connection(url=daemon.url, token=daemon.token),
                                  timeout=120) as client:
            return await body(client)
    return loop.run_until_complete(asyncio.wait_for(go(), 240))


def _rows(view: TableView) -> list[list[str]]:
    t = view.table
    return [[t.item(r, c).text() if t.item(r, c) else "" for c in range(t.columnCount())]
            for r in range(t.rowCount())]


def test_a_windmill_grid_app_renders_and_runs(daemon: RunningDaemon, qtbot: Any,
                                              qloop: Any, tmp_path: Path) -> None:
    document = load_app_folder(APP)
    assert "grid" in document["value"]
    r = daemon.api("POST", "apps/create", json={**document, "path": "f/wm/orders"})
    assert r.status_code == 201, r.text
    # importing keeps the document as Windmill wrote it (same keys, same order)
    stored = daemon.api("GET", "apps/get/p/f/wm/orders").json()
    assert json.dumps(stored["value"]) == json.dumps(document["value"])
    assert stored["schemas"]["b__run"]["properties"]["region"]["type"] == "string"

    async def body(client: TidemillClient) -> None:
        w = AppRunWindow(client)
        qtbot.addWidget(w)
        w.resize(1200, 700)
        w.show()
        assert await w.load("f/wm/orders"), w.notice.text()
        assert w.surface is not None
        views = w.surface.views
        state = w.surface.session.state.values
        assert set(views) == {"a", "b", "c", "d", "region", "e", "f", "g"}
        # on load the inline script ran through the daemon, with the select's default
        table = views["b"]
        assert isinstance(table, TableView)
        first = state["b__run"]["result"]
        assert [(x["region"], x["item"]) for x in first] == [("eu", "tea"), ("eu", "cake")]
        # (jsonb keeps no key order: the columns come as the database gives them)
        assert [row[:3] for row in _rows(table)] == [["2", "tea", "eu"], ["1", "cake", "eu"]]
        assert views["a"].text.text() == "Orders of eu"  # type: ignore[attr-defined]
        combo = views["region"].combo  # type: ignore[attr-defined]
        assert [combo.itemText(i) for i in range(combo.count())] == ["Europe",
                                                                    "United States"]
        chart = views["e"]
        assert isinstance(chart, ChartView)
        shown = chart.shown()  # Windmill's {data, labels} as bars
        assert (shown["kind"], shown["labels"], shown["series"]) == (
            "bar", ["Tea", "Cake", "Jam"], {"value": [25.0, 25.0, 50.0]})
        # the button reruns the table's script: a new job, new rows
        button = views["c"].button  # type: ignore[attr-defined]
        assert button.text() == "Refresh" and button.isEnabled()
        button.click()
        await w.surface.idle()
        again = state["b__run"]["result"]
        assert again[0]["fetched"] != first[0]["fetched"], "the button did not rerun it"
        assert _rows(table)[0][3] == str(again[0]["fetched"])
        # the select is connected to the script's input: choosing reruns it
        combo.setCurrentIndex(1)
        await w.surface.idle()
        assert [x["region"] for x in state["b__run"]["result"]] == ["us", "us"]
        assert views["a"].text.text() == "Orders of us"  # type: ignore[attr-defined]
        # the form: fields from its inline script, submit runs it, recomputeIds reruns b
        form = views["g"]
        assert isinstance(form, FormView)
        assert list(form.form.fields) == ["item", "qty"] and form.submit.text() == "Add order"
        before = w.surface.session.runs.get("b__run", 0)
        form.form.fields["item"].widget.setText("jam")  # type: ignore[attr-defined]
        form.submit.click()
        await w.surface.idle()
        assert state["g__run"]["result"] == {"added": "jam", "qty": 1}
        assert w.surface.session.runs["b__run"] == before + 1
                # an unknown Windmill component is a labelled placeholder, not a crash
        note = views["f"].findChild(QLabel)
        assert note is not None and "plotlycomponentv2" in note.text() and \
            "not shown in Tidemill yet" in note.text()
        w.grab().save(str(tmp_path / "windmill-grid-app.png"))

    _drive(qloop, daemon, body)
    # the endpoint the window runs through: the stored app's inline code, by runnable id
    r = daemon.api("POST", "apps_u/execute_component/f/wm/orders", params={"wait": "true"},
                   json={"component": "b__run", "args": {"region": "jp"}})
    assert r.status_code == 200 and r.json()[0]["region"] == "jp", r.text
    r = daemon.api("POST", "apps_u/execute_component/f/wm/orders",
                   json={"component": "nope", "args": {}})
    assert r.status_code == 404 and "has no runnable 'nope'" in r.text
