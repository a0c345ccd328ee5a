"""TypeScript scripts (`deno`; `bun` and `nativets` scripts run on Deno too).

The Deno binary comes with the `deno` wheel. A script is written once per content hash
under `$TIDEMILL_HOME/cache/deno/scripts/<hash>/main.ts`, so Deno's transpile and V8 code
caches (in `DENO_DIR` = `$TIDEMILL_HOME/cache/deno`) serve every later run; it is never
type-checked (`--no-check`). `npm:` and `jsr:` imports are fetched into `DENO_DIR` on
first use. Bun-style bare imports (`"lodash"`, `"fs"`) get an import map to `npm:` and
`node:` specifiers.

Permissions: network, environment, system info and remote imports; reading the job's
folder, the script and Deno's cache; writing only in the job's folder (also `TMPDIR`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from functools import cache
from pathlib import Path
from typing import Any

from desktop_app.core.errors import RuntimeSetupError
from desktop_app.runtimes.base import (
    JobContext,
    Launch,
    Outcome,
    outcome_from_files,
    positional_call_spec,
)
from desktop_app.runtimes.deno_wrapper import SOURCE as WRAPPER_SOURCE
from desktop_app.runtimes.wac_ts import wac_outcome

_IMPORT = re.compile(
    r"""(?:^|[;\s])(?:import|export)\s(?:[^'";]*?\sfrom\s*)?['"]([^'"\n]+)['"]"""
    r"""|\bimport\(\s*['"]([^'"\n]+)['"]\s*\)|\brequire\(\s*['"]([^'"\n]+)['"]\s*\)""",
    re.MULTILINE)

_NODE_BUILTINS = frozenset("""
assert assert/strict async_hooks buffer child_process cluster console constants crypto dgram
diagnostics_channel dns dns/promises domain events fs fs/promises http http2 https inspector
module net os path path/posix path/win32 perf_hooks process punycode querystring readline
readline/promises repl stream stream/consumers stream/promises stream/web string_decoder sys
timers timers/promises tls trace_events tty url util util/types v8 vm wasi worker_threads zlib
""".split())


@cache
def deno_binary() -> str:
    """The `deno` executable: the wheel's, else one on PATH."""
    try:
        import deno

        return str(deno.find_deno_bin())
    except (ImportError, FileNotFoundError):
        pass
    found = shutil.which("deno")
    if found is None:
        raise RuntimeSetupError(
            "no Deno found to run TypeScript",
            hint="install the `deno` Python package (pip install deno) in Tidemill's environment",
        )
    return found


def bare_import_map(code: str) -> dict[str, Any] | None:
    """Bun resolves bare specifiers from npm; Deno needs them spelled out."""
    imports: dict[str, str] = {}
    for match in _IMPORT.finditer(code):
        spec = next(g for g in match.groups() if g)
        if spec.startswith((".", "/")) or ":" in spec:
            continue
        imports[spec] = f"node:{spec}" if spec in _NODE_BUILTINS else f"npm:{spec}"
    return {"imports": imports} if imports else None


def _write_once(path: Path, text: str) -> None:
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


class DenoRuntime:
    language = "deno"

    async def prepare(self, ctx: JobContext) -> Launch:
        deno = deno_binary()
        deno_dir = ctx.state_dir / "cache" / "deno"
        scripts = deno_dir / "scripts"
        wrapper = scripts / f"wrapper-{_digest(WRAPPER_SOURCE)}.mjs"
        _write_once(wrapper, WRAPPER_SOURCE)
        import_map = bare_import_map(ctx.code) if ctx.language in ("bun", "nativets") else None
        map_text = json.dumps(import_map, sort_keys=True) if import_map else ""
        script_dir = scripts / _digest(ctx.code, map_text)
        _write_once(script_dir / "main.ts", ctx.code)
        spec = positional_call_spec(ctx)
        if ctx.wac_checkpoint is not None:  # a workflow's round, or one of its tasks
            spec["wac_checkpoint"] = ctx.wac_checkpoint
        (ctx.workdir / "args.json").write_text(json.dumps(spec), encoding="utf-8")
        workdir = str(ctx.workdir)
        argv = [deno, "run", "--no-check", "--no-config", "--no-prompt", "--allow-net",
                "--allow-env", "--allow-sys", "--allow-import",
                f"--allow-read={workdir},{script_dir},{deno_dir}", f"--allow-write={workdir}"]
        if import_map:
            _write_once(script_dir / "import_map.json", map_text)
            argv.append(f"--import-map={script_dir / 'import_map.json'}")
        argv += [str(wrapper), (script_dir / "main.ts").as_uri(), workdir]
        env = dict(ctx.env)
        env.update({"DENO_DIR": str(deno_dir), "NO_COLOR": "1", "DENO_NO_UPDATE_CHECK": "1",
                    "DENO_NO_PACKAGE_JSON": "1", "TMPDIR": workdir})
        # Deno trusts only its own root store: a machine's extra CA (a proxy's) is opt-in.
        if "DENO_CERT" not in env:
            extra_ca = env.get("NODE_EXTRA_CA_CERTS") or env.get("SSL_CERT_FILE")
            if extra_ca:
                env["DENO_CERT"] = extra_ca
        # DENO_DIR is writable: npm and jsr packages are fetched into it at run time.
        return Launch(argv, ctx.workdir, env, read_only=[Path(deno).resolve()],
                      writable=[deno_dir])

    def outcome(self, ctx: JobContext, exit_code: int, output_tail: list[str]) -> Outcome:
        return wac_outcome(ctx) or outcome_from_files(ctx, exit_code, output_tail, "deno")
