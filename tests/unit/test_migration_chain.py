"""The migrations form one line: each file NNNN_*.py revises the one numbered before it.

Helpers add migrations in parallel; a rebase that leaves two files with one number or two
heads must fail here, not at a user's first start."""

from __future__ import annotations

import re
from pathlib import Path

import desktop_app.db

VERSIONS = Path(desktop_app.db.__file__).parent / "migrations" / "versions"


def test_each_migration_revises_the_one_before() -> None:
    files = sorted(VERSIONS.glob("[0-9][0-9][0-9][0-9]_*.py"))
    numbers = [f.name[:4] for f in files]
    assert numbers == [f"{i:04d}" for i in range(1, len(files) + 1)], numbers
    for f in files:
        text = f.read_text()
        revision = re.search(r'^revision = "(\d+)"', text, re.M)
        down = re.search(r'^down_revision = (None|"(\d+)")', text, re.M)
        assert revision and revision.group(1) == f.name[:4], f.name
        expected = None if f.name[:4] == "0001" else f"{int(f.name[:4]) - 1:04d}"
        assert down and down.group(2) == expected, f"{f.name} must revise {expected}"
