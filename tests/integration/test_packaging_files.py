"""The packaging definitions, checked the way each platform's tools read them: the Linux
desktop entry with desktop-file-validate, the macOS Info.plist with plistlib, the
PyInstaller spec and the Inno Setup script by structure (their tools are not on Linux
CI), the icons by their headers; and the bundle's entry point dispatching like Python."""

from __future__ import annotations

import ast
import configparser
import json
import os
import plistlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "packaging"
ICONS = ROOT / "resources" / "icons"


def test_desktop_entry_validates_and_names_the_program_and_icon() -> None:
    entry = ROOT / "resources" / "linux" / "tidemill.desktop"
    if shutil.which("desktop-file-validate") is None:
        pytest.skip("desktop-file-validate is not installed (Debian: desktop-file-utils)")
    res = subprocess.run(["desktop-file-validate", str(entry)], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0 and res.stdout.strip() == "", res.stdout
    parsed = configparser.ConfigParser(interpolation=None)
    parsed.optionxform = str  # type: ignore[assignment,method-assign]
    parsed.read(entry)
    group = parsed["Desktop Entry"]
    assert group["Exec"] == "tidemill" and group["Icon"] == "tidemill"
    assert (ICONS / "tidemill.svg").exists() and (ICONS / "tidemill-256.png").exists()


def test_icons_are_what_their_names_say() -> None:
    assert (ICONS / "tidemill-256.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (ICONS / "tidemill.ico").read_bytes()[:4] == b"\x00\x00\x01\x00"
    assert (ICONS / "tidemill.icns").read_bytes()[:4] == b"icns"
    assert "<svg" in (ICONS / "tidemill.svg").read_text()


def test_macos_info_plist_matches_the_bundle() -> None:
    info = plistlib.loads((PKG / "macos" / "Info.plist").read_bytes())
    assert info["CFBundleExecutable"] == "tidemill"  # the spec's EXE name
    assert info["CFBundlePackageType"] == "APPL"
    assert re.fullmatch(r"[a-z]+(\.[a-z]+)+", info["CFBundleIdentifier"])
    assert info["CFBundleIconFile"] == "tidemill.icns" and info["NSHighResolutionCapable"] is True
    import tomllib

    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert info["CFBundleShortVersionString"] == version


def test_pyinstaller_spec_parses_and_every_file_it_names_exists() -> None:
    source = (PKG / "tidemill.spec").read_text()
    tree = ast.parse(source)
    calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call)
             and isinstance(n.func, ast.Name)}
    assert {"Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE"} <= calls
    named = re.findall(r'ROOT / ((?:"[^"]+"\s*/\s*)*"[^"]+")', source)
    assert named, "the spec names no file"
    for chain in named:
        parts = re.findall(r'"([^"]+)"', chain)
        path = ROOT.joinpath(*parts)
        assert path.exists(), f"the spec names {path}, which is missing"
    assert 'name="tidemill"' in source


def test_inno_setup_script_installs_the_bundle() -> None:
    iss = (PKG / "windows" / "tidemill.iss").read_text()
    sections = re.findall(r"^\[(\w+)\]$", iss, re.M)
    assert {"Setup", "Files", "Icons", "Run"} <= set(sections)
    setup = dict(re.findall(r"^(\w+)=(.*)$", iss.split("[Files]")[0], re.M))
    for key in ("AppId", "AppName", "AppVersion", "DefaultDirName", "OutputBaseFilename"):
        assert setup.get(key), f"[Setup] lacks {key}"
    assert setup["PrivilegesRequired"] == "lowest"  # per user, like the autostart entry
    icon = (PKG / "windows" / setup["SetupIconFile"].replace("\\", "/")).resolve()
    assert icon == (ICONS / "tidemill.ico").resolve() and icon.exists()
    assert r'Source: "..\..\dist\tidemill\*"' in iss  # build.py's output folder
    assert iss.count('"{app}\\tidemill.exe"') >= 3
    assert 'Parameters: "autostart enable"' in iss and 'Parameters: "autostart disable"' in iss


def test_entry_point_runs_modules_and_the_cli_like_python(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TIDEMILL_SMTP_PORT": "off"}
    entry = str(PKG / "entry.py")
    # What the supervisor does with sys.executable: -m a module, interpreter flags ignored.
    res = subprocess.run([sys.executable, entry, "-S", "-X", "frozen_modules=on", "-m",
                          "desktop_app.cli.main", "--help"], env=env, capture_output=True,
                         text=True, timeout=120, cwd=tmp_path)
    assert res.returncode == 0 and "Tidemill" in res.stdout, res.stderr
    # A script path, as the SQL runner is started.
    script = tmp_path / "runner.py"
    script.write_text("import sys\nprint('ran', sys.argv[1:])\n")
    res = subprocess.run([sys.executable, entry, "-S", "-P", str(script), "x"], env=env,
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert res.stdout.strip() == "ran ['x']", res.stderr
    # Anything else is the CLI.
    res = subprocess.run([sys.executable, entry, "doctor", "--only", "disk", "--json",
                          "--home", str(tmp_path / "home")], env=env, capture_output=True,
                         text=True, timeout=120, cwd=tmp_path)
    assert json.loads(res.stdout)[0]["check"] == "disk", res.stderr


def test_a_bundle_finds_a_python_of_its_version_for_python_jobs(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """In the bundle sys.executable is `tidemill`, not a Python: job venvs need a real
    interpreter of the same version from this machine (uv finds it; none is downloaded)."""
    from desktop_app.runtimes.python_env import _interpreter

    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "tidemill"))
    _interpreter.cache_clear()
    try:
        exe, version = _interpreter(None, tmp_path / "cache")
    finally:
        _interpreter.cache_clear()
    assert version == f"{sys.version_info.major}.{sys.version_info.minor}"
    assert exe.name.startswith("python") and exe.exists()
