"""Windows and macOS: the code imports and type-checks there (mypy with --platform),
although only Linux runs it here. See docs/platforms.md for what ran where.
mypy is in the dev extra; these two runs are how CI checks both platforms."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "desktop_app"
# Modules that do not exist on Windows: importing one at module level breaks the import.
POSIX_ONLY = {"fcntl", "pwd", "grp", "termios", "posix", "resource"}


@pytest.mark.parametrize("platform", ["win32", "darwin"])
def test_mypy_passes_for_windows_and_macos(platform: str) -> None:
    """The whole package type-checks as Windows and macOS see it (modules missing there,
    platform branches), with each platform's own cache under .mypy_cache/."""
    res = subprocess.run(
        [sys.executable, "-m", "mypy", "--platform", platform, "--no-error-summary",
         "--cache-dir", str(ROOT / ".mypy_cache" / platform), "desktop_app"],
        cwd=ROOT, capture_output=True, text=True, timeout=900)
    errors = [line for line in res.stdout.splitlines() if ": error:" in line]
    assert res.returncode == 0 and not errors, \
        f"mypy --platform {platform}:\n" + "\n".join(errors or [res.stdout, res.stderr])


def _guarded(node: ast.If) -> bool:
    return "sys.platform" in ast.unparse(node.test) or "os.name" in ast.unparse(node.test)


def _module_level_imports(tree: ast.Module) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Import):
                found.extend((node.lineno, a.name.split(".")[0]) for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((node.lineno, node.module.split(".")[0]))
            elif isinstance(node, ast.If) and not _guarded(node):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
    visit(tree.body)
    return found


def test_no_posix_only_module_is_imported_unguarded() -> None:
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text()
        if re.search(r"^assert sys\.platform != \"win32\"", source, re.M):
            continue  # a POSIX-only script (the zygote), never imported on Windows
        for line, name in _module_level_imports(ast.parse(source)):
            if name in POSIX_ONLY:
                bad.append(f"{path.relative_to(ROOT)}:{line}: import {name}")
    assert not bad, "guard these with `if sys.platform != 'win32':`\n" + "\n".join(bad)


def test_the_guard_check_catches_an_unguarded_import() -> None:
    tree = ast.parse("import os\nimport fcntl\nif sys.platform != 'win32':\n    import pwd\n")
    assert (2, "fcntl") in _module_level_imports(tree)
    assert all(name != "pwd" for _, name in _module_level_imports(tree))
