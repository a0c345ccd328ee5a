"""A Windmill sync folder's files as text, read on the machine that has the folder: what
`tidemill import` sends to the daemon (which parses them: gitsync/layout.py), and the
rules both sides keep for paths inside such a folder (no '..', no link leading out)."""

from __future__ import annotations

import os
from pathlib import Path

from desktop_app.core.errors import UsageError


def collect_files(root: Path) -> dict[str, str]:
    """Every text file under `root` (``.git`` left out), for an import sent to the daemon.
    A symbolic link leading outside `root` is refused; one inside is read as its target."""
    root = Path(root)
    if not root.is_dir():
        raise UsageError(f"{root} is not a folder", hint="pass the root of a Windmill sync "
                         "folder (where wmill.yaml or f/ is)")
    real_root = root.resolve()
    files: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if d not in (".git", "node_modules"))
        for d in dirnames:
            check_inside(here / d, real_root, root)
        for name in sorted(filenames):
            file = here / name
            check_inside(file, real_root, root)
            try:
                files[relative(file, root)] = file.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue  # not a text file: no item is made of it
            except OSError as e:
                raise UsageError(f"{relative(file, root)}: cannot read: {e}") from e
    return files


def check_relative(rel: str) -> str:
    """A file path received from elsewhere (an import's file list): relative, no '..'."""
    p = Path(rel)
    if not rel or p.is_absolute() or ".." in p.parts or rel.startswith(("/", "\\")) \
            or not p.parts or p.as_posix() == "." or "\x00" in rel:
        raise UsageError(f"{rel!r}: a path leading outside the folder ('..' or absolute) "
                         "is refused", hint="nothing was applied")
    return p.as_posix()


def check_inside(target: Path, real_root: Path, root: Path) -> None:
    if target.is_symlink() and not target.resolve().is_relative_to(real_root):
        raise UsageError(f"{relative(target, root)}: a symbolic link leading outside the folder "
                         f"(to {os.readlink(target)}) is refused",
                         hint="nothing was applied; replace the link by the file itself")


def relative(p: Path, root: Path) -> str:
    try:
        return p.relative_to(root).as_posix()
    except ValueError:
        return str(p)
