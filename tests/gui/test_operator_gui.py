"""An operator in the desktop app: a real daemon, a real user with the operator role and a
read grant on the app's folder. The app runs for them; no editor and no code are offered."""

from __future__ import annotations

from typing import Any

from desktop_app.apps.model import AppDefinition
from desktop_app.client.http import TidemillClient
from desktop_app.gui.apps.chart import ChartView
from desktop_app.gui.apps.run_window import AppRunWindow
from desktop_app.gui.code_editor import CodeEditor
from tests.e2e.daemon_harness import RunningDaemon
from tests.gui.test_apps_gui import FIXTURES, _drive


def test_an_operator_runs_a_shared_app_without_editor_or_code(
        daemon: RunningDaemon, qtbot: Any, qloop: Any) -> None:
    dashboard = AppDefinition.from_yaml((FIXTURES / "dashboard.app.yaml").read_text())
    assert daemon.api("POST", "apps/create",
                      json=dashboard.to_api("f/sales/board")).status_code == 201
    assert daemon.api("POST", "folders/create",
                      json={"name": "sales", "extra_perms": {"u/opal": False}}).status_code == 201
    daemon.cli("user", "add", "opal", "--role", "operator", check=True)
    token = daemon.cli("token", "create", "--user", "opal", check=True).stdout.strip()

    async def body(client: TidemillClient) -> None:
        me = await client.whoami()
        assert me["operator"] is True and me["role"] == "operator"
        w = AppRunWindow(client, open_builder=lambda path: None)
        qtbot.addWidget(w)
        w.show()
        assert await w.load("f/sales/board")
        assert w.code_visible is False and w.edit.isHidden()
        assert w.findChildren(CodeEditor) == []
        assert w.surface is not None
        chart = w.surface.views["by_day"]
        assert isinstance(chart, ChartView)
        assert chart.shown()["series"] == {"amount": [10.0, 20.0, 30.0, 40.0, 50.0]}
        assert w.surface.views["total"].text.text() == "Total: 150"  # type: ignore[attr-defined]
        # a change re-runs the query, as the operator
        w.surface.views["region"].combo.setCurrentText("eu")  # type: ignore[attr-defined]
        await w.surface.idle()
        assert w.surface.views["total"].text.text() == "Total: 60"  # type: ignore[attr-defined]
        assert chart.shown()["series"] == {"amount": [4.0, 8.0, 12.0, 16.0, 20.0]}
        runs = await client.list_jobs()  # hers only, and they ran as her
        assert len(runs) >= 2 and {j["permissioned_as"] for j in runs} == {"u/opal"}

    _drive(qloop, daemon, body, token=token)
