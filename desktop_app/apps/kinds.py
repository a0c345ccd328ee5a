"""The component kinds an app can hold: their default properties and what state they expose.

Each kind names the properties the renderer reads (with defaults for a new component) and
the state keys other components can bind to (``input1.value``, ``table1.selectedRow``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Kind:
    name: str
    label: str
    props: dict[str, Any]  # defaults for a new component
    state: tuple[str, ...] = ()  # keys under the component's id in the evaluation state
    size: tuple[int, int] = (4, 1)  # a new component's (w, h) in grid cells
    container: bool = False  # holds `children`
    runs: bool = False  # has a `runnable` to run (button, form)
    notes: dict[str, str] = field(default_factory=dict)  # property → what it means


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("text", "Text", {"text": "Text"}, size=(6, 1)),
    Kind("markdown", "Markdown", {"text": "# Title"}, size=(6, 2)),
    Kind("textinput", "Text input", {"label": "", "placeholder": "", "default": ""},
         state=("value",)),
    Kind("number", "Number", {"label": "", "default": 0, "min": None, "max": None, "step": 1},
         state=("value",)),
    Kind("select", "Select", {"label": "", "options": [], "default": None},
         state=("value",), notes={"options": "a list of strings or {label, value} objects"}),
    Kind("checkbox", "Checkbox", {"label": "", "default": False}, state=("value",)),
    Kind("date", "Date", {"label": "", "default": ""}, state=("value",),
         notes={"default": "YYYY-MM-DD"}),
    Kind("fileinput", "File upload", {"label": "Choose a file"}, state=("value",),
         notes={"value": "{name, size, content (base64)} once a file is chosen"}),
    Kind("button", "Button", {"label": "Run", "style": "primary"}, state=("loading",),
         size=(2, 1), runs=True),
    Kind("form", "Form", {"submit_label": "Submit"}, state=("values", "loading"),
         size=(4, 4), runs=True,
         notes={"runnable": "the fields are the runnable's script schema"}),
    Kind("table", "Table", {"data": [], "columns": None, "searchable": True, "sortable": True,
                            "selectable": True},
         state=("selectedRow", "selectedRowIndex", "search"), size=(8, 6)),
    Kind("chart", "Chart", {"kind": "bar", "data": [], "x": "", "y": "", "title": ""},
         size=(6, 6), notes={"kind": "line, bar or pie", "x": "the labels' key",
                             "y": "the values' key (or a list of keys)"}),
    Kind("json", "JSON viewer", {"data": None}, size=(4, 4)),
    Kind("image", "Image", {"source": "", "fit": "contain"}, size=(4, 4),
         notes={"source": "a URL, a data: URL or base64 PNG/JPEG"}),
    Kind("container", "Container", {"title": ""}, size=(12, 4), container=True),
    Kind("tabs", "Tabs", {"tabs": ["Tab 1", "Tab 2"]}, state=("selectedTab",), size=(12, 6),
         container=True, notes={"children": "each child's `tab` is the index of its tab"}),
    Kind("modal", "Modal", {"title": "Details", "button_label": "Open"}, state=("open",),
         size=(2, 1), container=True),
    Kind("drawer", "Drawer", {"title": "Details", "button_label": "Open"}, state=("open",),
         size=(2, 1), container=True),
)}

INPUT_KINDS = frozenset(k for k, v in KINDS.items() if "value" in v.state)
TRIGGERS = ("load", "change", "button")
RUNNABLE_TYPES = ("script", "flow", "inline")
CHART_KINDS = ("line", "bar", "pie")
GRID_COLUMNS = 12
# Properties with a fixed set of values (the builder offers them as a choice).
CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("chart", "kind"): CHART_KINDS, ("button", "style"): ("primary", "secondary", "danger"),
    ("image", "fit"): ("contain", "cover")}


def prop_schema(kind: str, name: str) -> dict[str, Any]:
    """The JSON Schema of a static property value (what editor the builder shows)."""
    choices = CHOICES.get((kind, name))
    if choices:
        return {"type": "string", "enum": list(choices)}
    default = KINDS[kind].props.get(name) if kind in KINDS else None
    if isinstance(default, bool):
        return {"type": "boolean"}
    if isinstance(default, (int, float)):
        return {"type": "number"}
    if isinstance(default, str):
        return {"type": "string"}
    return {}  # any JSON value
