"""Go scripts: `func main(x string, n int) (interface{}, error)` in `package inner`.

Each script is built once per content hash into `$TIDEMILL_HOME/cache/go/bin/<hash>`
(under a file lock, so workers never build the same script twice; the binary is renamed
into place when complete); every job then runs that binary. The Go toolchain is the
machine's (`go` on PATH); its build and module caches live under `cache/go`. Imports of
third-party modules are resolved by `go mod tidy` before the first build.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

from filelock import FileLock

from desktop_app.core.errors import CompileError, RuntimeSetupError
from desktop_app.runtimes.base import (
    JobContext,
    Launch,
    Outcome,
    outcome_from_files,
    positional_call_spec,
)
from desktop_app.runtimes.go_wrapper import MAIN_GO, MODULE, RUN_GO

_PACKAGE = re.compile(r"^package\s+\w+", re.MULTILINE)
_IMPORT_PATH = re.compile(r'"([^"\s]+)"')
_IMPORT_BLOCK = re.compile(r"^import\s*(\([^)]*\)|\"[^\"]*\"|\w+\s+\"[^\"]*\")", re.MULTILINE)
_BUILD_TIMEOUT_S = 900.0
_KEPT_FOR_BUILD = ("PATH", "HOME", "TMPDIR", "SSL_CERT_FILE", "SSL_CERT_DIR", "HTTP_PROXY",
                   "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
                   "GOPROXY", "GONOSUMDB", "GOPRIVATE", "GOFLAGS")
_INSTALL_HINT = ("install Go 1.19 or newer (Debian/Ubuntu: apt-get install golang-go; "
                 "elsewhere: go.dev/dl) and make sure `go` is on the worker's PATH")


#: Where Go installs itself when it is not on PATH (go.dev's tarball; Debian's golang-go).
GO_LOCATIONS = ("/usr/local/go/bin/go", "/usr/lib/go/bin/go")


def find_go(path: str | None) -> str:
    """The `go` command on `path` (the job's PATH), else at a usual install location."""
    found = shutil.which("go", path=path) or next(
        (p for p in GO_LOCATIONS if os.access(p, os.X_OK)), None)
    if found is None:
        raise RuntimeSetupError("no Go toolchain found to build this Go script", hint=_INSTALL_HINT)
    return found


@cache
def go_version(go: str) -> str:
    """`1.19` for go1.19.8: the go.mod directive must not ask for a newer toolchain."""
    out = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, timeout=60,
                         env={"PATH": os.environ.get("PATH", ""), "GOENV": "off",
                              "HOME": os.environ.get("HOME", "/tmp")})
    match = re.match(r"go(\d+\.\d+)", out.stdout.strip())
    if match is None:
        raise RuntimeSetupError(f"{go} does not report its version: {out.stderr.strip()}",
                                hint=_INSTALL_HINT)
    return match.group(1)


def third_party_imports(code: str) -> list[str]:
    """Imported packages outside the standard library (their first element has a dot)."""
    paths = [p for block in _IMPORT_BLOCK.findall(code) for p in _IMPORT_PATH.findall(block)]
    return [p for p in paths if "." in p.split("/", 1)[0]]


def as_inner_package(code: str) -> str:
    """The script as package `inner` (Windmill's convention; `package main` is accepted)."""
    return _PACKAGE.sub("package inner", code, count=1) if _PACKAGE.search(code) \
        else "package inner\n" + code


def _compile_message(output: str, build_dir: Path) -> str:
    lines = []
    for line in output.splitlines():
        if line.startswith("# ") or not line.strip():
            continue  # "# tidemill.job/script/inner": the package header of go's report
        line = line.replace(str(build_dir) + "/", "").replace("./", "", 1)
        lines.append(line.replace("inner/main.go", "main.go"))
    return "\n".join(lines[:40]) or output.strip()


class GoRuntime:
    language = "go"

    def __init__(self) -> None:
        self._built: set[Path] = set()

    async def prepare(self, ctx: JobContext) -> Launch:
        go = find_go(ctx.env.get("PATH"))
        binary = await asyncio.to_thread(self.build, go, ctx)
        (ctx.workdir / "args.json").write_text(json.dumps(positional_call_spec(ctx)),
                                               encoding="utf-8")
        return Launch([str(binary), str(ctx.workdir)], ctx.workdir, ctx.env, read_only=[binary])

    def build(self, go: str, ctx: JobContext) -> Path:
        """The script's binary, built now unless an earlier job built it."""
        version = go_version(go)
        source = as_inner_package(ctx.code)
        key = hashlib.sha256("\0".join((source, RUN_GO, MAIN_GO, version, go)).encode()
                             ).hexdigest()[:16]
        root = ctx.state_dir / "cache" / "go"
        binary = root / "bin" / key
        if binary in self._built or binary.exists():
            self._built.add(binary)
            return binary
        (root / "bin").mkdir(parents=True, exist_ok=True)
        # another worker may be building it right now
        with FileLock(root / "bin" / f".{key}.lock", thread_local=False, preserve_lock_file=True):
            if not binary.exists():
                ctx.log_lines.append(f"building the Go script with go {version}")
                self._build_into(go, version, source, root, key, ctx)
        self._built.add(binary)
        return binary

    def _build_into(self, go: str, version: str, source: str, root: Path, key: str,
                    ctx: JobContext) -> None:
        build_dir = root / "src" / key
        shutil.rmtree(build_dir, ignore_errors=True)
        (build_dir / "inner").mkdir(parents=True)
        (build_dir / "go.mod").write_text(f"module {MODULE}\n\ngo {version}\n")
        (build_dir / "main.go").write_text(MAIN_GO)
        (build_dir / "inner" / "main.go").write_text(source)
        (build_dir / "inner" / "tidemill_run.go").write_text(RUN_GO)
        env = {k: v for k, v in ctx.env.items() if k in _KEPT_FOR_BUILD}
        env.update({"GOCACHE": str(root / "build-cache"), "GOPATH": str(root / "path"),
                    "GOENV": "off", "GOTOOLCHAIN": "local", "CGO_ENABLED": "0",
                    "GOFLAGS": env.get("GOFLAGS", "-mod=mod")})
        env.setdefault("HOME", str(root))
        steps = [[go, "build", "-trimpath", "-o", str(root / "bin" / f".{key}.tmp"), "."]]
        if third_party_imports(source):
            steps.insert(0, [go, "mod", "tidy"])
        try:
            for argv in steps:
                done = subprocess.run(argv, cwd=build_dir, env=env, capture_output=True,
                                      text=True, timeout=_BUILD_TIMEOUT_S)
                if done.returncode != 0:
                    message = _compile_message(done.stdout + done.stderr, build_dir)
                    if argv[1] == "mod":
                        raise RuntimeSetupError(
                            f"the Go script's imports could not be resolved:\n{message}")
                    raise CompileError(f"the Go script does not compile:\n{message}")
        except subprocess.TimeoutExpired:
            raise RuntimeSetupError(f"building the Go script took over {_BUILD_TIMEOUT_S:.0f} s"
                                    ) from None
        finally:
            shutil.rmtree(build_dir, ignore_errors=True)
        os.replace(root / "bin" / f".{key}.tmp", root / "bin" / key)

    def outcome(self, ctx: JobContext, exit_code: int, output_tail: list[str]) -> Outcome:
        return outcome_from_files(ctx, exit_code, output_tail, "the Go program")
