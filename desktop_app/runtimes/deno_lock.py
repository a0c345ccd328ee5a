"""A TypeScript script's lock: the `deno.lock` Deno writes when it resolves the script's
`npm:`/`jsr:`/URL imports (`deno cache --lock`), as Windmill's dependency job returns it
for `wmill generate-metadata`. A script with nothing to resolve has no lock (empty text).
The cache is the one jobs use (`$TIDEMILL_HOME/cache/deno`), so what is resolved here is
already downloaded for the first run."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

from desktop_app.core.errors import RuntimeSetupError
from desktop_app.runtimes.deno import bare_import_map, deno_binary

_TIMEOUT_S = 300


def resolve_deno_lock(code: str, language: str, cache_dir: Path) -> str:
    """The lock text ("" when there is nothing to pin); RuntimeSetupError with Deno's
    message when an import cannot be resolved."""
    with tempfile.TemporaryDirectory(prefix="tidemill-lock-") as tmp:
        folder = Path(tmp)
        (folder / "main.ts").write_text(code, encoding="utf-8")
        argv = [deno_binary(), "cache", "--no-config", "--frozen=false",
                f"--lock={folder / 'deno.lock'}"]
        import_map = bare_import_map(code) if language in ("bun", "nativets") else None
        if import_map:
            (folder / "import_map.json").write_text(json.dumps(import_map), encoding="utf-8")
            argv.append(f"--import-map={folder / 'import_map.json'}")
        env = {**os.environ, "DENO_DIR": str(cache_dir / "deno"), "NO_COLOR": "1",
               "DENO_NO_UPDATE_CHECK": "1", "DENO_NO_PACKAGE_JSON": "1"}
        done = subprocess.run([*argv, str(folder / "main.ts")], cwd=folder, env=env,
                              capture_output=True, text=True, timeout=_TIMEOUT_S)
        if done.returncode != 0:
            raise RuntimeSetupError("Deno could not resolve the script's imports:\n"
                                    + done.stderr.strip()[-4000:],
                                    hint="check the import specifiers (npm:, jsr:, https:)")
        lock = folder / "deno.lock"
        return lock.read_text(encoding="utf-8") if lock.exists() else ""
