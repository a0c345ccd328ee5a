"""A script: its code beside the form generated live from its signature; Test run, Deploy.

As the user types, the code is re-parsed through the daemon (debounced) and the form is
rebuilt, keeping what was typed in fields that still exist; a syntax error is shown under
the editor and the last good form stays. Test run (Ctrl+Enter) runs the editor's code as a
preview job with the form's values, streaming its logs; Deploy (Ctrl+S) asks for a summary
and a description. History lists the deployed versions and diffs any two.
"""

from __future__ import annotations

import asyncio
import difflib
import json
import re
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop_app.client.http import ClientError, TidemillClient
from desktop_app.gui.code_editor import CodePane
from desktop_app.gui.history_dialog import HistoryDialog, when_text
from desktop_app.gui.results_view import ResultView
from desktop_app.gui.runs_view import monospace
from desktop_app.gui.schema_form import SchemaForm
from desktop_app.gui.tasks import spawn

REPARSE_MS = 300

#: Languages a new script can be written in, with the code it starts from.
TEMPLATES: dict[str, str] = {
    "python3": 'def main(name: str = "world", times: int = 1):\n'
               '    for _ in range(times):\n        print(f"hello {name}")\n'
               '    return {"greeting": f"hello {name}"}\n',
    "deno": 'export async function main(name: string = "world", times: number = 1) {\n'
            '  for (let i = 0; i < times; i++) console.log(`hello ${name}`);\n'
            '  return { greeting: `hello ${name}` };\n}\n',
    "bun": 'export async function main(name: string = "world") {\n'
           '  return { greeting: `hello ${name}` };\n}\n',
    "bash": 'name="${1:-world}"\necho "hello $name"\n',
    "go": 'package inner\n\nimport "fmt"\n\nfunc main(name string) (interface{}, error) {\n'
          '\tfmt.Println("hello", name)\n\treturn map[string]string{"greeting": "hello " + name}, nil\n}\n',
    "postgresql": "-- $1 name\nSELECT 'hello ' || $1::text AS greeting;\n",
    "duckdb": "-- $name (text) = world\nSELECT 'hello ' || $name AS greeting;\n",
    "mysql": "-- :name (text) = world\nSELECT CONCAT('hello ', :name) AS greeting;\n",
    "nativets": 'export async function main(url: string) {\n'
                '  const r = await fetch(url);\n  return await r.text();\n}\n',
}
_PATH = re.compile(r"^(u|f)/[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]*[A-Za-z0-9_-]$")


def path_problem(path: str) -> str | None:
    """Why `path` cannot name a script, or None when it can."""
    if not path:
        return "give the script a path, e.g. f/folder/name"
    if not _PATH.match(path):
        return "a path looks like f/folder/name or u/user/name (letters, digits, _ - .)"
    return None


FORM_PANE_HEIGHT = 330  # the arguments pane, unless the form needs less

class NewScriptDialog(QDialog):
    """Path and language of a new script."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New script")
        lay = QFormLayout(self)
        self.path = QLineEdit()
        self.path.setPlaceholderText("f/folder/name")
        self.language = QComboBox()
        self.language.addItems(list(TEMPLATES))
        self.error = QLabel("")
        self.error.setObjectName("fieldError")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._check)
        buttons.rejected.connect(self.reject)
        lay.addRow("Path", self.path)
        lay.addRow("Language", self.language)
        lay.addRow(self.error)
        lay.addRow(buttons)

    def _check(self) -> None:
        problem = path_problem(self.path.text().strip())
        self.error.setText(problem or "")
        if problem is None:
            self.accept()


class DeployDialog(QDialog):
    """Summary and description of the version about to be deployed."""

    def __init__(self, path: str, summary: str, description: str,
                 parent: QWidget | None = None, *, changes: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Deploy {path}")
        self.setMinimumWidth(460)
        lay = QFormLayout(self)
        self.changes = QLabel(changes)
        self.changes.setObjectName("muted")
        lay.addRow(self.changes)
        self.summary = QLineEdit(summary)
        self.summary.setPlaceholderText("What the script does, in a few words")
        self.description = QPlainTextEdit(description)
        self.description.setPlaceholderText("Optional: details, what changed in this version")
        self.description.setFixedHeight(100)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.deploy_button = buttons.addButton("Deploy", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addRow("Summary", self.summary)
        lay.addRow("Description", self.description)
        lay.addRow(buttons)


class ScriptView(QWidget):
    def __init__(self, client: TidemillClient) -> None:
        super().__init__()
        self.client = client
        self.path: str | None = None
        self.language: str | None = None
        self.schema: dict[str, Any] | None = None
        self.summary_text = ""
        self.description_text = ""
        self.deployed_content: str | None = None
        self.last_job_id: str | None = None
        self.running_job: str | None = None
        self.on_deployed: Callable[[str], None] | None = None
        self._parse_generation = 0
        self._opened = 0  # bumped when another script (or a new one) is opened
        self.form = SchemaForm(None, client)

        lay = QVBoxLayout(self)
        head = QHBoxLayout()
        titles = QVBoxLayout()
        self.title = QLabel("No script open")
        self.title.setObjectName("heading")
        self.summary = QLabel("Pick a script in “Scripts & flows”, or create one there with "
                              "“New script…”.")
        self.summary.setObjectName("muted")
        self.summary.setWordWrap(True)
        titles.addWidget(self.title)
        titles.addWidget(self.summary)
        head.addLayout(titles, 1)
        self.history_button = QPushButton("History")
        self.history_button.setToolTip("Deployed versions and the changes between them")
        self.history_button.clicked.connect(self.open_history)
        self.deploy_button = QPushButton("Deploy")
        self.deploy_button.setToolTip("Deploy this code as a new version (Ctrl+S)")
        self.deploy_button.clicked.connect(lambda: self.open_deploy_dialog())
        for b in (self.history_button, self.deploy_button):
            b.setEnabled(False)
            head.addWidget(b, 0, Qt.AlignmentFlag.AlignTop)
        lay.addLayout(head)

        # left: the code and the parse status under it
        self.code = CodePane()
        self.editor = self.code.editor
        self.editor.setPlaceholderText("The script's code")
        self.parse_status = QLabel("")
        self.parse_status.setObjectName("fieldError")
        self.parse_status.setWordWrap(True)
        self.parse_status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.parse_status.setVisible(False)
        left = QWidget()
        llay = QVBoxLayout(left)
        llay.setContentsMargins(0, 0, 0, 0)
        llay.addWidget(self.code, 1)
        llay.addWidget(self.parse_status)

        # right: the form, Test run, the result and the logs
        self.form_area = QScrollArea()
        self.form_area.setWidgetResizable(True)
        self.form_area.setWidget(self.form)
        self.run_button = QPushButton("▶  Test run")
        self.run_button.setToolTip("Run the code in the editor with these arguments (Ctrl+Enter)")
        self.run_button.setMinimumWidth(120)
        self.run_button.clicked.connect(lambda: spawn(self.test_run()))
        self.run_button.setEnabled(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(lambda: spawn(self.cancel()))
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result = ResultView()
        self.logs = QPlainTextEdit(readOnly=True)
        self.logs.setPlaceholderText("The run's output appears here as it is printed.")
        self.logs.setMaximumBlockCount(100_000)
        monospace(self.logs)
        form_box = QWidget()
        flay = QVBoxLayout(form_box)
        flay.setContentsMargins(0, 0, 0, 0)
        flay.addWidget(_bold("Arguments"))
        flay.addWidget(self.form_area, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.status, 1)
        flay.addLayout(buttons)
        result_box = QWidget()
        rlay = QVBoxLayout(result_box)
        rlay.setContentsMargins(0, 0, 0, 0)
        rlay.addWidget(_bold("Result"))
        rlay.addWidget(self.result, 1)
        logs_box = QWidget()
        glay = QVBoxLayout(logs_box)
        glay.setContentsMargins(0, 0, 0, 0)
        glay.addWidget(_bold("Logs"))
        glay.addWidget(self.logs, 1)
        self.right = right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(form_box)
        right.addWidget(result_box)
        right.addWidget(logs_box)
        right.setSizes([FORM_PANE_HEIGHT, 220, 120])
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setSizes([560, 520])
        lay.addWidget(split, 1)

        self._reparse_timer = QTimer(self)
        self._reparse_timer.setSingleShot(True)
        self._reparse_timer.setInterval(REPARSE_MS)
        self._reparse_timer.timeout.connect(lambda: spawn(self.reparse()))
        self.editor.textChanged.connect(self._code_changed)
        ctx = Qt.ShortcutContext.WidgetWithChildrenShortcut
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self, lambda: spawn(self.test_run()), context=ctx)
        QShortcut(QKeySequence.StandardKey.Save, self, lambda: self.open_deploy_dialog(),
                  context=ctx)

    # -- opening ---------------------------------------------------------------------------
    async def load(self, path: str) -> None:
        script = await self.client.get_script(path)
        self.path = path
        self.language = script.get("language")
        self.summary_text = script.get("summary") or ""
        self.description_text = script.get("description") or ""
        self.deployed_content = script.get("content") or ""
        self._open(self.deployed_content,
                   _in_signature_order(script.get("schema"), self.deployed_content))
        self._show_heading()
        await self.form.load_resources()
        await self.show_last_run()

    async def show_last_run(self) -> None:
        """The script's latest finished run: its result, logs, and its arguments in the form."""
        if not self.path:
            return
        try:
            jobs = await self.client.list_jobs(script_path_exact=self.path, running=False,
                                               per_page=5)
            done = [j for j in jobs if j.get("type") == "CompletedJob"]
            if not done:
                return
            job = await self.client.get_job(done[0]["id"])
        except ClientError:
            return  # the script is open all the same; its last run is a nicety
        for name, value in (job.get("args") or {}).items():
            if name in self.form.fields:
                self.form.fields[name].editor.set_value(value)
        success = bool(job.get("success"))
        self.result.show_result(job.get("result"), success, self.editor.toPlainText(),
                                job.get("result_columns"))
        if not success and self.deployed_content == self.editor.toPlainText():
            self.editor.mark_error_line(self.result.error_line_number)
        self.logs.setPlainText(job.get("logs") or "")
        self.last_job_id = job["id"]
        self._set_status(f"Last run {'succeeded' if success else 'failed'} · "
                         f"{when_text(job.get('started_at'))}", "statusOk" if success else "statusErr")
        self.status.setToolTip(f"job {job['id']}")

    def new_script(self, path: str, language: str) -> None:
        """Start a script that is not deployed yet, from the language's template."""
        self.path, self.language = path, language
        self.summary_text = self.description_text = ""
        self.deployed_content = None
        self._open(TEMPLATES.get(language, ""), None)
        self._show_heading()
        self._reparse_timer.start(0)

    def _open(self, content: str, schema: dict[str, Any] | None) -> None:
        # what is still under way for the script shown before must not land on this one
        self._opened += 1
        self._parse_generation += 1
        self._reparse_timer.stop()
        self.running_job = None
        self.cancel_button.setVisible(False)
        self.editor.set_language(self.language)
        self.editor.blockSignals(True)
        self.editor.setPlainText(content)
        self.editor.blockSignals(False)
        self.editor.document().setModified(False)
        self.opened_text = content  # what "unsaved changes" compares against
        self.editor.moveCursor(self.editor.textCursor().MoveOperation.Start)
        self.schema = schema
        self._set_form(schema, keep_values=False)
        self.parse_status.setVisible(False)
        self.result.clear()
        self.logs.clear()
        self.editor.mark_error_line(None)
        self._set_status("", "muted")
        self.last_job_id = None
        for b in (self.run_button, self.deploy_button):
            b.setEnabled(True)
        self.history_button.setEnabled(self.deployed_content is not None)

    def has_unsaved_changes(self) -> bool:
        """The code differs from the deployed version (or, for a new script, from the
        template it started from): leaving would lose it."""
        text = self.editor.toPlainText()
        base = self.deployed_content if self.deployed_content is not None else \
            getattr(self, "opened_text", "")
        return bool(self.path) and text != base

    def forget_changes(self) -> None:
        """The user chose to discard the edits: nothing to warn about any more."""
        self.opened_text = self.editor.toPlainText()
        if self.deployed_content is not None:
            self._open(self.deployed_content, self.schema)

    def _show_heading(self) -> None:
        if self.deployed_content is None:
            state = "  ·  not deployed yet"
        elif self.editor.toPlainText() != self.deployed_content:
            state = "  ·  ● changed, not deployed"
        else:
            state = ""
        self.title.setText(f"{self.path}  ·  {self.language or ''}{state}")
        self.summary.setText(self.summary_text or self.description_text or
                             ("No summary: add one when you deploy (Ctrl+S)."
                              if self.deployed_content is not None else
                              "Write the code; the form follows its signature. "
                              "Test run with Ctrl+Enter, deploy with Ctrl+S."))

    # -- the live form -----------------------------------------------------------------------
    def _code_changed(self) -> None:
        if self.path and self.deployed_content is not None:
            self._show_heading()
        if self.editor.error_line is not None:
            self.editor.mark_error_line(None)  # the code it pointed at has changed
        if self.language:
            self._reparse_timer.start()

    async def reparse(self) -> None:
        """Ask the daemon for the schema of the code as it is now; rebuild the form."""
        if not self.language:
            return
        self._parse_generation += 1
        generation = self._parse_generation
        content = self.editor.toPlainText()
        try:
            # `order` is ours (recomputed below), not something to merge over
            previous = {k: v for k, v in (self.schema or {}).items() if k != "order"} or None
            meta = await self.client.parse_schema(content, self.language, previous)
        except ClientError as exc:
            if generation != self._parse_generation:
                return
            if exc.status == 400:
                line = (exc.body or {}).get("error", {}).get("line") if isinstance(
                    exc.body, dict) else None
                where = f"Line {line}: " if line else ""
                if isinstance(line, int):
                    self.editor.mark_error_line(line)
                self.parse_status.setText(f"⚠  {where}{exc.message} — the form shows the last "
                                          "signature that parsed.")
            else:
                self.parse_status.setText(f"⚠  {exc.message}")
            self.parse_status.setVisible(True)
            return
        if generation != self._parse_generation:
            return  # the user typed again meanwhile; a newer parse is on its way
        self.parse_status.setVisible(False)
        schema = _in_signature_order(meta["schema"], content)
        if json.dumps(schema, sort_keys=True) != json.dumps(self.schema, sort_keys=True):
            self.schema = schema
            self._set_form(schema, keep_values=True)
            await self.form.load_resources()

    def _set_form(self, schema: dict[str, Any] | None, keep_values: bool) -> None:
        typed = self.form.snapshot() if keep_values else {}
        self.form = SchemaForm(schema, self.client)
        self.form.restore(typed)
        self.form_area.setWidget(self.form)
        self._fit_form_pane()

    def _fit_form_pane(self) -> None:
        """A short form gives the height it does not need to the result (a traceback or a
        table wants it); a longer one takes it back, up to the usual height."""
        sizes = self.right.sizes()
        if sum(sizes) == 0:
            return
        # the caption and the Test run row around the form take ~70 px
        wanted = min(FORM_PANE_HEIGHT, self.form.sizeHint().height() + 70)
        moved = sizes[0] - wanted
        if moved and sizes[1] + moved >= 120:
            self.right.setSizes([wanted, sizes[1] + moved, *sizes[2:]])

    # -- test run ----------------------------------------------------------------------------
    async def test_run(self) -> str | None:
        """Validate the form, then run the editor's code and follow its logs to the result."""
        if not self.language or self.running_job:
            return None
        args = self.form.collect()
        if args is None:
            self._set_status("Fix the fields marked in red, then run again.", "statusErr")
            return None
        content = self.editor.toPlainText()
        self.logs.clear()
        self.result.show_message("Running…")
        self._set_status("Starting…", "muted")
        self.run_button.setEnabled(False)
        try:
            job_id = await self.client.run_preview_async(content, self.language, args, self.path)
        except ClientError as exc:
            self.form.show_server_error(exc.field, exc.message)
            self._set_status(exc.message + (f" — {exc.hint}" if exc.hint else ""), "statusErr")
            self.result.clear()
            self.run_button.setEnabled(True)
            return None
        self.last_job_id = self.running_job = job_id
        self.cancel_button.setVisible(True)
        self._set_status(f"Running · job {job_id}", "muted")
        opened = self._opened
        try:
            job = await self._follow(job_id, opened)
        except ClientError as exc:
            if opened == self._opened:
                self._set_status(f"Lost the job's updates: {exc.message}", "statusErr")
            return job_id
        finally:
            if opened == self._opened:
                self.running_job = None
                self.cancel_button.setVisible(False)
                self.run_button.setEnabled(True)
        if opened != self._opened:
            return job_id  # another script is shown now; the job is in Runs
        success = bool(job.get("success"))
        took = job.get("duration_ms")
        took_text = f" in {took} ms" if isinstance(took, int) else ""
        self._set_status(f"{'Succeeded' if success else 'Failed'}{took_text} · job {job_id[:8]}…",
                         "statusOk" if success else "statusErr")
        self.status.setToolTip(f"job {job_id}")
        self.result.show_result(job.get("result"), success, content, job.get("result_columns"))
        self.editor.mark_error_line(self.result.error_line_number if not success else None)
        return job_id

    async def _follow(self, job_id: str, opened: int) -> dict[str, Any]:
        job: dict[str, Any] = {}
        # Read to the end even when another script was opened meanwhile (its updates are
        # then dropped): leaving a streamed response half-read upsets httpx.
        async for update in self.client.job_updates(job_id):
            if opened != self._opened:
                continue
            if update.get("new_logs"):
                await self._append_logs(update["new_logs"])
            if update.get("completed"):
                job = update.get("job") or {}
        if not job:
            job = await self.client.get_job(job_id)
        return job

    async def _append_logs(self, text: str, lines_per_turn: int = 1000) -> None:
        """Append in slices, letting the loop run between them: a burst of output never
        holds the window for long."""
        lines = text.splitlines(keepends=True)
        for start in range(0, len(lines), lines_per_turn):
            self.logs.moveCursor(self.logs.textCursor().MoveOperation.End)
            self.logs.insertPlainText("".join(lines[start:start + lines_per_turn]))
            self.logs.ensureCursorVisible()
            if start + lines_per_turn < len(lines):
                await asyncio.sleep(0)

    async def cancel(self) -> None:
        if self.running_job:
            try:
                await self.client.cancel(self.running_job, "canceled from the editor")
            except ClientError as exc:
                self._set_status(exc.message, "statusErr")

    # -- deploy and history ------------------------------------------------------------------
    def open_deploy_dialog(self) -> DeployDialog | None:
        if not self.path or not self.language:
            return None
        self.deploy_dialog = DeployDialog(self.path, self.summary_text, self.description_text,
                                          self, changes=change_summary(
                                              self.deployed_content, self.editor.toPlainText()))
        self.deploy_dialog.accepted.connect(lambda: spawn(self.deploy(
            self.deploy_dialog.summary.text().strip(),
            self.deploy_dialog.description.toPlainText().strip())))
        self.deploy_dialog.open()
        return self.deploy_dialog

    async def deploy(self, summary: str, description: str) -> str | None:
        if not self.path or not self.language:
            return None
        content = self.editor.toPlainText()
        self._set_status("Deploying…", "muted")
        try:
            # The schema is re-inferred over the one shown, so what the deployed schema had
            # beyond the signature (argument descriptions, min/max…) is kept.
            previous = {k: v for k, v in (self.schema or {}).items() if k != "order"} or None
            schema = (await self.client.parse_schema(content, self.language, previous))["schema"]
            hash_ = await self.client.deploy_script(self.path, content, self.language,
                                                    summary=summary, description=description,
                                                    schema=schema)
        except ClientError as exc:
            self._set_status("Not deployed: " + exc.message
                             + (f" — {exc.hint}" if exc.hint else ""), "statusErr")
            return None
        self.summary_text, self.description_text = summary, description
        self.deployed_content = content
        self.editor.document().setModified(False)
        self.history_button.setEnabled(True)
        self._show_heading()
        self._set_status(f"Deployed {self.path} · version {hash_}", "statusOk")
        if self.on_deployed:
            self.on_deployed(self.path)
        return hash_

    def open_history(self) -> HistoryDialog | None:
        if not self.path:
            return None
        self.history_dialog = HistoryDialog(self.client, self.path, self.editor.toPlainText(),
                                            self._load_version, self)
        self.history_dialog.open()
        spawn(self.history_dialog.load())
        return self.history_dialog

    def _load_version(self, content: str) -> None:
        self.editor.setPlainText(content)  # re-parsed like any edit

    def _set_status(self, text: str, style: str) -> None:
        self.status.setObjectName(style)
        self.status.setText(text)
        self.status.style().unpolish(self.status)
        self.status.style().polish(self.status)


def change_summary(deployed: str | None, code: str) -> str:
    """“+3 -1 lines since the deployed version”, in words a user reads before deploying."""
    if deployed is None:
        return "The first version of this script."
    added = removed = 0
    for line in difflib.unified_diff(deployed.splitlines(), code.splitlines(), lineterm="", n=0):
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    if not added and not removed:
        return "Same code as the deployed version (the summary and description can change)."
    return f"+{added} -{removed} lines since the deployed version."


def _bold(text: str) -> QLabel:
    label = QLabel(text)
    label.setStyleSheet("font-weight: bold")
    return label


def _in_signature_order(schema: dict[str, Any] | None, content: str) -> dict[str, Any] | None:
    """The schema with an `order` following the signature (the daemon's JSON keeps no order)."""
    if not schema or schema.get("order") or not schema.get("properties"):
        return schema
    start = max(content.find("main("), 0)

    def position(name: str) -> int:
        found = re.search(rf"\b{re.escape(name)}\b", content[start:])
        return found.start() if found else len(content)
    return {**schema, "order": sorted(schema["properties"], key=position)}
