"""Pieces the list-and-editor views share (resources, variables, schedules, triggers).

Each of those views is a list on the left, with its buttons above it and an empty-state text
in its place while there is nothing to list, and an editor on the right that ends with a
status message and Save. Building them here keeps the views alike and each view short.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)


def top_items(tree: QTreeWidget) -> list[QTreeWidgetItem]:
    """The list's rows, in order (Qt's topLevelItem(i) may say None; these never do)."""
    items = (tree.topLevelItem(i) for i in range(tree.topLevelItemCount()))
    return [item for item in items if item is not None]


def message_label() -> QLabel:
    """A selectable, wrapping label for an editor's outcome ("Saved …", what to fix)."""
    label = QLabel("")
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def say(label: QLabel, text: str, ok: bool) -> None:
    """Show `text` in green (ok) or red; the style sheet keys on the object name."""
    label.setObjectName("statusOk" if ok else "statusErr")
    label.style().unpolish(label)
    label.style().polish(label)
    label.setText(text)


def empty_state(text: str) -> QLabel:
    """The centred text a list shows instead of itself while empty: what to do next."""
    label = QLabel(text)
    label.setObjectName("empty")
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(True)
    return label


def editor_footer(message: QLabel, save_button: QPushButton) -> QHBoxLayout:
    """The editor's last row: the outcome message, then Save on the right."""
    row = QHBoxLayout()
    row.addWidget(message, 1)
    row.addWidget(save_button)
    return row


def list_beside_editor(listing: QWidget, empty: QLabel, buttons: list[QPushButton],
                       editor: QWidget, sizes: list[int]) -> tuple[QStackedWidget, QSplitter]:
    """The list (or its empty state) under right-aligned buttons, beside the editor.

    Returns the stack that switches between `listing` and `empty`, and the splitter to lay out.
    """
    stack = QStackedWidget()
    stack.addWidget(listing)
    stack.addWidget(empty)
    left = QWidget()
    left_lay = QVBoxLayout(left)
    left_lay.setContentsMargins(0, 0, 0, 0)
    row = QHBoxLayout()
    row.addStretch(1)
    for button in buttons:
        row.addWidget(button)
    left_lay.addLayout(row)
    left_lay.addWidget(stack, 1)
    split = QSplitter(Qt.Orientation.Horizontal)
    split.addWidget(left)
    split.addWidget(editor)
    split.setSizes(sizes)
    split.setChildrenCollapsible(False)
    return stack, split


def json_object_or_say(text: str, what: str, example: str,
                       label: QLabel) -> dict[str, Any] | None:
    """`text` parsed as a JSON object; else None, with what is wrong said in `label`."""
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        say(label, f"{what} are not valid JSON: {exc.msg} (line {exc.lineno}).", False)
        return None
    if not isinstance(value, dict):
        say(label, f"{what} must be a JSON object, e.g. {example}.", False)
        return None
    return value
