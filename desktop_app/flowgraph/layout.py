"""Automatic layout of a flow: node rectangles, edges and "+" points from the step tree.

A pure function of the flow. Every list of steps is a column: a gap (holding an edge and
its "+" point) before each step and after the last, so a line runs straight through it.
Loops are frames around their body; branch steps are frames whose columns stand side by
side under a fork bus and meet again at a join bus. Containers are sized from what they
hold, so nothing overlaps and edges only run vertically in columns or along the buses.
The error handler (and preprocessor) stand beside the input node, on its row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from desktop_app.flowgraph.model import TOP, FlowDocument, ListRef, step_value

__all__ = ["Layout", "Rect", "layout", "step_title"]

NODE_W, NODE_H = 250.0, 54.0
INPUT_H = 54.0
GAP = 46.0          # between steps: the edge and its "+"
PAD = 18.0          # inside container frames
HEADER = 50.0       # a container's own title band
LABEL_H = 26.0      # a branch's label
LABEL_MIN_W = 150.0
BUS = 22.0          # fork and join buses of a branch step
COL_GAP = 26.0
SIDE_GAP = 70.0     # main column to the error handler
MARGIN = 30.0


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    def overlaps(self, other: Rect) -> bool:
        return (self.x < other.right and other.x < self.right
                and self.y < other.bottom and other.y < self.bottom)

    def contains(self, other: Rect) -> bool:
        return (self.x <= other.x and self.y <= other.y and other.right <= self.right
                and other.bottom <= self.bottom)


@dataclass
class Node:
    key: str             # the step id, or "input", "result"
    kind: str            # input | result | step | loop | branch | failure | preprocessor
    rect: Rect
    title: str
    subtitle: str = ""
    step_id: str | None = None
    depth: int = 0       # how many containers enclose it
    header: Rect | None = None  # containers: their title band


@dataclass
class Label:
    text: str
    rect: Rect
    owner: str
    branch: int | None  # None: a branchone's default


@dataclass
class InsertPoint:
    ref: ListRef
    index: int
    x: float
    y: float


@dataclass
class Layout:
    nodes: list[Node] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    edges: list[list[tuple[float, float]]] = field(default_factory=list)
    inserts: list[InsertPoint] = field(default_factory=list)
    width: float = 0.0
    height: float = 0.0

    def node(self, key: str) -> Node:
        for n in self.nodes:
            if n.key == key:
                return n
        raise KeyError(key)


_TYPE_NAMES = {"rawscript": "Inline script", "script": "Script", "flow": "Subflow",
               "forloopflow": "For loop", "whileloopflow": "While loop",
               "branchone": "Branch to one", "branchall": "Branch to all",
               "identity": "Identity", "aiagent": "AI agent"}


def step_title(step: dict[str, Any]) -> tuple[str, str]:
    """(title, subtitle) of a step's node: its summary or what it runs; its id and kind."""
    value = step_value(step)
    kind = str(value.get("type"))
    summary = step.get("summary")
    if step.get("suspend") and kind == "identity":
        default = "Approval"
    elif kind in ("script", "flow"):
        default = str(value.get("path") or _TYPE_NAMES[kind])
    elif kind == "forloopflow":
        it = value.get("iterator") or {}
        expr = it.get("expr") if isinstance(it, dict) else None
        default = f"For each in {expr}" if expr else "For loop"
    else:
        default = _TYPE_NAMES.get(kind, kind)
    detail = value.get("language") if kind == "rawscript" else _TYPE_NAMES.get(kind, kind)
    if kind == "forloopflow" and value.get("parallel"):
        detail = "for loop · parallel"
    return (str(summary) if summary else default), f"{step.get('id')} · {detail}"


def _is_container(step: dict[str, Any]) -> str | None:
    kind = step_value(step).get("type")
    if kind in ("forloopflow", "whileloopflow"):
        return "loop"
    if kind in ("branchone", "branchall"):
        return "branch"
    return None


def _columns(step: dict[str, Any]) -> list[tuple[ListRef, list[Any], str, int | None]]:
    """A branch step's columns: (list, steps, label, branch index or None for default)."""
    value = step["value"]
    sid = str(step.get("id"))
    out: list[tuple[ListRef, list[Any], str, int | None]] = []
    for index, branch in enumerate(value.get("branches") or []):
        if not isinstance(branch, dict):
            continue
        name = branch.get("summary") or f"Branch {index + 1}"
        if value["type"] == "branchone" and branch.get("expr"):
            name = f"{name}: {branch['expr']}"
        out.append((ListRef(sid, "branches", index), branch.get("modules") or [], str(name),
                    index))
    if value["type"] == "branchone":
        out.append((ListRef(sid, "default"), value.get("default") or [], "Default", None))
    return out


class _Placer:
    def __init__(self) -> None:
        self.out = Layout()
        self._sizes: dict[int, tuple[float, float]] = {}

    # -- measuring -----------------------------------------------------------------------

    def seq_size(self, steps: list[Any]) -> tuple[float, float]:
        w, h = NODE_W, GAP
        for step in steps:
            if isinstance(step, dict):
                sw, sh = self.size(step)
                w, h = max(w, sw), h + sh + GAP
        return w, h

    def size(self, step: dict[str, Any]) -> tuple[float, float]:
        key = id(step)
        if key not in self._sizes:
            self._sizes[key] = self._measure(step)
        return self._sizes[key]

    def _measure(self, step: dict[str, Any]) -> tuple[float, float]:
        kind = _is_container(step)
        if kind == "loop":
            bw, bh = self.seq_size(step["value"].get("modules") or [])
            return max(NODE_W, bw) + 2 * PAD, HEADER + bh + PAD
        if kind == "branch":
            cols = [self.seq_size(steps) for _r, steps, _l, _b in _columns(step)]
            inner_w = sum(max(w, LABEL_MIN_W) for w, _h in cols) + COL_GAP * max(0, len(cols) - 1)
            inner_h = max((h for _w, h in cols), default=GAP)
            return (max(NODE_W, inner_w) + 2 * PAD,
                    HEADER + BUS + LABEL_H + inner_h + BUS + PAD)
        return NODE_W, NODE_H

    # -- placing -------------------------------------------------------------------------

    def seq(self, steps: list[Any], ref: ListRef, cx: float, y: float, depth: int) -> float:
        """Place a column centred on `cx` from `y`; its bottom."""
        index = 0
        for step in steps:
            if not isinstance(step, dict):
                continue
            self.gap(ref, index, cx, y)
            y = self.step(step, cx, y + GAP, depth)
            index += 1
        self.gap(ref, index, cx, y)
        return y + GAP

    def gap(self, ref: ListRef, index: int, cx: float, y: float) -> None:
        self.out.edges.append([(cx, y), (cx, y + GAP)])
        self.out.inserts.append(InsertPoint(ref, index, cx, y + GAP / 2))

    def step(self, step: dict[str, Any], cx: float, y: float, depth: int) -> float:
        w, h = self.size(step)
        rect = Rect(cx - w / 2, y, w, h)
        sid = str(step.get("id"))
        title, subtitle = step_title(step)
        kind = _is_container(step)
        if kind is None:
            self.out.nodes.append(Node(sid, "step", rect, title, subtitle, sid, depth))
            return rect.bottom
        header = Rect(rect.x, rect.y, rect.w, HEADER)
        self.out.nodes.append(Node(sid, kind, rect, title, subtitle, sid, depth, header))
        if kind == "loop":
            bottom = self.seq(step["value"].get("modules") or [], ListRef(sid, "modules"),
                              cx, y + HEADER, depth + 1)
            self.out.edges.append([(cx, bottom), (cx, rect.bottom)])
            return rect.bottom
        cols = _columns(step)
        widths = [max(self.seq_size(steps)[0], LABEL_MIN_W) for _r, steps, _l, _b in cols]
        total = sum(widths) + COL_GAP * max(0, len(cols) - 1)
        fork_y = y + HEADER + BUS / 2
        join_y = rect.bottom - PAD - BUS / 2
        x = cx - total / 2
        self.out.edges.append([(cx, y + HEADER), (cx, fork_y)])
        for (ref, steps, label, branch), col_w in zip(cols, widths, strict=True):
            col_cx = x + col_w / 2
            top = y + HEADER + BUS
            label_w = min(col_w, max(LABEL_MIN_W, 8.0 * len(label) + 20))
            self.out.labels.append(Label(label, Rect(col_cx - label_w / 2, top, label_w,
                                                     LABEL_H), sid, branch))
            self.out.edges.append([(cx, fork_y), (col_cx, fork_y), (col_cx, top)])
            bottom = self.seq(steps, ref, col_cx, top + LABEL_H, depth + 1)
            self.out.edges.append([(col_cx, bottom), (col_cx, join_y), (cx, join_y)])
            x += col_w + COL_GAP
        self.out.edges.append([(cx, join_y), (cx, rect.bottom)])
        return rect.bottom


def layout(doc: FlowDocument) -> Layout:
    """Where everything of the flow is drawn (scene coordinates, y down)."""
    placer = _Placer()
    out = placer.out
    steps = doc.value.get("modules") or []
    width, _h = placer.seq_size(steps)
    cx = MARGIN + width / 2
    fields = list((doc.flow.get("schema") or {}).get("properties") or {})
    out.nodes.append(Node("input", "input", Rect(cx - NODE_W / 2, MARGIN, NODE_W, INPUT_H),
                          "Flow input", ", ".join(fields) if fields else "no inputs"))
    bottom = placer.seq(steps, TOP, cx, MARGIN + INPUT_H, 0)
    out.nodes.append(Node("result", "result", Rect(cx - NODE_W / 2, bottom, NODE_W, NODE_H),
                          "Result", "the last step's result"))
    # Beside the input node: nothing else shares its row, however wide the steps below.
    side_x = cx + NODE_W / 2 + SIDE_GAP
    right = MARGIN + width
    for key, step in doc.special():
        kind = "failure" if key == "failure_module" else "preprocessor"
        title, subtitle = step_title(step)
        if not step.get("summary"):
            title = "Error handler" if kind == "failure" else "Preprocessor"
        rect = Rect(side_x, MARGIN, NODE_W, NODE_H)
        out.nodes.append(Node(str(step.get("id")), kind, rect, title, subtitle,
                              str(step.get("id"))))
        side_x = rect.right + COL_GAP
        right = max(right, rect.right)
    out.width = right + MARGIN
    out.height = bottom + NODE_H + MARGIN
    return out
