"""Apps in the desktop app, against a real daemon and a real PostgreSQL database: build an
app in the builder (drops, property and runnable panels, save), reopen it in run mode and
use it; app.yaml → builder → save gives the same YAML; a run-only user gets no editor."""

from __future__ import annotations

import asyncio
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from PySide6.QtCore import QDate, QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel, QPushButton

from desktop_app.apps.model import AppDefinition
from desktop_app.client.http import Connection, TidemillClient
from desktop_app.gui.app import MainWindow
from desktop_app.gui.apps.builder import AppBuilderWindow
from desktop_app.gui.apps.builder_canvas import KIND_MIME
from desktop_app.gui.apps.chart import ChartView
from desktop_app.gui.apps.displays import TableView
from desktop_app.gui.apps.inputs import FormView
from desktop_app.gui.apps.run_window import AppRunWindow
from desktop_app.gui.code_editor import CodeEditor
from tests.e2e.daemon_harness import RunningDaemon
from tests.support.pg import create_database, drop_database, postgresql_resource

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "apps"
LIST_ITEMS = "-- database f/shop/pg\nSELECT name, qty FROM items ORDER BY id;\n"
ADD_ITEM = textwrap.dedent("""\
    -- database f/shop/pg
    -- $1 name
    -- $2 qty (int) = 1
    INSERT INTO items (name, qty) VALUES ($1, $2) RETURNING id;
""")


@pytest.fixture
def shop_db(pg_server: Any) -> Iterator[dict[str, Any]]:
    """A database with an `items` table, and the `postgresql` resource value reaching it."""
    name = f"shop_{uuid.uuid4().hex[:12]}"
    url = create_database(pg_server.url, name)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, "
                     "qty int NOT NULL)")
        conn.execute("INSERT INTO items (name, qty) VALUES ('apple', 3), ('fig', 7)")
    value = postgresql_resource(url)
    yield {"url": url, "value": value}
    drop_database(pg_server.url, name)


def _drive(loop: Any, daemon: RunningDaemon, body: Any, token: str | None = None) -> Any:
    async def go() -> Any:
        conn = Connection(url=daemon.url, token=token or daemon.token)
        async with TidemillClient(conn, timeout=120) as client:
            return await body(client)
    return loop.run_until_complete(asyncio.wait_for(go(), 240))


def _drop(builder: AppBuilderWindow, kind: str, x: int, y: int) -> str:
    """Drop a palette kind on the grid cell (x, y), as a drag from the palette ends."""
    canvas = builder.canvas
    mime = QMimeData()
    mime.setData(KIND_MIME, kind.encode())
    pos = QPointF(canvas.cell_rect(x, y, 1, 1).center())
    event = QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    canvas.dropEvent(event)
    assert event.isAccepted()
    return canvas.selected


def _set_prop(builder: AppBuilderWindow, name: str, text: str, *, expr: bool = False) -> None:
    editor = builder.properties.editors[name]
    if expr and editor.mode.currentText() != "expr":
        editor.mode.setCurrentText("expr")  # a command; the panel is rebuilt
        editor = builder.properties.editors[name]
    editor.edit.setText(text)
    editor.edit.editingFinished.emit()


def test_build_save_reopen_and_use_an_app_on_a_real_query(
        daemon: RunningDaemon, shop_db: dict[str, Any], qtbot: Any, qloop: Any) -> None:
    r = daemon.api("POST", "resources/create", json={
        "path": "f/shop/pg", "resource_type": "postgresql", "value": shop_db["value"]})
    assert r.status_code == 201, r.text
    daemon.deploy("f/shop/add_item", ADD_ITEM, "postgresql")
    daemon.deploy("f/shop/list_items", LIST_ITEMS, "postgresql")

    async def build(client: TidemillClient) -> None:
        b = AppBuilderWindow(client)
        qtbot.addWidget(b)
        b.show()
        assert await b.load("f/shop/items")
        assert "new app" in b.status.text()

        panel = b.runnables
        panel.add_script.click()  # query1: the first deployed script, then picked
        panel.path_combo.setCurrentText("f/shop/list_items")
        panel.path_combo.lineEdit().editingFinished.emit()
        panel.trigger_combo.setCurrentText("load")
        panel.add_script.click()  # query2
        panel.path_combo.setCurrentText("f/shop/add_item")
        panel.path_combo.lineEdit().editingFinished.emit()
        panel.refresh_edit.setText("query1")
        panel.refresh_edit.editingFinished.emit()
        assert [(x.id, x.path, x.trigger) for x in b.app.runnables] == [
            ("query1", "f/shop/list_items", "load"), ("query2", "f/shop/add_item", "button")]
        assert b.app.runnable("query2").follow_up("success") == {"refresh": ["query1"]}

        assert _drop(b, "form", 0, 0) == "form1"
        b.properties.runnable_combo.setCurrentIndex(b.properties.runnable_combo.findData(
            "query2"))
        assert b.app.component("form1").runnable == "query2"
        assert _drop(b, "table", 4, 0) == "table1"
        _set_prop(b, "data", "query1.result", expr=True)
        # results are stored as jsonb, which keeps no key order: name the columns
        _set_prop(b, "columns", '["name", "qty"')
        assert "not JSON" in b.properties.message.text()
        _set_prop(b, "columns", '["name", "qty"]')
        assert b.app.component("table1").props["columns"] == ["name", "qty"]
        assert _drop(b, "chart", 0, 6) == "chart1"
        _set_prop(b, "data", "query1.result", expr=True)
        _set_prop(b, "x", "name")
        _set_prop(b, "y", "qty")
        _set_prop(b, "title", "Stock")
        kind = b.properties.editors["kind"]
        assert kind.choice is not None and not kind.choice.isHidden()  # a choice, not text
        kind.choice.setCurrentText("line")
        assert b.app.component("chart1").props["kind"] == "line"
        b.undo_button.click()
        assert b.app.component("chart1").props["kind"] == "bar"
        chart = b.app.component("chart1")
        assert chart.props["data"] == {"expr": "query1.result"} and chart.props["y"] == "qty"
        # undo/redo through the toolbar
        b.undo_button.click()
        assert b.app.component("chart1").props["title"] == ""
        b.redo_button.click()
        assert b.app.component("chart1").props["title"] == "Stock"

        # Preview runs the unsaved app: the query fills the table and the chart
        b.preview_button.setChecked(True)
        await b.idle()
        assert b.preview is not None and b.center.currentWidget() is b.preview
        assert b.preview.views["table1"].visible_rows() == [  # type: ignore[attr-defined]
            ["apple", "3"], ["fig", "7"]]
        assert list(b.preview.views["form1"].form.fields) == ["name", "qty"]  # type: ignore[attr-defined]
        b.preview_button.setChecked(False)
        await b.idle()
        assert b.preview is None and b.center.currentIndex() == 0

        b.save_button.click()
        await b.idle()
        assert b.status.text().startswith("saved f/shop/items"), b.status.text()

    _drive(qloop, daemon, build)
    stored = daemon.api("GET", "apps/get/p/f/shop/items").json()
    assert [c["id"] for c in stored["value"]["components"]] == ["form1", "table1", "chart1"]

    async def use(client: TidemillClient) -> None:
        w = AppRunWindow(client)
        qtbot.addWidget(w)
        w.show()
        assert await w.load("f/shop/items")
        assert w.surface is not None
        table = w.surface.views["table1"]
        chart = w.surface.views["chart1"]
        form = w.surface.views["form1"]
        assert isinstance(table, TableView) and isinstance(chart, ChartView)
        assert isinstance(form, FormView)
        assert table.visible_rows() == [["apple", "3"], ["fig", "7"]]
        assert chart.shown() == {"kind": "bar", "title": "Stock", "labels": ["apple", "fig"],
                                 "series": {"qty": [3.0, 7.0]}}
        assert list(form.form.fields) == ["name", "qty"]  # the script's schema

        form.form.fields["name"].widget.setText("pear")  # type: ignore[attr-defined]
        form.form.fields["qty"].widget.setText("5")  # type: ignore[attr-defined]
        form.submit.click()
        await w.surface.idle()
        # the table refreshed after the script ran: the query ran again
        assert table.visible_rows() == [["apple", "3"], ["fig", "7"], ["pear", "5"]]
        assert chart.shown()["series"] == {"qty": [3.0, 7.0, 5.0]}
        assert chart.shown()["labels"] == ["apple", "fig", "pear"]
        assert w.surface.session.runs == {"query1": 2, "query2": 1}

        form.form.fields["name"].widget.setText("")  # type: ignore[attr-defined]
        form.submit.click()  # required field empty: refused in the form, nothing runs
        await w.surface.idle()
        assert "required" in form.form.fields["name"].error.text().lower()
        assert w.surface.session.runs == {"query1": 2, "query2": 1}

        table.search.setText("fi")
        assert table.visible_rows() == [["fig", "7"]]
        table.table.sortItems(1, Qt.SortOrder.DescendingOrder)
        table.search.setText("")
        assert [row[0] for row in table.visible_rows()] == ["fig", "pear", "apple"]
        table.select_row(1)
        await w.surface.idle()
        assert w.surface.session.state.values["table1"]["selectedRow"] == {
            "name": "pear", "qty": 5}

    _drive(qloop, daemon, use)
    with psycopg.connect(shop_db["url"]) as conn:
        assert conn.execute("SELECT name, qty FROM items ORDER BY id").fetchall() == [
            ("apple", 3), ("fig", 7), ("pear", 5)]


@pytest.mark.api_only  # no job runs: the API in-process
def test_app_yaml_through_the_builder_and_save_is_the_same_yaml(
        daemon: RunningDaemon, qtbot: Any, qloop: Any) -> None:
    text = (FIXTURES / "admin_panel.app.yaml").read_text()

    async def body(client: TidemillClient) -> None:
        b = AppBuilderWindow(client)
        qtbot.addWidget(b)
        b.show()
        b.set_document("f/admin/users", AppDefinition.from_yaml(text).document)
        assert set(b.design_views) == {"title", "new_user", "users", "logins_chart", "selected"}
        # an edit and its undo leave nothing behind
        b.canvas.select("users")
        _set_prop(b, "searchable", "", expr=True)  # refused: empty expression
        assert "cannot be empty" in b.properties.message.text()
        b.properties.geometry_spins[2].setValue(6)
        assert b.app.component("users").geometry == (4, 1, 6, 6)
        b.undo()
        assert b.app.to_yaml() == text
        # a drop on a container puts the component inside it
        assert _drop(b, "container", 0, 16) == "container1"
        assert _drop(b, "text", 1, 17) == "text1"
        assert [c.id for c in b.app.component("container1").children] == ["text1"]
        assert "text1" in b.design_views  # drawn inside the container's own grid
        up = [w for w in b.properties.findChildren(QPushButton)
              if w.text() == "Select container1 (holds it)"]
        up[0].click()
        assert b.canvas.selected == "container1"
        assert "Holds: text1" in [w.text() for w in b.properties.findChildren(QLabel)]
        b.undo()
        b.undo()
        assert b.app.to_yaml() == text
        # the mouse: a click selects, dragging the body moves, dragging the corner resizes
        canvas = b.canvas
        body = canvas.cell_rect(4, 1, 8, 6)
        QTest.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=body.center())
        assert canvas.selected == "users" and "users" in b.properties.title.text()
        col = canvas.cell_rect(0, 0, 1, 1).width() + 8
        QTest.mousePress(canvas, Qt.MouseButton.LeftButton, pos=body.center())
        QTest.mouseMove(canvas, body.center() + QPoint(-2 * col, 0))
        QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton,
                           pos=body.center() + QPoint(-2 * col, 0))
        assert b.app.component("users").geometry == (2, 1, 8, 6)
        corner = canvas.cell_rect(2, 1, 8, 6).bottomRight() - QPoint(3, 3)
        QTest.mousePress(canvas, Qt.MouseButton.LeftButton, pos=corner)
        QTest.mouseMove(canvas, corner + QPoint(-col, 40))
        QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=corner + QPoint(-col, 40))
        assert b.app.component("users").geometry == (2, 1, 7, 7)
        b.undo()
        b.undo()
        assert b.app.to_yaml() == text
        b.save_button.click()
        await b.idle()
        assert b.status.text().startswith("saved"), b.status.text()
        stored = await client.get_app("f/admin/users")
        assert AppDefinition.from_api(stored).to_yaml() == text

    _drive(qloop, daemon, body)
    r = daemon.api("GET", "sync/status", params={"wait": "true"})
    assert r.status_code == 200
    assert (daemon.home / "workspace/f/admin/users.app/app.yaml").read_text() == text


def test_a_run_only_user_runs_the_app_but_gets_no_editor_or_code(
        daemon: RunningDaemon, qtbot: Any, qloop: Any) -> None:
    dashboard = AppDefinition.from_yaml((FIXTURES / "dashboard.app.yaml").read_text())
    r = daemon.api("POST", "apps/create", json=dashboard.to_api("f/sales/board"))
    assert r.status_code == 201, r.text
    token = daemon.cli("token", "create", "--scope", "run:f/sales/*", check=True).stdout.strip()

    async def body(client: TidemillClient) -> None:
        opened: list[str] = []
        w = AppRunWindow(client, open_builder=opened.append)
        qtbot.addWidget(w)
        w.show()
        assert await w.load("f/sales/board")
        assert w.code_visible is False and w.edit.isHidden()
        assert w.findChildren(CodeEditor) == []
        assert w.surface is not None
        assert w.surface.views["total"].text.text() == "Total: 150", \
            w.surface.session.state.values["sales"]  # type: ignore[attr-defined]
        region = w.surface.views["region"]
        region.combo.setCurrentText("eu")  # type: ignore[attr-defined]
        await w.surface.idle()
        assert w.surface.views["total"].text.text() == "Total: 60"  # type: ignore[attr-defined]
        chart = w.surface.views["by_day"]
        assert isinstance(chart, ChartView)
        assert chart.shown()["series"] == {"amount": [4.0, 8.0, 12.0, 16.0, 20.0]}
        assert w.surface.session.runs == {"sales": 2}

    _drive(qloop, daemon, body, token=token)

    async def admin(client: TidemillClient) -> None:
        main = MainWindow(client)
        qtbot.addWidget(main)
        await main.goto("home")
        assert main.home.visible_paths("app") == ["f/sales/board"]
        w = main.open_app("f/sales/board")  # what activating it in the tree does
        qtbot.addWidget(w)
        assert isinstance(w, AppRunWindow)
        for _ in range(600):
            if w.surface is not None and w.surface.session.runs.get("sales"):
                break
            await asyncio.sleep(0.05)
        assert w.code_visible and not w.edit.isHidden()
        w.edit.click()  # the admin may edit: the builder opens on the same app
        builder = main.app_windows[-1]
        qtbot.addWidget(builder)
        assert isinstance(builder, AppBuilderWindow)
        for _ in range(600):
            if builder.path == "f/sales/board" and builder.session.runs.get("sales"):
                break
            await asyncio.sleep(0.05)
        assert set(builder.design_views) == {"title", "region", "total", "by_day", "share"}

    _drive(qloop, daemon, admin)


def test_every_component_kind_renders_and_reacts(daemon: RunningDaemon, qtbot: Any,
                                                 qloop: Any, tmp_path: Path) -> None:
    every = AppDefinition.from_yaml((FIXTURES / "every_kind.app.yaml").read_text())
    r = daemon.api("POST", "apps/create", json=every.to_api("f/demo/every"))
    assert r.status_code == 201, r.text

    async def body(client: TidemillClient) -> None:
        w = AppRunWindow(client)
        qtbot.addWidget(w)
        w.show()
        assert await w.load("f/demo/every")
        assert w.surface is not None
        views = w.surface.views
        assert set(views) == {c.id for c, _ in every.all_components()}
        state = w.surface.session.state.values
        # on load: the python and the deno inline scripts ran
        assert state["regions"]["result"] == ["eu", "us"]
        assert state["inline_sum"]["result"] == [{"label": "a", "value": 3},
                                                 {"label": "b", "value": 2}]
        region = views["region"].combo  # type: ignore[attr-defined]
        assert [region.itemText(i) for i in range(region.count())] == ["eu", "us"]
        pie = views["chart_pie"]
        assert isinstance(pie, ChartView)
        assert pie.shown()["series"] == {"pie": {"a": 3.0, "b": 2.0}}
        # a number input drives the `change` runnable and what reads its result
        views["count"].spin.setValue(8)  # type: ignore[attr-defined]
        await w.surface.idle()
        assert pie.shown()["series"] == {"pie": {"a": 8.0, "b": 2.0}}
        assert views["heading"].text.text() == "Hello yes"  # type: ignore[attr-defined]
        views["name"].edit.setText("Ada")  # type: ignore[attr-defined]
        views["name"].edit.returnPressed.emit()  # type: ignore[attr-defined]
        await w.surface.idle()
        assert views["heading"].text.text() == "Hello Ada"  # type: ignore[attr-defined]
        # a static value that is not a list: the table says so instead of failing
        assert "expected a list of objects" in views["table1"].error.text()
        # the flow is not deployed: the form says so; the button runs and reports it
        assert "not deployed" in views["form1"].note.text()  # type: ignore[attr-defined]
        views["modal_json"].refresh()
        details = views["details"]
        details.button.click()  # type: ignore[attr-defined]
        assert details.dialog.isVisible()  # type: ignore[attr-defined]
        await w.surface.idle()
        assert state["details"]["open"] is True
        tabs = views["tabs1"].tabs  # type: ignore[attr-defined]
        assert [tabs.tabText(i) for i in range(tabs.count())] == ["First", "Second"]
        tabs.setCurrentIndex(1)
        await w.surface.idle()
        assert state["tabs1"]["selectedTab"] == 1
        upload = tmp_path / "people.csv"
        upload.write_text("name\nada\n")
        views["upload"].load(upload)  # type: ignore[attr-defined]
        views["since"].date.setDate(QDate(2026, 3, 4))  # type: ignore[attr-defined]
        views["active"].box.setChecked(False)  # type: ignore[attr-defined]
        views["colour"].combo.setCurrentIndex(1)  # type: ignore[attr-defined]
        await w.surface.idle()
        assert state["upload"]["value"] == {"name": "people.csv", "size": 9,
                                            "content": "bmFtZQphZGEK"}
        assert state["since"]["value"] == "2026-03-04"
        assert state["active"]["value"] is False
        assert state["colour"]["value"] == "blue"  # the option's value, not its label

    _drive(qloop, daemon, body)


def test_an_operator_finds_the_shared_app_but_the_builder_does_not_open(
        daemon: RunningDaemon, qtbot: Any, qloop: Any) -> None:
    """A real operator user (read grant on the app's folder): the workspace lists the app and
    opens it in run mode; the builder refuses it and says why."""
    dashboard = AppDefinition.from_yaml((FIXTURES / "dashboard.app.yaml").read_text())
    assert daemon.api("POST", "apps/create",
                      json=dashboard.to_api("f/sales/board")).status_code == 201
    assert daemon.api("POST", "apps/create",
                      json=dashboard.to_api("f/hidden/board")).status_code == 201
    assert daemon.api("POST", "folders/create", json={
        "name": "sales", "extra_perms": {"u/otto": False}}).status_code == 201
    daemon.cli("user", "add", "otto", "--role", "operator", check=True)
    token = daemon.cli("token", "create", "--user", "otto", check=True).stdout.strip()

    async def body(client: TidemillClient) -> None:
        main = MainWindow(client)
        qtbot.addWidget(main)
        await main.goto("home")
        assert main.home.visible_paths("app") == ["f/sales/board"]  # not f/hidden
        w = main.open_app("f/sales/board")  # what activating it in the tree does
        qtbot.addWidget(w)
        assert isinstance(w, AppRunWindow)
        for _ in range(600):
            if w.surface is not None and w.surface.session.runs.get("sales"):
                break
            await asyncio.sleep(0.05)
        assert w.edit.isHidden() and w.surface is not None
        assert w.surface.views["total"].text.text() == "Total: 150"  # type: ignore[attr-defined]
        b = AppBuilderWindow(client)
        qtbot.addWidget(b)
        assert not await b.load("f/sales/board")
        assert "you may run this app but not change it" in b.status.text()
        assert b.app.components == [] and b.findChildren(CodeEditor) == []

    _drive(qloop, daemon, body, token=token)
