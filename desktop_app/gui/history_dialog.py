"""A script's deployed versions, and a coloured diff between any two (or the editor)."""

from __future__ import annotations

import difflib
import html
from collections.abc import Callable
from datetime import datetime
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from desktop_app.client.http import ClientError, TidemillClient
from desktop_app.gui.code_editor import current_theme
from desktop_app.gui.tasks import spawn

EDITOR = "editor"  # the combo-box data of “the code in the editor now”
_COLOURS = {"light": {"add": "#e6ffec", "del": "#ffebe9", "hunk": "#ddf4ff", "text": "#1d2330"},
            "dark": {"add": "#1d3b26", "del": "#4a1f24", "hunk": "#1f3350", "text": "#e3e6eb"}}


def diff_lines(old: str, new: str, old_name: str, new_name: str) -> list[str]:
    return list(difflib.unified_diff(old.splitlines(), new.splitlines(), old_name, new_name,
                                     lineterm=""))


def diff_html(lines: list[str], theme: str) -> str:
    """The unified diff as HTML with added, removed and hunk lines on coloured backgrounds."""
    c = _COLOURS["dark" if theme == "dark" else "light"]
    if not lines:
        return "<p>The two versions have the same code.</p>"
    rows = []
    for line in lines:
        bg = (c["hunk"] if line.startswith("@@") else
              c["add"] if line.startswith("+") and not line.startswith("+++") else
              c["del"] if line.startswith("-") and not line.startswith("---") else None)
        style = f"background:{bg};" if bg else ""
        rows.append(f'<div style="{style}white-space:pre">{html.escape(line) or "&nbsp;"}</div>')
    return (f'<div style="font-family:monospace;color:{c["text"]}">' + "".join(rows) + "</div>")


def when_text(ts: str | None) -> str:
    if not ts:
        return ""
    try:
        return datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone().strftime(
            "%Y-%m-%d %H:%M")
    except ValueError:
        return ts


class HistoryDialog(QDialog):
    def __init__(self, client: TidemillClient, path: str, editor_code: str,
                 load_into_editor: Callable[[str], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.client, self.path, self.editor_code = client, path, editor_code
        self.load_into_editor = load_into_editor
        self.versions: list[dict[str, Any]] = []
        self._contents: dict[str, str] = {EDITOR: editor_code}
        self.lines: list[str] = []
        self.setWindowTitle(f"History of {path}")
        self.resize(900, 600)
        lay = QVBoxLayout(self)
        pick = QHBoxLayout()
        self.old = QComboBox()
        self.new = QComboBox()
        for combo in (self.old, self.new):
            combo.setMinimumWidth(300)
            combo.currentIndexChanged.connect(lambda _i: spawn(self.show_diff()))
        pick.addWidget(QLabel("Compare"))
        pick.addWidget(self.old, 1)
        pick.addWidget(QLabel("with"))
        pick.addWidget(self.new, 1)
        self.restore_button = QPushButton("Load the first into the editor")
        self.restore_button.setToolTip("Put the code of the version on the left in the editor "
                                       "(deploy to make it current)")
        self.restore_button.clicked.connect(self._restore)
        pick.addWidget(self.restore_button)
        self.status = QLabel("Loading versions…")
        self.status.setObjectName("muted")
        self.diff = QTextBrowser()
        lay.addLayout(pick)
        lay.addWidget(self.status)
        lay.addWidget(self.diff, 1)

    async def load(self) -> None:
        try:
            self.versions = await self.client.script_history(self.path)
        except ClientError as exc:
            self.status.setText(exc.message)
            return
        for combo in (self.old, self.new):
            combo.blockSignals(True)
            combo.clear()
            combo.addItem("Editor (unsaved code)", EDITOR)
            for v in self.versions:
                label = f"{v['script_hash'][:10]} · {when_text(v.get('created_at'))}"
                if v.get("deployment_msg"):
                    label += f" · {v['deployment_msg']}"
                combo.addItem(label, v["script_hash"])
            combo.blockSignals(False)
        n = len(self.versions)
        self.status.setText(f"{n} deployed version{'s' if n != 1 else ''}, newest first.")
        # by default: what changed in the latest deploy (or the editor against the only one)
        self.old.setCurrentIndex(2 if n >= 2 else 1)
        self.new.setCurrentIndex(1 if n >= 2 else 0)
        await self.show_diff()

    async def content_of(self, key: str) -> str:
        if key not in self._contents:
            script = await self.client.get_script_by_hash(key)
            self._contents[key] = script.get("content") or ""
        return self._contents[key]

    async def show_diff(self) -> list[str]:
        old_key, new_key = self.old.currentData(), self.new.currentData()
        if old_key is None or new_key is None:
            return []
        try:
            old, new = await self.content_of(old_key), await self.content_of(new_key)
        except ClientError as exc:
            self.status.setText(exc.message)
            return []
        self.lines = diff_lines(old, new, self.old.currentText(), self.new.currentText())
        self.diff.setHtml(diff_html(self.lines, current_theme()))
        return self.lines

    def _restore(self) -> None:
        key = self.old.currentData()
        if key in self._contents:
            self.load_into_editor(self._contents[key])
            self.accept()
