"""The README's install command gives the desktop app, and without a display the app
says so in one line instead of Qt's abort.

A real fresh venv (`python -m venv`, no system site-packages: only what the project's
dependency list brings counts) and the README's own installer, pip. With pip's cache warm
this takes about a minute (PySide6 is 600 MB unpacked); it is the one test that proves the
dependency list."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow  # a minute: handed out first when the suite runs in parallel


def _headless_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM", "PYTHONPATH")}
    env.update(extra)
    return env


def test_readme_install_in_a_fresh_venv_gives_the_gui_and_tidemill_gui_says_what_is_missing(
        tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    py = venv / "bin" / "python"
    # The README: `python3 -m pip install -e .` (with the venv's python3).
    res = subprocess.run([str(py), "-m", "pip", "install", "-q", "-e", str(ROOT)],
                         capture_output=True, text=True, timeout=900, env=_headless_env())
    assert res.returncode == 0, res.stderr[-3000:]

    # QtCharts (the runs chart) is in PySide6's add-ons, not in PySide6-Essentials.
    imported = subprocess.run(
        [str(py), "-c", "import PySide6, qasync, pygments, PySide6.QtCharts, platformdirs, "
                        "filelock, psutil"],
        capture_output=True, text=True, timeout=120, env=_headless_env())
    assert imported.returncode == 0, imported.stderr

    tidemill = venv / "bin" / "tidemill"
    for args in (["gui"], []):
        out = subprocess.run([str(tidemill), *args], env=_headless_env(), capture_output=True,
                             text=True, timeout=120, cwd=tmp_path)
        assert out.returncode == 2, (args, out.returncode, out.stderr[-2000:])
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1, out.stderr
        assert "no display" in lines[0] and "tidemill daemon start" in lines[0]
        assert "Reinstalling" not in out.stderr


def test_tidemill_app_without_display_exits_2_before_qt(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "desktop_app.cli.main", "app", "f/x/y"],
                         env=_headless_env(PYTHONPATH=str(ROOT)), capture_output=True,
                         text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert out.stderr.count("\n") == 1 and "DISPLAY or WAYLAND_DISPLAY" in out.stderr
