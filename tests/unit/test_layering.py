"""The design's boundaries, checked: core imports nothing of ours, only gui imports Qt,
the CLI reaches the engine only through the HTTP client."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "desktop_app"


def test_import_linter_contracts_hold() -> None:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    res = subprocess.run([exe, "--config", str(ROOT / "pyproject.toml")], cwd=ROOT,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "0 broken" in res.stdout


def test_only_gui_imports_qt() -> None:
    qt = re.compile(r"^\s*(from|import)\s+(PySide6|qasync|NodeGraphQt|Qt)\b", re.M)
    offenders = [str(p.relative_to(ROOT)) for p in PACKAGE.rglob("*.py")
                 if "gui" not in p.relative_to(PACKAGE).parts[:1] and qt.search(p.read_text())]
    assert offenders == []


def test_core_imports_nothing_else_of_ours() -> None:
    ours = re.compile(r"^\s*(from|import)\s+desktop_app\.(?!core\b)", re.M)
    offenders = [str(p.relative_to(ROOT)) for p in (PACKAGE / "core").rglob("*.py")
                 if ours.search(p.read_text())]
    assert offenders == []


# Cycles the owners are removing now: flows ↔ durable goes with the one completion path
# (issue 17, the `queue` work). The test fails if one of these is gone, so the allowance
# cannot outlive the cycle.
_KNOWN_CYCLES: list[list[str]] = [["durable", "flows"]]


def test_no_import_cycle_between_subpackages() -> None:
    """Module-level and function-level imports alike (tests/support/import_graph.py reads
    every import statement): a subpackage never reaches itself through others."""
    sys.path.insert(0, str(ROOT))
    from tests.support.import_graph import cycles, edges

    graph = edges(PACKAGE)
    found = cycles(graph)
    unexpected = [c for c in found if c not in _KNOWN_CYCLES]
    detail = "\n".join(f"{a} → {b}: {', '.join(graph[a][b])}" for c in unexpected
                       for a in c for b in c if b in graph.get(a, {}))
    assert unexpected == [], f"import cycles between subpackages:\n{detail}"
    gone = [c for c in _KNOWN_CYCLES if c not in found]
    assert gone == [], f"these cycles are gone: remove them from _KNOWN_CYCLES: {gone}"


def test_cycle_finder_sees_imports_inside_functions(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from tests.support.import_graph import cycles, edges

    pkg = tmp_path / "desktop_app"
    for name, text in {"a/__init__.py": "", "b/__init__.py": "",
                       "a/m.py": "from desktop_app.b import n\n",
                       "b/n.py": "def f():\n    from desktop_app.a import m\n"}.items():
        (pkg / name).parent.mkdir(parents=True, exist_ok=True)
        (pkg / name).write_text(text)
    assert cycles(edges(pkg)) == [["a", "b"]]
