"""The bundle's one executable. `tidemill ARGS` is the CLI. The engine starts its own
processes with `sys.executable` — `-m desktop_app.worker`, `-m desktop_app.gui.tray`,
`-S -P runner.py` — and in a bundle `sys.executable` is this program, not a Python: so
those forms are run here, as a Python would run them."""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path

# Interpreter flags the engine passes that change nothing in a frozen program.
_FLAGS = {"-S", "-P", "-u", "-E", "-s", "-I", "-B"}


def main() -> None:
    if getattr(sys, "frozen", False):  # Deno and uv ship in the bundle's bin/
        bundled = Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent)) / "bin"
        os.environ["PATH"] = os.pathsep.join([str(bundled), os.environ.get("PATH", "")])
    argv = sys.argv[1:]
    while argv and argv[0] in _FLAGS:
        argv.pop(0)
    while argv[:1] == ["-X"]:  # -X frozen_modules=on and the like
        argv = argv[2:]
    if argv[:1] == ["-m"] and len(argv) > 1:
        sys.argv = [argv[1], *argv[2:]]
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
        return
    if argv and argv[0].endswith(".py"):
        sys.argv = argv
        runpy.run_path(argv[0], run_name="__main__")
        return
    from desktop_app.cli.main import main as cli

    sys.argv = [sys.argv[0], *argv]
    cli()


if __name__ == "__main__":
    main()
