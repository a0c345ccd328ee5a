"""TypeScript scripts of language `bun` (Windmill's default TypeScript runtime), on Bun.

Bun comes from npm into the home on first use (`bun_install.py`). A script is written once
per content hash under `$TIDEMILL_HOME/cache/bun/scripts/<hash>/main.ts`, a folder with no
`node_modules` above it, so Bun's auto-install resolves bare imports (`"lodash"`,
`"windmill-client"`, `"zod@3"`) from npm into its package cache
(`$TIDEMILL_HOME/cache/bun/install`), shared by every Bun job. Deno keeps `deno`
(`.deno.ts`) scripts.

Sandboxed like Deno: the binary read-only; the package and transpiler caches writable
(packages are fetched at run time); the job's folder is its `TMPDIR`.
"""

from __future__ import annotations

import asyncio
import json

from desktop_app.runtimes.base import (
    JobContext,
    Launch,
    Outcome,
    outcome_from_files,
    positional_call_spec,
)
from desktop_app.runtimes.bun_install import bun_binary
from desktop_app.runtimes.bun_wrapper import SOURCE as WRAPPER_SOURCE
from desktop_app.runtimes.deno import _digest, _write_once
from desktop_app.runtimes.wac_ts import wac_outcome


class BunRuntime:
    language = "bun"

    async def prepare(self, ctx: JobContext) -> Launch:
        bun = await asyncio.to_thread(bun_binary, ctx.state_dir, ctx.log_lines)
        cache = ctx.state_dir / "cache" / "bun"
        scripts = cache / "scripts"
        wrapper = scripts / f"wrapper-{_digest(WRAPPER_SOURCE)}.mjs"
        _write_once(wrapper, WRAPPER_SOURCE)
        script = scripts / _digest(ctx.code) / "main.ts"
        _write_once(script, ctx.code)
        spec = positional_call_spec(ctx)
        if ctx.wac_checkpoint is not None:  # a workflow's round, or one of its tasks
            spec["wac_checkpoint"] = ctx.wac_checkpoint
        (ctx.workdir / "args.json").write_text(json.dumps(spec), encoding="utf-8")
        workdir = str(ctx.workdir)
        env = dict(ctx.env)
        env.update({"BUN_INSTALL_CACHE_DIR": str(cache / "install"),
                    "BUN_RUNTIME_TRANSPILER_CACHE_PATH": str(cache / "transpiler"),
                    "NO_COLOR": "1", "TMPDIR": workdir, "HOME": workdir,
                    "DO_NOT_TRACK": "1"})
        return Launch([str(bun), "run", "--install=fallback", str(wrapper), str(script),
                       workdir], ctx.workdir, env, read_only=[bun.resolve()],
                      writable=[cache])

    def outcome(self, ctx: JobContext, exit_code: int, output_tail: list[str]) -> Outcome:
        return wac_outcome(ctx) or outcome_from_files(ctx, exit_code, output_tail, "bun")
