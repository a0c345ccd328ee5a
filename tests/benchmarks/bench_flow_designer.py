"""Benchmark: the flow designer opening a 200-step flow (model + validation + layout + scene
+ first paint) and the frame time of panning and zooming it. Prints JSON. Run by hand:

    QT_QPA_PLATFORM=offscreen python tests/benchmarks/bench_flow_designer.py [--steps 200]

No daemon is needed: the designer is given a client it never calls.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication

from desktop_app.client.http import Connection, TidemillClient
from desktop_app.flowgraph.layout import layout
from desktop_app.flowgraph.model import FlowDocument
from desktop_app.flowgraph.validation import find_problems
from desktop_app.gui.flow_designer.designer import FlowDesigner
from desktop_app.gui.theme import apply_theme
from tests.gui.flow_samples import long_flow


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--frames", type=int, default=60)
    opts = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_theme(app, "light")  # type: ignore[arg-type]
    client = TidemillClient(Connection("http://127.0.0.1:9", None))
    designer = FlowDesigner(client)
    designer.resize(1280, 800)
    designer.show()
    app.processEvents()

    flow = long_flow(opts.steps)
    # Cold: the first open parses every inline script's signature (for missing inputs).
    t0 = time.perf_counter()
    designer.open_document(json.loads(json.dumps(flow)), "f/bench/long")
    designer.canvas.viewport().repaint()
    app.processEvents()
    open_s = time.perf_counter() - t0
    parts: dict[str, float] = {}
    t = time.perf_counter()
    doc = FlowDocument(json.loads(json.dumps(flow)))
    parts["model_ms"] = ms(time.perf_counter() - t)
    t = time.perf_counter()
    find_problems(doc)
    parts["validation_ms"] = ms(time.perf_counter() - t)
    t = time.perf_counter()
    out = layout(doc)
    parts["layout_ms"] = ms(time.perf_counter() - t)
    t = time.perf_counter()
    designer.refresh()
    canvas_refresh = time.perf_counter() - t
    parts["redraw_after_an_edit_ms"] = ms(canvas_refresh)

    canvas = designer.canvas
    bar = canvas.verticalScrollBar()
    pan: list[float] = []
    for _ in range(opts.frames):
        t = time.perf_counter()
        bar.setValue((bar.value() + 120) % max(1, bar.maximum()))
        canvas.viewport().repaint()
        canvas.minimap.repaint()
        pan.append(time.perf_counter() - t)
    zoom: list[float] = []
    for i in range(opts.frames):
        t = time.perf_counter()
        canvas.zoom_by(0.9 if (i // 10) % 2 == 0 else 1 / 0.9)
        canvas.viewport().repaint()
        canvas.minimap.repaint()
        zoom.append(time.perf_counter() - t)
    canvas.fit()
    t = time.perf_counter()
    canvas.viewport().repaint()
    fitted = time.perf_counter() - t
    print(json.dumps({
        "steps": len(doc.ids()), "nodes": len(out.nodes), "edges": len(out.edges),
        "scene_height_px": round(out.height),
        "open_cold_ms": ms(open_s), **parts,
        "pan_frame_ms": {"median": ms(statistics.median(pan)), "max": ms(max(pan))},
        "zoom_frame_ms": {"median": ms(statistics.median(zoom)), "max": ms(max(zoom))},
        "whole_flow_in_view_frame_ms": ms(fitted),
        "target": "open < 1000 ms; frames < 16 ms for smooth panning",
    }, indent=2))
    asyncio.run(client.aclose())


if __name__ == "__main__":
    main()
