"""A trigger's own settings as a form: one field per setting of its kind (Windmill's field
names, described in words), built by the same SchemaForm as a script's arguments, so the
URL, topics, filters and switches are typed into fields rather than a JSON box.

What the form cannot show as it is — a kind it does not know, a setting it has no field for,
a value of another shape (a filter matching a number, an initial message that runs a
script) — stays in "Other settings (JSON)" below it and is sent back unchanged: editing
through the form never loses a setting.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtWidgets import QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from desktop_app.client.http import TidemillClient
from desktop_app.core.args import argument_problems
from desktop_app.gui.panels import json_object_or_say
from desktop_app.gui.schema_form import SchemaForm


def _text(title: str, description: str, **more: Any) -> dict[str, Any]:
    return {"type": "string", "title": title, "description": description, **more}


def _flag(title: str, description: str) -> dict[str, Any]:
    return {"type": "boolean", "title": title, "description": description}


def _list_of(title: str, description: str, **fields: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "title": title, "description": description,
            "items": {"type": "object", "properties": fields, "required": [next(iter(fields))],
                      "additionalProperties": False}}


# Each kind's settings (core/event_triggers.KIND_FIELDS), in the order a user fills them.
SCHEMAS: dict[str, dict[str, Any]] = {
    "websocket": {"required": ["url"], "properties": {
        "url": _text("URL", "ws:// or wss:// address to connect to, or $script:f/… (a "
                     "script whose result is the URL)", placeholder="wss://stream.example.com/feed"),
        "filters": _list_of("Filters", "Run only for JSON messages where each key has its value",
                            key=_text("key", "a key of the message"),
                            value=_text("value", "the value it must have")),
        "filter_logic": {"type": "string", "enum": ["and", "or"], "default": "and",
                         "title": "Filters must", "description": "and: all match; or: one"},
        "initial_messages": _list_of("Send on connect", "Messages sent when connected",
                                     raw_message=_text("message", "the text to send")),
        "url_runnable_args": {"type": "object", "title": "URL arguments",
                              "description": "Arguments of the $script: that gives the URL"},
        "can_return_message": _flag("Reply result",
                                    "Send each run's result back on the socket"),
        "can_return_error_result": _flag("Reply errors", "Send a failed run's error back"),
    }},
    "postgres": {"required": ["postgres_resource_path"], "properties": {
        "postgres_resource_path": {"type": "object", "format": "resource-postgresql",
                                   "title": "Database", "description": "The postgresql resource"
                                   " whose server the trigger listens to"},
        "channel": _text("NOTIFY channel", "LISTEN for NOTIFY on this channel (or use a slot "
                         "and a publication below, not both)", placeholder="orders_changed"),
        "replication_slot_name": _text("Replication slot", "Table changes through logical "
                                       "replication: the slot", placeholder="tidemill_orders"),
        "publication_name": _text("Publication", "…and the publication of the tables",
                                  placeholder="tidemill_orders"),
    }},
    "nats": {"required": ["nats_resource_path", "subjects"], "properties": {
        "nats_resource_path": {"type": "object", "format": "resource-nats", "title": "Servers",
                               "description": "The nats resource: servers and credentials"},
        "subjects": {"type": "array", "items": {"type": "string"}, "title": "Subjects",
                     "description": "e.g. orders.created, sensors.*.temp, audit.>"},
        "use_jetstream": _flag("JetStream", "Read through a durable JetStream consumer"),
        "stream_name": _text("Stream", "The JetStream stream holding the subjects"),
        "consumer_name": _text("Consumer", "The durable consumer's name (optional)"),
    }},
    "mqtt": {"required": ["subscribe_topics"], "properties": {
        "broker_url": _text("Broker URL", "mqtt://[user[:password]@]host[:port], or mqtts:// "
                            "for TLS (or pick an mqtt resource below)",
                            placeholder="mqtt://localhost:1883"),
        "mqtt_resource_path": {"type": "object", "format": "resource-mqtt", "title": "Broker",
                               "description": "An mqtt resource, instead of the URL"},
        "subscribe_topics": _list_of("Topics", "Topic filters to subscribe to (+ one level, "
                                     "# the rest)",
                                     topic=_text("topic", "e.g. sensors/+/temp"),
                                     qos={"type": "string", "enum": ["qos0", "qos1", "qos2"],
                                          "default": "qos0", "title": "QoS"}),
        "client_id": _text("Client id", "Optional: the MQTT client id (one is made up if empty)"),
        "client_version": {"type": "string", "enum": ["v5", "v3"], "default": "v5",
                           "title": "MQTT version", "description": "The protocol version"},
    }},
    "email": {"required": ["local_part"], "properties": {
        "local_part": _text("Address", "What comes before the @ in the address that runs the "
                            "script", placeholder="orders"),
        "workspaced_local_part": _flag("Prefix with workspace",
                                       "The address is <workspace>-<address>@…"),
    }},
}
_RESOURCE_FIELDS = {"postgres_resource_path", "mqtt_resource_path", "nats_resource_path"}


def split(kind: str, settings: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(what the form shows, what stays as JSON): a value goes to the form only when the
    form's own checker takes it as it is."""
    schema = SCHEMAS.get(kind)
    if schema is None:
        return {}, dict(settings)
    shown: dict[str, Any] = {}
    other: dict[str, Any] = {}
    for name, value in settings.items():
        prop = schema["properties"].get(name)
        if value is None or (value in ({}, []) and name not in schema["required"]):
            continue  # unset: an empty field (or nothing to send back)
        as_form = f"$res:{value}" if name in _RESOURCE_FIELDS and isinstance(value, str) else value
        fits = prop is not None and not argument_problems(
            {"properties": {name: prop}}, {name: as_form})
        (shown if fits else other)[name] = as_form if fits else value
    return shown, other


class TriggerSettings(QWidget):
    """The form of one kind's settings and the JSON of the rest."""

    def __init__(self, client: TidemillClient | None = None) -> None:
        super().__init__()
        self.client = client
        self.kind = ""
        self.form = SchemaForm({}, client, nested=True)
        self.lay = lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.other_label = QLabel("Other settings (JSON)")
        self.other_label.setObjectName("muted")
        self.other = QPlainTextEdit()
        self.other.setFixedHeight(90)
        self.other.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.other.setPlaceholderText("{}")
        lay.addWidget(self.form)
        lay.addWidget(self.other_label)
        lay.addWidget(self.other)

    def show_settings(self, kind: str, settings: dict[str, Any]) -> None:
        """Show `kind`'s form filled with `settings` (the form's defaults when empty)."""
        shown, other = split(kind, settings)
        # a fresh form each time: no value of the trigger shown before stays behind
        schema = SCHEMAS.get(kind, {})
        form = SchemaForm({**schema, "order": list(schema.get("properties", {}))},
                          self.client, nested=True)
        self.lay.replaceWidget(self.form, form)
        self.form.deleteLater()
        self.form, self.kind = form, kind
        for name, value in shown.items():
            self.form.fields[name].set_value(value)
        self.other.setPlainText(json.dumps(other, indent=2) if other else "")
        # a kind the form knows needs the JSON box only when something is in it
        has_form = kind in SCHEMAS
        self.other.setVisible(bool(other) or not has_form)
        self.other_label.setVisible(bool(other) or not has_form)
        self.other_label.setText("Other settings (JSON)" if has_form else "Settings (JSON)")

    async def load_resources(self) -> None:
        await self.form.load_resources()

    def collect(self, message: QLabel) -> dict[str, Any] | None:
        """The settings to send, or None after saying what is wrong (beside the field, or in
        `message` for the JSON)."""
        values = self.form.collect()
        other = json_object_or_say(self.other.toPlainText() or "{}", "Other settings",
                                   '{"v5_config": {…}}', message)
        if values is None:
            message.setText("Fix the settings marked in red.")
            return None
        if other is None:
            return None
        for name in _RESOURCE_FIELDS & set(values):
            values[name] = str(values[name]).removeprefix("$res:")
        return {**other, **values}

    def show_server_error(self, field: str | None, message: str) -> bool:
        return self.form.show_server_error((field or "").split("[")[0].split(".")[0], message)
