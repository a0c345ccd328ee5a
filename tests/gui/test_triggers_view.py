"""The Triggers view against a real daemon: every trigger with its status and last error,
the enable switch, and creating and editing a trigger (the daemon's 400s shown)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from PySide6.QtCore import Qt

from desktop_app.client.http import Connection, TidemillClient
from desktop_app.gui.app import MainWindow
from tests.e2e.daemon_harness import RunningDaemon, free_port


def _window_run(loop: Any, daemon: RunningDaemon, qtbot: Any, body: Any) -> Any:
    async def go() -> Any:
        conn = Connection(url=daemon.url, token=daemon.token)
        async with TidemillClient(conn, timeout=120) as client:
            window = MainWindow(client)
            qtbot.addWidget(window)
            window.show()
            return await body(window)
    return loop.run_until_complete(asyncio.wait_for(go(), 180))


async def _until(what: str, check: Any, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = await check()
        if got:
            return got
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_triggers_view_lists_state_toggles_and_edits(daemon: RunningDaemon, qtbot: Any,
                                                     qloop: Any) -> None:
    daemon.deploy("f/ev/echo", "def main(**kw):\n    return kw\n")
    dead = free_port()
    assert daemon.api("POST", "websocket_triggers/create", json={
        "path": "f/ev/feed", "script_path": "f/ev/echo",
        "url": f"ws://127.0.0.1:{dead}/feed"}).status_code == 201
    assert daemon.api("POST", "http_triggers/create", json={
        "path": "f/ev/hook", "route_path": "ev/hook", "script_path": "f/ev/echo"}
    ).status_code == 201

    async def body(w: MainWindow) -> None:
        await w.goto("triggers")
        view = w.triggers

        async def errored() -> Any:
            await view.refresh()
            rows = view.rows()
            return rows if any("reconnecting in" in r[4] for r in rows) else None
        rows = await _until("the feed's last error", errored)
        by_path = {r[2]: r for r in rows}
        assert by_path["f/ev/hook"][:2] == ["on", "http"]
        assert by_path["f/ev/hook"][6] == "POST /api/r/ev/hook"
        assert by_path["f/ev/hook"][3] == "serving"
        assert by_path["f/ev/feed"][1] == "websocket"
        assert by_path["f/ev/feed"][6] == f"ws://127.0.0.1:{dead}/feed"
        assert by_path["f/ev/feed"][5] == "f/ev/echo"

        # the switch disables it
        item = next(view.tree.topLevelItem(i) for i in range(view.tree.topLevelItemCount())
                    if view.tree.topLevelItem(i).text(2) == "f/ev/feed")
        item.setCheckState(0, Qt.CheckState.Unchecked)
        async def disabled() -> bool:
            got = await w.client.get_trigger("websocket", "f/ev/feed")
            return got["mode"] == "disabled"
        await _until("disabled", disabled)
        await view.refresh()
        assert {r[2]: r for r in view.rows()}["f/ev/feed"][:1] == ["off"]
        assert {r[2]: r for r in view.rows()}["f/ev/feed"][3] == "disabled"
        assert {r[2]: r for r in view.rows()}["f/ev/feed"][4] == ""  # no old error in red

        # opening a trigger shows its settings as a form, and its state
        await view.open("websocket", "f/ev/feed")
        ed = view.editor
        fields = ed.settings.form.fields
        assert ed.editing == ("websocket", "f/ev/feed")
        assert fields["url"].editor.text() == f"ws://127.0.0.1:{dead}/feed"
        assert fields["filter_logic"].editor.currentText() == "and"
        assert ed.settings.other.toPlainText() == ""  # nothing the form cannot show
        assert "Last error" in ed.state.text() and "reconnecting in" in ed.state.text()
        # edited through the form: a filter row, a switch; the rest is kept
        row = fields["filters"].editor.add_row()
        row.form.fields["key"].editor.setText("type")
        row.form.fields["value"].editor.setText("order")
        fields["can_return_message"].editor.setChecked(True)
        assert await ed.save(), ed.message.text()
        feed = await w.client.get_trigger("websocket", "f/ev/feed")
        assert feed["filters"] == [{"key": "type", "value": "order"}]
        assert feed["can_return_message"] is True
        assert feed["url"] == f"ws://127.0.0.1:{dead}/feed"

        # a setting of a shape the form has no field for stays as JSON, and is kept
        assert (await w.client.create_trigger("websocket", {
            "path": "f/ev/numbers", "script_path": "f/ev/echo", "enabled": False,
            "url": f"ws://127.0.0.1:{dead}/n", "filters": [{"key": "n", "value": 5}]}))
        await view.refresh()
        await view.open("websocket", "f/ev/numbers")
        assert '"value": 5' in ed.settings.other.toPlainText()
        assert not ed.settings.form.fields["filters"].editor.editors()
        assert await ed.save(), ed.message.text()
        got = await w.client.get_trigger("websocket", "f/ev/numbers")
        assert got["filters"] == [{"key": "n", "value": 5}]

        # a new email trigger: the daemon's 400, bad JSON in the other settings, then saved
        ed.new()
        ed.kind.setCurrentText("email")
        local = ed.settings.form.fields["local_part"].editor
        assert local.text() == "orders"  # the kind's example
        ed.path.setText("f/ev/inbox")
        ed.target.setCurrentText("f/ev/echo")
        local.setText("two words")
        assert not await ed.save()
        assert "'local_part' must be" in ed.message.text()
        local.setText("orders")
        ed.settings.other.setPlainText("{not json")
        assert not await ed.save()
        assert "not valid JSON" in ed.message.text()
        ed.settings.other.setPlainText("")
        assert await ed.save(), ed.message.text()
        assert ("email", "f/ev/inbox") in {(r[1], r[2]) for r in view.rows()}
        assert (await w.client.get_trigger("email", "f/ev/inbox"))["local_part"] == "orders"
        assert await ed.delete()
        assert "f/ev/inbox" not in {r[2] for r in view.rows()}

        # MQTT through the form: the broker, a topic row with its QoS, required fields
        ed.new()
        ed.kind.setCurrentText("mqtt")
        fields = ed.settings.form.fields
        assert fields["broker_url"].editor.text() == "mqtt://localhost:1883"
        topic = fields["subscribe_topics"].editor.editors()[0]
        assert topic.form.fields["topic"].editor.text() == "sensors/+/temp"
        topic.form.fields["topic"].editor.setText("")
        ed.path.setText("f/ev/sensors")
        ed.target.setCurrentText("f/ev/echo")
        assert not await ed.save()
        assert ed.message.text() == "Fix the settings marked in red."
        topic.form.fields["topic"].editor.setText("plant/+/temp")
        topic.form.fields["qos"].editor.setCurrentText("qos2")
        assert await ed.save(), ed.message.text()
        got = await w.client.get_trigger("mqtt", "f/ev/sensors")
        assert got["subscribe_topics"] == [{"topic": "plant/+/temp", "qos": "qos2"}]
        assert got["broker_url"] == "mqtt://localhost:1883"
        await ed.delete()

    _window_run(qloop, daemon, qtbot, body)


def test_each_kinds_example_fits_its_form_and_the_rest_stays_json(qapp: Any) -> None:
    from desktop_app.gui.trigger_settings import TriggerSettings, split
    from desktop_app.gui.triggers_view import EVENT_KINDS, TEMPLATES

    for kind in EVENT_KINDS:
        shown, other = split(kind, TEMPLATES[kind])
        assert other == {} and set(shown) == set(TEMPLATES[kind]), kind
    replication = {"postgres_resource_path": "f/db/main", "replication_slot_name": "s1",
                   "publication_name": "p1", "channel": None,
                   "publication": {"table_to_track": [{"table_name": "orders"}]}}
    shown, other = split("postgres", replication)
    assert shown == {"postgres_resource_path": "$res:f/db/main",
                     "replication_slot_name": "s1", "publication_name": "p1"}
    assert other == {"publication": {"table_to_track": [{"table_name": "orders"}]}}
    assert split("carrier_pigeon", {"loft": 3}) == ({}, {"loft": 3})  # a kind it does not know

    settings = TriggerSettings()
    settings.show_settings("postgres", replication)
    from PySide6.QtWidgets import QLabel

    said = QLabel()
    assert settings.collect(said) == {**{k: v for k, v in replication.items() if v},
                                      "postgres_resource_path": "f/db/main"}
    settings.show_settings("nats", TEMPLATES["nats"])
    assert [e.text() for e in settings.form.fields["subjects"].editor.editors()] == \
        ["orders.created"]
    assert settings.other.isHidden()
