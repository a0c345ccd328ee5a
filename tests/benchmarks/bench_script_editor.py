"""Benchmark: the script editor's work per keystroke (offscreen Qt, no daemon). Prints JSON.
Run by hand:

    QT_QPA_PLATFORM=offscreen python tests/benchmarks/bench_script_editor.py [--lines 1000]

- keystroke highlight: one character typed in the middle of an N-line Python file: that
  line lexed from the saved state of the line before and re-coloured (what a key costs);
- settle: once typing stops, the whole file is lexed again in slices (so multi-line
  constructs are right) — the longest slice between two turns of the event loop, and the
  time from the last key to the file being fully re-checked;
- parse: the signature → schema of the same file (`script_metadata`, what the daemon does
  for `scripts/parse_schema`, without the HTTP hop);
- form rebuild: a 40-argument schema turned into a new form, carrying over typed values
  (what happens when the signature changes).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QApplication

from desktop_app.gui.code_editor import CodePane
from desktop_app.gui.schema_form import SchemaForm
from desktop_app.parsing import script_metadata

KINDS = ["str", "int", "float", "bool", "list[str]", "dict", 'Literal["a", "b"]', "datetime"]


def python_file(lines: int) -> str:
    args = ", ".join(f"a{i}: {KINDS[i % len(KINDS)]}" for i in range(40))
    head = ("from datetime import datetime\nfrom typing import Literal\n\n\n"
            f"def main({args}):\n    '''Docstring\n    over lines.'''\n")
    body = "".join(f"    x{i} = [{i}, 'text', {{'k': {i}}}]  # comment {i}\n"
                   for i in range(lines - 8))
    return head + body + "    return x1\n"


def ms(samples: list[float]) -> dict[str, float]:
    return {"p50_ms": round(statistics.median(samples) * 1000, 2),
            "max_ms": round(max(samples) * 1000, 2)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1000)
    ap.add_argument("--n", type=int, default=30)
    opts = ap.parse_args()
    app = QApplication.instance() or QApplication([])
    code = python_file(opts.lines)
    pane = CodePane("python3")
    pane.resize(800, 600)
    pane.show()
    pane.editor.setPlainText(code)
    app.processEvents()
    middle = pane.editor.document().findBlockByNumber(opts.lines // 2)
    keys = []
    for _ in range(opts.n):
        cursor = QTextCursor(middle)
        t = time.perf_counter()
        cursor.insertText("z")
        app.processEvents()
        keys.append(time.perf_counter() - t)
    hl = pane.editor.highlighter
    slices: list[float] = []
    original = hl._start_full_lex

    def timed() -> None:
        t0 = time.perf_counter()
        original()
        slices.append(time.perf_counter() - t0)
    finish = hl._full_lex_done
    finishing: list[float] = []

    def timed_finish(lines: list) -> None:  # type: ignore[type-arg]
        t0 = time.perf_counter()
        finish(lines)
        finishing.append(time.perf_counter() - t0)
    hl._full_lex_done = timed_finish  # type: ignore[method-assign]
    hl._settle.timeout.disconnect()
    hl._settle.timeout.connect(timed)
    t = time.perf_counter()
    QTextCursor(middle).insertText("z")
    while not hl.full_ready:
        app.processEvents()
    settle = time.perf_counter() - t
    parses = []
    for _ in range(opts.n):
        t = time.perf_counter()
        meta = script_metadata(code, "python3")
        parses.append(time.perf_counter() - t)
    schema = meta["schema"]
    old = SchemaForm(schema)
    forms = []
    for _ in range(opts.n):
        t = time.perf_counter()
        form = SchemaForm(schema)
        form.restore(old.snapshot())
        forms.append(time.perf_counter() - t)
        form.deleteLater()
    print(json.dumps({"lines": opts.lines, "arguments": len(schema["properties"]),
                      "keystroke_highlight": ms(keys),
                      "settle": {"first_slice_ms": round(slices[0] * 1000, 2) if slices else None,
                                 "last_slice_applying_ms": round(finishing[0] * 1000, 2),
                                 "key_to_fully_checked_ms": round(settle * 1000, 1),
                                 "settle_delay_ms": hl.SETTLE_MS},
                      "parse_schema": ms(parses),
                      "form_rebuild": ms(forms)}, indent=2))


if __name__ == "__main__":
    main()
