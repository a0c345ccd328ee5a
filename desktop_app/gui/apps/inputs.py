"""Input components (text, number, select, checkbox, date, file) and the ones that run
something (button, form)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDoubleSpinBox,
    QFileDialog,
    QLabel,
    QLineEdit,
    QPushButton,
)

from desktop_app.apps.model import Component
from desktop_app.gui.apps.base import ComponentView, Host
from desktop_app.gui.schema_form import SchemaForm

TYPING_PAUSE_MS = 300  # a `change` runnable reruns once typing pauses, not per key


class TextInputView(ComponentView):
    def __init__(self, component: Component, host: Host) -> None:
        super().__init__(component, host)
        self.edit = self.with_label(QLineEdit())
        value = host.session.state.values[component.id].get("value")
        self.edit.setText("" if value is None else str(value))
        self._pause = QTimer(self)
        self._pause.setSingleShot(True)
        self._pause.setInterval(TYPING_PAUSE_MS)
        self._pause.timeout.connect(self._commit)
        self.edit.textEdited.connect(lambda _t: self._pause.start())
        self.edit.returnPressed.connect(self._commit)
        self.finish()

    def _commit(self) -> None:
        self._pause.stop()
        self.host.set_value(self.component.id, "value", self.edit.text())

    def update_body(self) -> None:
        self.update_label()
        self.edit.setPlaceholderText(str(self.prop("placeholder") or ""))


class NumberView(ComponentView):
    def __init__(self, component: Component, host: Host) -> None:
        super().__init__(component, host)
        self.spin = self.with_label(QDoubleSpinBox())
        self.spin.setKeyboardTracking(False)  # one change per committed number
        self.finish()
        self.update_body()
        value = host.session.state.values[component.id].get("value")
        if isinstance(value, (int, float)):
            self.spin.setValue(float(value))
        self.spin.valueChanged.connect(self._changed)

    def _changed(self, value: float) -> None:
        self.host.set_value(self.component.id, "value",
                            int(value) if self.spin.decimals() == 0 else value)

    def update_body(self) -> None:
        self.update_label()
        step = self.prop("step") or 1
        lo, hi = self.prop("min"), self.prop("max")
        self.spin.blockSignals(True)
        self.spin.setDecimals(0 if float(step).is_integer() else 4)
        self.spin.setSingleStep(float(step))
        self.spin.setRange(float(lo) if lo is not None else -1e12,
                           float(hi) if hi is not None else 1e12)
        self.spin.blockSignals(False)


class SelectView(ComponentView):
    def __init__(self, component: Component, host: Host) -> None:
        super().__init__(component, host)
        self.combo = self.with_label(QComboBox())
        self.combo.currentIndexChanged.connect(self._changed)
        self.finish()

    def _changed(self, index: int) -> None:
        if index >= 0:
            self.host.set_value(self.component.id, "value", self.combo.itemData(index))

    def update_body(self) -> None:
        self.update_label()
        options = self.prop("options")
        current = self.host.session.state.values[self.component.id].get("value")
        self.combo.blockSignals(True)
        self.combo.clear()
        for option in options if isinstance(options, list) else []:
            if isinstance(option, dict):
                value = option.get("value")
                self.combo.addItem(str(option.get("label", value)), value)
            else:
                self.combo.addItem(str(option), option)
        index = self.combo.findData(current)
        self.combo.setCurrentIndex(index)
        self.combo.blockSignals(False)
        if index < 0 and self.combo.count():  # the options changed under the value
            self.combo.setCurrentIndex(0)


class CheckboxView(ComponentView):
    def __init__(self, component: Component, host: Host) -> None:
        super().__init__(component, host)
        self.box = QCheckBox()
        self.outer.addWidget(self.box)
        self.box.setChecked(bool(host.session.state.values[component.id].get("value")))
        self.box.toggled.connect(lambda on: host.set_value(component.id, "value", on))
        self.finish()

    def update_body(self) -> None:
        self.box.setText(str(self.prop("label") or ""))


class DateView(ComponentView):
    def __init__(self, component: Component, host: Host) -> None:
        super().__init__(component, host)
        self.date = self.with_label(QDateEdit())
        self.date.setCalendarPopup(True)
        self.date.setDisplayFormat("yyyy-MM-dd")
        value = host.session.state.values[component.id].get("value")
        parsed = QDate.fromString(str(value or ""), Qt.DateFormat.ISODate)
        self.date.setDate(parsed if parsed.isValid() else QDate.currentDate())
        if not parsed.isValid():
            host.session.state.values[component.id]["value"] = \
                self.date.date().toString(Qt.DateFormat.ISODate)
        self.date.dateChanged.connect(lambda d: host.set_value(
            component.id, "value", d.toString(Qt.DateFormat.ISODate)))
        self.finish()

    def update_body(self) -> None:
        self.update_label()


class FileInputView(ComponentView):
    def __init__(self, component: Component, host: Host) -> None:
        super().__init__(component, host)
        self.button = QPushButton()
        self.outer.addWidget(self.button)
        self.button.clicked.connect(self._choose)
        self.finish()

    def _choose(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, str(self.prop("label") or "Choose a file"))
        if name:
            self.load(Path(name))

    def load(self, file: Path) -> None:
        data = file.read_bytes()
        self.button.setText(f"{file.name} ({len(data)} bytes)")
        self.host.set_value(self.component.id, "value", {
            "name": file.name, "size": len(data), "content": base64.b64encode(data).decode()})

    def update_body(self) -> None:
        value = self.host.session.state.values[self.component.id].get("value")
        if not value:
            self.button.setText(str(self.prop("label") or "Choose a file"))


class ButtonView(ComponentView):
    def __init__(self, component: Component, host: Host) -> None:
        super().__init__(component, host)
        self.button = QPushButton()
        self.button.setObjectName("appButton")
        self.outer.addWidget(self.button)
        self.button.clicked.connect(self.press)
        self.finish()

    def press(self) -> None:
        if self.component.runnable:
            self.host.run(self.component.runnable, None, self.component.id)

    def update_body(self) -> None:
        loading = bool(self.host.session.state.values[self.component.id].get("loading"))
        label = str(self.prop("label") or "Run")
        self.button.setText(f"{label}…" if loading else label)
        self.button.setEnabled(not loading and self.component.runnable is not None)
        self.button.setProperty("style", str(self.prop("style") or "primary"))


class FormView(ComponentView):
    """The runnable's arguments as a form (its schema); submit runs it with them."""

    def __init__(self, component: Component, host: Host) -> None:
        super().__init__(component, host)
        schema = host.schemas.get(component.runnable or "") if component.runnable else None
        self.note = QLabel("")
        self.note.setObjectName("muted")
        self.note.setWordWrap(True)
        if component.runnable is None:
            self.note.setText("This form runs nothing yet: pick its runnable in the builder.")
        elif schema is None:
            self.note.setText(f"No form for {component.runnable}: what it runs is not "
                              "deployed, or its code does not parse.")
        self.note.setVisible(bool(self.note.text()))
        self.outer.addWidget(self.note)
        self.form = SchemaForm(schema if schema is not None else {"properties": {}})
        self.form.setVisible(schema is not None)
        self.outer.addWidget(self.form, 1)
        self.submit = QPushButton()
        self.submit.setObjectName("appButton")
        self.outer.addWidget(self.submit)
        self.submit.clicked.connect(self.press)
        self.finish()

    def press(self) -> None:
        args = self.form.collect()
        if args is None or not self.component.runnable:
            return
        self.host.session.state.values[self.component.id]["values"] = args
        self.host.run(self.component.runnable, args, self.component.id)

    def update_body(self) -> None:
        loading = bool(self.host.session.state.values[self.component.id].get("loading"))
        label = str(self.prop("submit_label") or "Submit")
        self.submit.setText(f"{label}…" if loading else label)
        self.submit.setEnabled(not loading and self.component.runnable is not None)


def field_value(view: FormView, name: str) -> Any:
    """What a form field holds (for tests)."""
    return view.form.fields[name].value()
