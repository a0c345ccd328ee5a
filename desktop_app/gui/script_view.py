"""A script: its code beside the form generated from its schema, and Run."""

from __future__ import annotations

import json
import re
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop_app.client.http import ClientError, TidemillClient
from desktop_app.gui.code_editor import CodeEditor
from desktop_app.gui.runs_view import monospace
from desktop_app.gui.schema_form import SchemaForm
from desktop_app.gui.tasks import spawn


class ScriptView(QWidget):
    def __init__(self, client: TidemillClient) -> None:
        super().__init__()
        self.client = client
        self.path: str | None = None
        self.form = SchemaForm(None)
        self.last_job_id: str | None = None
        lay = QVBoxLayout(self)
        self.title = QLabel("No script open")
        self.title.setObjectName("heading")
        self.summary = QLabel("Pick a script in “Scripts & flows” to see its code and form.")
        self.summary.setObjectName("muted")
        self.summary.setWordWrap(True)
        self.editor = CodeEditor()
        self.editor.setReadOnly(True)
        self.form_area = QScrollArea()
        self.form_area.setWidgetResizable(True)
        self.form_area.setWidget(self.form)
        self.run_button = QPushButton("Run")
        self.run_button.setShortcut("Ctrl+Return")
        self.run_button.setMinimumWidth(100)
        self.run_button.clicked.connect(lambda: spawn(self.run()))
        self.run_button.setEnabled(False)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.result = QPlainTextEdit(readOnly=True)
        self.result.setPlaceholderText("The result appears here after Run.")
        monospace(self.result)
        right = QWidget()
        rlay = QVBoxLayout(right)
        rlay.setContentsMargins(0, 0, 0, 0)
        form_title = QLabel("Arguments")
        form_title.setStyleSheet("font-weight: bold")
        rlay.addWidget(form_title)
        rlay.addWidget(self.form_area, 3)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.status, 1)
        rlay.addLayout(buttons)
        result_title = QLabel("Result")
        result_title.setStyleSheet("font-weight: bold")
        rlay.addWidget(result_title)
        rlay.addWidget(self.result, 2)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.editor)
        split.addWidget(right)
        split.setSizes([560, 520])
        lay.addWidget(self.title)
        lay.addWidget(self.summary)
        lay.addWidget(split, 1)

    async def load(self, path: str) -> None:
        script = await self.client.get_script(path)
        self.path = path
        self.title.setText(f"{path}  ·  {script.get('language', '')}")
        self.summary.setText(script.get("summary") or script.get("description")
                             or "No summary.")
        self.editor.setPlainText(script.get("content") or "")
        self.set_schema(_in_signature_order(script.get("schema"), script.get("content") or ""))
        self.result.clear()
        self.status.setText("")
        self.run_button.setEnabled(True)

    def set_schema(self, schema: dict[str, Any] | None) -> None:
        self.form = SchemaForm(schema)
        self.form_area.setWidget(self.form)

    async def run(self) -> None:
        """Validate the form, then run through run_wait and show the outcome."""
        if self.path is None:
            return
        args = self.form.collect()
        if args is None:
            self.status.setObjectName("statusErr")
            self._restyle("Fix the fields marked in red, then run again.")
            return
        self.run_button.setEnabled(False)
        self.status.setObjectName("muted")
        self._restyle("Running…")
        try:
            outcome = await self.client.run_wait(self.path, args)
        except ClientError as exc:
            self.form.show_server_error(exc.field, exc.message)
            self.status.setObjectName("statusErr")
            self._restyle(exc.message + (f" — {exc.hint}" if exc.hint else ""))
            return
        finally:
            self.run_button.setEnabled(True)
        self.last_job_id = outcome.job_id
        self.status.setObjectName("statusOk" if outcome.success else "statusErr")
        self._restyle(f"{'Succeeded' if outcome.success else 'Failed'} · job {outcome.job_id}")
        self.result.setPlainText(json.dumps(outcome.result, indent=2, default=str))

    def _restyle(self, text: str) -> None:
        self.status.setText(text)
        self.status.style().unpolish(self.status)
        self.status.style().polish(self.status)


def _in_signature_order(schema: dict[str, Any] | None, content: str) -> dict[str, Any] | None:
    """The schema with an `order` following the signature (the daemon's JSON keeps no order)."""
    if not schema or schema.get("order") or not schema.get("properties"):
        return schema
    start = max(content.find("main("), 0)

    def position(name: str) -> int:
        found = re.search(rf"\b{re.escape(name)}\b", content[start:])
        return found.start() if found else len(content)
    return {**schema, "order": sorted(schema["properties"], key=position)}
