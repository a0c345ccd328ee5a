"""The side panel for the selected step: summary, code, inputs, loop/branch settings,
retries, suspend, sleep, conditions, timeout, cache; its problems and its last result.

Every change becomes one undoable command (code edits once typing pauses), pushed through
the designer, which does not rebuild this panel for changes that came from it.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop_app.flowgraph.commands import (
    MISSING,
    AddBranch,
    Command,
    RemoveBranch,
    SetStepProperty,
)
from desktop_app.flowgraph.layout import step_title
from desktop_app.flowgraph.model import FlowDocument, step_value
from desktop_app.flowgraph.run_status import RunView
from desktop_app.gui.code_editor import CodeEditor
from desktop_app.gui.flow_designer.expr_edit import ExprEdit
from desktop_app.gui.flow_designer.items import STATE_TEXT
from desktop_app.gui.schema_form import FieldError, SchemaField, SchemaForm

LANGUAGES = ["python3", "bun", "deno", "bash", "go", "postgresql", "mysql", "nativets",
             "powershell", "php", "rust", "csharp", "nu", "graphql", "duckdb"]
CODE_PAUSE_MS = 600


class Host(Protocol):
    doc: FlowDocument
    run: RunView | None

    def push(self, command: Command, *, from_panel: bool = False) -> bool: ...
    def completion_names(self, step_id: str | None) -> list[str]: ...
    def schema_of(self, step: dict[str, Any]) -> dict[str, Any] | None: ...
    def problems_of(self, step_id: str) -> list[str]: ...
    def answer(self, step_id: str, approve: bool) -> None: ...
    def test(self, step_id: str) -> None: ...


def _empty(layout: QLayout) -> None:
    """Remove everything from `layout`, nested layouts' widgets included (taking a nested
    layout out alone would leave its widgets on the panel)."""
    while layout.count():
        item = layout.takeAt(0)
        if item is None:
            continue
        w = item.widget()
        if w is not None:
            w.hide()  # kept parented until deleted: never a window of its own
            w.deleteLater()
        inner = item.layout()
        if inner is not None:
            _empty(inner)
            inner.deleteLater()


def _muted(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("muted")
    label.setWordWrap(True)
    return label


class StepPanel(QWidget):
    def __init__(self, host: Host) -> None:
        super().__init__()
        self.host = host
        self.step_id: str | None = None
        self.lay = QVBoxLayout(self)
        self.lay.setContentsMargins(8, 8, 8, 8)
        self.code: CodeEditor | None = None
        self.inputs: dict[str, tuple[QComboBox, QWidget]] = {}
        self.widgets: dict[str, QWidget] = {}
        self.result_box: QPlainTextEdit | None = None
        self.status_label: QLabel | None = None
        self.approve_row: QWidget | None = None
        self.resume_form: SchemaForm | None = None
        self.problems_box: QWidget | None = None
        self.test_output: QPlainTextEdit | None = None
        self.test_status: QLabel | None = None
        self._committing = False
        self._code_timer = QTimer(self)
        self._code_timer.setSingleShot(True)
        self._code_timer.setInterval(CODE_PAUSE_MS)
        self._code_timer.timeout.connect(self.commit_code)
        self.show_step(None)

    # -- building ------------------------------------------------------------------------

    def clear(self) -> None:
        self.commit_code()
        _empty(self.lay)
        self.code, self.inputs, self.widgets = None, {}, {}
        self.problems_box = None
        self.result_box = self.status_label = self.approve_row = None
        self.resume_form = self.test_output = self.test_status = None

    def show_step(self, step_id: str | None) -> None:
        self.clear()
        self.step_id = step_id
        if step_id is None:
            self.lay.addWidget(_muted("Select a step to edit it, or press a “+” on an edge "
                                      "to insert one."))
            self.lay.addStretch(1)
            return
        step = self.host.doc.module(step_id)
        value = step_value(step)
        kind = str(value.get("type"))
        title, subtitle = step_title(step)
        heading = QLabel(title)
        heading.setObjectName("heading")
        heading.setWordWrap(True)
        self.lay.addWidget(heading)
        self.lay.addWidget(_muted(subtitle))
        self.problems_box = QWidget()
        self.problems_box.setObjectName("stepProblems")
        QVBoxLayout(self.problems_box).setContentsMargins(0, 0, 0, 0)
        self.lay.addWidget(self.problems_box)
        self.show_problems(self.host.problems_of(step_id))
        self._run_section(step_id)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.lay.addLayout(form)
        summary = QLineEdit(str(step.get("summary") or ""))
        summary.setPlaceholderText("what this step does")
        summary.editingFinished.connect(lambda: self.set(("summary",), summary.text() or MISSING))
        self.widgets["summary"] = summary
        form.addRow("Summary", summary)
        if kind == "rawscript":
            self._rawscript(form, value)
        elif kind in ("script", "flow"):
            path = QLineEdit(str(value.get("path") or ""))
            path.setPlaceholderText("f/folder/name")
            path.editingFinished.connect(lambda: self.set(("value", "path"), path.text()))
            self.widgets["path"] = path
            form.addRow("Script path" if kind == "script" else "Flow path", path)
        elif kind in ("forloopflow", "whileloopflow"):
            self._loop(form, value, kind)
        elif kind in ("branchone", "branchall"):
            self._branches(value, kind)
        if kind in ("rawscript", "script", "flow"):
            self._inputs(step)
        if kind in ("rawscript", "script"):
            self._test_section(step_id)
        self._options(step)
        self.lay.addStretch(1)

    def show_problems(self, problems: list[str]) -> None:
        box = getattr(self, "problems_box", None)
        if box is None:
            return
        lay = box.layout()
        _empty(lay)
        for p in problems:
            label = QLabel(f"⚠ {p}")
            label.setObjectName("fieldError")
            label.setWordWrap(True)
            lay.addWidget(label)
        box.setVisible(bool(problems))

    def _rawscript(self, form: QFormLayout, value: dict[str, Any]) -> None:
        language = QComboBox()
        language.addItems(LANGUAGES if value.get("language") in LANGUAGES
                          else [*LANGUAGES, str(value.get("language"))])
        language.setCurrentText(str(value.get("language")))
        language.currentTextChanged.connect(lambda t: self.set(("value", "language"), t))
        self.widgets["language"] = language
        form.addRow("Language", language)
        self.code = CodeEditor()
        self.code.setObjectName("stepCode")
        self.code.setPlainText(str(value.get("content") or ""))
        self.code.setMinimumHeight(180)
        self.code.textChanged.connect(self._code_timer.start)
        self.lay.addWidget(self.code, 2)

    def commit_code(self) -> None:
        self._code_timer.stop()
        if self.code is None or self.step_id is None or self.step_id not in self.host.doc.ids():
            return  # nothing typed, or the step is gone (deleted, undone)
        text = self.code.toPlainText()
        if self._committing or text == step_value(self.host.doc.module(self.step_id)).get(
                "content"):
            return
        self._committing = True  # pushing calls back here: commit once
        try:
            self.set(("value", "content"), text, refresh=True)
        finally:
            self._committing = False

    def _loop(self, form: QFormLayout, value: dict[str, Any], kind: str) -> None:
        if kind == "forloopflow":
            it = value.get("iterator") or {}
            iterator = ExprEdit(self.host.completion_names(self.step_id),
                                str(it.get("expr") or "") if isinstance(it, dict) else "")
            iterator.editingFinished.connect(lambda: self.set(
                ("value", "iterator"), {"type": "javascript", "expr": iterator.text()}))
            self.widgets["iterator"] = iterator
            form.addRow("Iterate over", iterator)
            parallel = QCheckBox("run iterations in parallel")
            parallel.setChecked(bool(value.get("parallel")))
            parallel.toggled.connect(lambda on: self.set(("value", "parallel"), on))
            self.widgets["parallel"] = parallel
            form.addRow("", parallel)
            width = QSpinBox()
            width.setRange(0, 1000)
            width.setSpecialValueText("all at once")
            p = value.get("parallelism")
            width.setValue(int(p.get("value") or 0) if isinstance(p, dict)
                           and p.get("type") == "static" else 0)
            width.valueChanged.connect(lambda n: self.set(
                ("value", "parallelism"), {"type": "static", "value": n} if n else MISSING))
            form.addRow("Parallelism", width)
        skip = QCheckBox("go on when an iteration fails")
        skip.setChecked(bool(value.get("skip_failures")))
        skip.toggled.connect(lambda on: self.set(("value", "skip_failures"), on))
        form.addRow("", skip)

    def _branches(self, value: dict[str, Any], kind: str) -> None:
        box = QGroupBox("Branches")
        lay = QVBoxLayout(box)
        names = self.host.completion_names(self.step_id)
        for index, branch in enumerate(value.get("branches") or []):
            row = QHBoxLayout()
            name = QLineEdit(str(branch.get("summary") or ""))
            name.setPlaceholderText(f"Branch {index + 1}")
            name.editingFinished.connect(
                lambda i=index, w=name: self.set(("value", "branches"),
                                                 self._branch_edit(i, "summary", w.text())))
            row.addWidget(name, 1)
            if kind == "branchone":
                cond = ExprEdit(names, str(branch.get("expr") or ""))
                cond.setObjectName(f"branchExpr{index}")
                cond.editingFinished.connect(
                    lambda i=index, w=cond: self.set(("value", "branches"),
                                                     self._branch_edit(i, "expr", w.text())))
                row.addWidget(cond, 2)
            else:
                skip = QCheckBox("may fail")
                skip.setChecked(bool(branch.get("skip_failure")))
                skip.toggled.connect(lambda on, i=index: self.set(
                    ("value", "branches"), self._branch_edit(i, "skip_failure", on)))
                row.addWidget(skip)
            remove = QPushButton("✕")
            remove.setToolTip("Remove this branch and its steps")
            remove.setFixedWidth(28)
            remove.clicked.connect(lambda _=False, i=index: self.push(
                RemoveBranch(str(self.step_id), i)))
            row.addWidget(remove)
            lay.addLayout(row)
        add = QPushButton("Add branch")
        add.clicked.connect(lambda: self.push(AddBranch(str(self.step_id))))
        lay.addWidget(add)
        if kind == "branchall":
            parallel = QCheckBox("run branches in parallel")
            parallel.setChecked(bool(value.get("parallel")))
            parallel.toggled.connect(lambda on: self.set(("value", "parallel"), on))
            lay.addWidget(parallel)
        else:
            lay.addWidget(_muted("The first branch whose condition is true runs; "
                                 "otherwise Default."))
        self.lay.addWidget(box)

    def _branch_edit(self, index: int, key: str, new: Any) -> list[dict[str, Any]]:
        branches = json.loads(json.dumps(
            step_value(self.host.doc.module(str(self.step_id))).get("branches") or []))
        branches[index][key] = new
        return branches

    def _inputs(self, step: dict[str, Any]) -> None:
        box = QGroupBox("Inputs")
        grid = QFormLayout(box)
        schema = self.host.schema_of(step) or {}
        props: dict[str, Any] = dict(schema.get("properties") or {})
        required = set(schema.get("required") or [])
        transforms = step_value(step).get("input_transforms") or {}
        names = list(props) + [n for n in transforms if n not in props]
        if not names:
            grid.addRow(_muted("This step takes no inputs." if schema else
                               "Inputs appear once the script's arguments are known."))
        completions = self.host.completion_names(self.step_id)
        for name in names:
            t = transforms.get(name) or {}
            prop = props.get(name) or {}
            row = QHBoxLayout()
            mode = QComboBox()
            mode.addItems(["static", "javascript"])
            mode.setCurrentText("javascript" if t.get("type") == "javascript" else "static")
            mode.setFixedWidth(100)
            editor = self._input_editor(name, prop, t, completions)
            row.addWidget(mode)
            row.addWidget(editor, 1)
            holder = QWidget()
            holder.setLayout(row)
            row.setContentsMargins(0, 0, 0, 0)
            label = f"{name} *" if name in required else name
            grid.addRow(label, holder)
            self.inputs[name] = (mode, editor)
            mode.currentTextChanged.connect(lambda _m, n=name: self._mode_changed(n))
        self.lay.addWidget(box)

    def _input_editor(self, name: str, prop: dict[str, Any], t: dict[str, Any],
                      completions: list[str]) -> QWidget:
        if t.get("type") == "javascript":
            edit = ExprEdit(completions, str(t.get("expr") or ""))
            edit.setObjectName(f"input_{name}")
            edit.editingFinished.connect(lambda: self.set_input(name, {
                "type": "javascript", "expr": edit.text()}))
            return edit
        current = t.get("value") if t.get("type") == "static" else prop.get("default")
        field = SchemaField(name, {**prop, "default": current}, False)
        widget = field.widget
        widget.setObjectName(f"input_{name}")
        widget.field = field

        def commit() -> None:
            try:
                value = field.value()
            except FieldError as exc:
                widget.setToolTip(str(exc))
                return
            self.set_input(name, {"type": "static", "value": value})
        for signal in ("editingFinished", "toggled", "currentTextChanged", "dateTimeChanged",
                       "dateChanged"):
            if hasattr(widget, signal):
                getattr(widget, signal).connect(lambda *_: commit())
        if isinstance(widget, QPlainTextEdit):  # JSON and multi-line text: once typing pauses
            pause = QTimer(widget)
            pause.setSingleShot(True)
            pause.setInterval(CODE_PAUSE_MS)
            pause.timeout.connect(commit)
            widget.textChanged.connect(pause.start)
        return widget

    def _mode_changed(self, name: str) -> None:
        mode, _editor = self.inputs[name]
        if mode.currentText() == "javascript":
            self.set_input(name, {"type": "javascript", "expr": ""}, refresh=True)
        else:
            self.set_input(name, {"type": "static", "value": None}, refresh=True)

    def set_input(self, name: str, transform: dict[str, Any], refresh: bool = False) -> None:
        self.set(("value", "input_transforms", name), transform, refresh=refresh)

    def _test_section(self, step_id: str) -> None:
        box = QGroupBox("Test this step")
        lay = QVBoxLayout(box)
        lay.addWidget(_muted("Runs only this step, its inputs taken from the Run tab's form "
                             "and the last run's results."))
        button = QPushButton("▶ Test step")
        button.setObjectName("testStep")
        button.clicked.connect(lambda: self.host.test(step_id))
        lay.addWidget(button)
        self.test_status = QLabel("")
        self.test_status.setWordWrap(True)
        lay.addWidget(self.test_status)
        self.test_output = QPlainTextEdit()
        self.test_output.setReadOnly(True)
        self.test_output.setMaximumHeight(90)
        self.test_output.setVisible(False)
        lay.addWidget(self.test_output)
        self.lay.addWidget(box)

    def show_test(self, ok: bool | None, text: str, output: str = "") -> None:
        if self.test_status is None or self.test_output is None:
            return
        self.test_status.setText(text)
        self.test_status.setObjectName("statusOk" if ok else "statusErr" if ok is False else "")
        self.test_status.setStyleSheet("")  # re-apply the object name's style
        self.test_output.setVisible(bool(output))
        self.test_output.setPlainText(output)

    def _options(self, step: dict[str, Any]) -> None:
        box = QGroupBox("Options")
        form = QFormLayout(box)
        retry = (step.get("retry") or {}).get("constant") or {}
        attempts, delay = QSpinBox(), QSpinBox()
        attempts.setRange(0, 100)
        attempts.setValue(int(retry.get("attempts") or 0))
        attempts.setSpecialValueText("no retries")
        delay.setRange(0, 86400)
        delay.setSuffix(" s between")
        delay.setValue(int(retry.get("seconds") or 0))

        def set_retry() -> None:
            self.set(("retry",), {"constant": {"attempts": attempts.value(),
                                               "seconds": delay.value()}}
                     if attempts.value() else MISSING)
        attempts.valueChanged.connect(lambda _n: set_retry())
        delay.valueChanged.connect(lambda _n: set_retry())
        row = QHBoxLayout()
        row.addWidget(attempts)
        row.addWidget(delay)
        form.addRow("Retries", row)
        suspend = step.get("suspend") or {}
        approvals, wait = QSpinBox(), QSpinBox()
        approvals.setRange(0, 50)
        approvals.setSpecialValueText("none")
        approvals.setValue(int(suspend.get("required_events") or 0))
        approvals.setObjectName("approvals")
        wait.setRange(0, 30 * 86400)
        wait.setSuffix(" s timeout")
        wait.setValue(int(suspend.get("timeout") or 0))

        def set_suspend() -> None:
            old = dict(self.host.doc.module(str(self.step_id)).get("suspend") or {})
            if not approvals.value():
                self.set(("suspend",), MISSING)
                return
            old.update(required_events=approvals.value())
            if wait.value():
                old["timeout"] = wait.value()
            else:
                old.pop("timeout", None)
            self.set(("suspend",), old)
        approvals.valueChanged.connect(lambda _n: set_suspend())
        wait.valueChanged.connect(lambda _n: set_suspend())
        row = QHBoxLayout()
        row.addWidget(approvals)
        row.addWidget(wait)
        form.addRow("Approvals after", row)
        self._seconds(form, step, "sleep", "Sleep after", "no sleep")
        self._seconds(form, step, "timeout", "Timeout", "none")
        cache = QSpinBox()
        cache.setRange(0, 30 * 86400)
        cache.setSpecialValueText("no cache")
        cache.setSuffix(" s")
        cache.setValue(int(step.get("cache_ttl") or 0))
        cache.valueChanged.connect(lambda n: self.set(("cache_ttl",), n or MISSING))
        form.addRow("Cache result", cache)
        names = self.host.completion_names(self.step_id)
        for key, label in (("skip_if", "Skip if"), ("stop_after_if", "Stop flow after if")):
            cond = step.get(key) or {}
            edit = ExprEdit(names, str(cond.get("expr") or ""))
            edit.setObjectName(key)
            edit.setPlaceholderText("a JavaScript condition" + (" (can use result)"
                                                                 if key == "stop_after_if" else ""))
            edit.editingFinished.connect(lambda k=key, e=edit: self.set(
                (k,), {**(self.host.doc.module(str(self.step_id)).get(k) or {}),
                       "expr": e.text()} if e.text().strip() else MISSING))
            form.addRow(label, edit)
        cont = QCheckBox("go on when this step fails")
        cont.setChecked(bool(step.get("continue_on_error")))
        cont.toggled.connect(lambda on: self.set(("continue_on_error",), on or MISSING))
        form.addRow("", cont)
        self.lay.addWidget(box)

    def _seconds(self, form: QFormLayout, step: dict[str, Any], key: str, label: str,
                 none: str) -> None:
        spin = QSpinBox()
        spin.setRange(0, 30 * 86400)
        spin.setSpecialValueText(none)
        spin.setSuffix(" s")
        t = step.get(key)
        if isinstance(t, dict) and t.get("type") == "static":
            spin.setValue(int(t.get("value") or 0))
        elif isinstance(t, int | float):
            spin.setValue(int(t))
        elif isinstance(t, dict):
            spin.setEnabled(False)
            spin.setToolTip(f"set by the expression {t.get('expr')!r} (edit it in the YAML)")
        spin.valueChanged.connect(lambda n: self.set((key,), {"type": "static", "value": n}
                                                     if n else MISSING))
        form.addRow(label, spin)

    def _run_section(self, step_id: str) -> None:
        run = self.host.run
        if run is None:
            return
        box = QGroupBox("Last run")
        lay = QVBoxLayout(box)
        state = run.states.get(step_id, "waiting")
        self.status_label = QLabel(STATE_TEXT.get(state, state))
        self.status_label.setObjectName(
            "statusOk" if state == "success" else "statusErr" if state == "failure" else "")
        lay.addWidget(self.status_label)
        if step_id in run.results:
            self.result_box = QPlainTextEdit(json.dumps(run.results[step_id], indent=2,
                                                        default=str))
            self.result_box.setReadOnly(True)
            self.result_box.setMaximumHeight(96)
            self.result_box.setObjectName("stepResult")
            lay.addWidget(self.result_box)
        if state == "suspended":
            schema = ((self.host.doc.module(step_id).get("suspend") or {}).get("resume_form")
                      or {}).get("schema")
            if isinstance(schema, dict) and schema.get("properties"):
                lay.addWidget(_muted("The approver's answer:"))
                self.resume_form = SchemaForm(schema)
                lay.addWidget(self.resume_form)
            self.approve_row = QWidget()
            row = QHBoxLayout(self.approve_row)
            row.setContentsMargins(0, 0, 0, 0)
            approve, reject = QPushButton("Approve"), QPushButton("Reject")
            approve.setObjectName("approve")
            reject.setObjectName("reject")
            approve.clicked.connect(lambda: self.host.answer(step_id, True))
            reject.clicked.connect(lambda: self.host.answer(step_id, False))
            row.addWidget(approve)
            row.addWidget(reject)
            lay.addWidget(self.approve_row)
        self.lay.addWidget(box)

    # -- committing ----------------------------------------------------------------------

    def set(self, keys: tuple[str, ...], value: Any, refresh: bool = False) -> None:
        if self.step_id is None:
            return
        current: Any = self.host.doc.module(self.step_id)
        for key in keys:
            current = current.get(key, MISSING) if isinstance(current, dict) else MISSING
        if current == value or (current is MISSING and value is MISSING):
            return
        self.host.push(SetStepProperty(self.step_id, keys, value), from_panel=not refresh)

    def push(self, command: Command) -> None:
        self.host.push(command)

