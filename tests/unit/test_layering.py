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


# Cycles being removed by their owners (none now). The test fails if one listed here is
# gone, so an allowance cannot outlive its cycle.
_KNOWN_CYCLES: list[list[str]] = []


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


def test_http_exception_only_in_route_modules() -> None:
    """One error vocabulary: below the route functions only TidemillError subclasses are
    raised (each with its status and a hint); `HTTPException` appears only in the API's
    route modules (and in app.py, which answers Starlette's own)."""
    pattern = re.compile(r"\bHTTPException\b")
    offenders = []
    for p in PACKAGE.rglob("*.py"):
        rel = p.relative_to(PACKAGE)
        if rel.parts[0] == "api" and (rel.name.startswith("routes_") or rel.name == "app.py"):
            continue
        if pattern.search(p.read_text()):
            offenders.append(str(rel))
    assert offenders == [], f"HTTPException outside api/routes_*.py: {offenders}"


def test_every_package_has_a_layer_and_the_contracts_are_current() -> None:
    """A new package gets its row (docs/architecture.md and tests/support/layers.py);
    pyproject.toml holds the contracts generated from them."""
    sys.path.insert(0, str(ROOT))
    from tests.support.layers import MAY_IMPORT, contracts

    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert packages == set(MAY_IMPORT), "add the package to tests/support/layers.py"
    assert contracts() in (ROOT / "pyproject.toml").read_text(), \
        "run python3 tests/support/layers.py to regenerate the contracts"
    doc = (ROOT / "docs/architecture.md").read_text()
    missing = [p for p in packages if f"| `{p}` |" not in doc]
    assert missing == [], f"docs/architecture.md's table lacks {missing}"
