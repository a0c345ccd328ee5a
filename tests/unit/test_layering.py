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
