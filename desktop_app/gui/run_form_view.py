"""A deployed script or flow as an operator sees it: what it does and its run form, no code.

Operators may run what they can read but not see or change its code (the API refuses them
`scripts/get` and `flows/get`), so this view is built from `get_form` alone: summary,
description and the argument schema. Run starts a job and hands its id to the window,
which shows it in the usual job view (result and live logs).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from desktop_app.client.http import ClientError, TidemillClient
from desktop_app.gui.schema_form import SchemaForm
from desktop_app.gui.tasks import spawn


class RunFormView(QWidget):
    def __init__(self, client: TidemillClient, open_job: Callable[[str], None]) -> None:
        super().__init__()
        self.client = client
        self.open_job = open_job
        self.kind = "script"
        self.path: str | None = None
        self.form: SchemaForm | None = None
        lay = QVBoxLayout(self)
        top = QHBoxLayout()
        self.title = QLabel("")
        self.title.setObjectName("heading")
        self.run_button = QPushButton("Run")
        self.run_button.setToolTip("Run it with these arguments and show the job")
        self.run_button.clicked.connect(lambda: spawn(self.run()))
        top.addWidget(self.title, 1)
        top.addWidget(self.run_button)
        lay.addLayout(top)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.description = QLabel("")
        self.description.setObjectName("muted")
        self.description.setWordWrap(True)
        self.status = QLabel("")
        self.status.setObjectName("fieldError")
        self.status.setWordWrap(True)
        lay.addWidget(self.summary)
        lay.addWidget(self.description)
        self.form_area = QScrollArea()
        self.form_area.setWidgetResizable(True)
        lay.addWidget(self.form_area, 1)
        lay.addWidget(self.status)

    async def load(self, kind: str, path: str) -> None:
        """Show the run form of the script or flow (`kind`) deployed at `path`."""
        self.kind, self.path = kind, path
        self.title.setText(path)
        self.status.setText("")
        try:
            info = await (self.client.get_flow_form(path) if kind == "flow"
                          else self.client.get_script_form(path))
        except ClientError as exc:
            self._set_form(None)
            self.run_button.setEnabled(False)
            self.status.setText(f"Could not open {path}: {exc.message}")
            return
        self.summary.setText(info.get("summary") or "")
        self.summary.setVisible(bool(info.get("summary")))
        self.description.setText(info.get("description") or "")
        self.description.setVisible(bool(info.get("description")))
        self._set_form(info.get("schema"))
        self.run_button.setEnabled(True)
        if self.form is not None:
            await self.form.load_resources()

    def _set_form(self, schema: dict[str, Any] | None) -> None:
        self.form = SchemaForm(schema, self.client) if schema is not None else None
        self.form_area.setWidget(self.form or QWidget())

    async def run(self) -> str | None:
        """Start a job with the form's values; the window then shows it. None when a field
        is wrong (the form says which) or the daemon refused."""
        if self.path is None or self.form is None:
            return None
        args = self.form.collect()
        if args is None:
            self.status.setText("Fix the fields marked in red, then press Run again.")
            return None
        self.status.setText("")
        try:
            job_id = await self.client.run_async(self.path, args, kind=self.kind)
        except ClientError as exc:
            hint = f" {exc.hint}" if exc.hint else ""
            self.status.setText(f"Could not run {self.path}: {exc.message}.{hint}")
            return None
        self.open_job(job_id)
        return job_id
