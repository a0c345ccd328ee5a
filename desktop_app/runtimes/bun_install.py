"""The Bun binary: installed into the home on first use, from the npm registry.

npm's `bun` package ships its binaries as optional dependencies, one per platform
(`@oven/bun-linux-x64`, `@oven/bun-darwin-aarch64`, ...); we install just this machine's
with npm into a temporary folder and keep its `bin/bun` as
`$TIDEMILL_HOME/cache/bun/<version>/bun`. A `bun` named by `TIDEMILL_BUN` wins (an
offline machine, a packaged build).
"""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from filelock import FileLock

from desktop_app.core.errors import RuntimeSetupError

BUN_VERSION = "1.4.5"  # pinned: a script that ran yesterday runs the same today


def platform_package() -> str:
    """The `@oven/bun-*` package for this machine."""
    machine = platform.machine().lower()
    arch = "aarch64" if machine in ("arm64", "aarch64") else "x64"
    if sys.platform == "darwin":
        return f"@oven/bun-darwin-{arch}"
    if sys.platform == "win32":
        return f"@oven/bun-windows-{arch}"
    name = f"@oven/bun-linux-{arch}"
    if Path("/etc/alpine-release").exists():
        name += "-musl"
    elif arch == "x64" and not _has_avx2():
        name += "-baseline"  # the default build needs AVX2 and dies with SIGILL without it
    return name


def _has_avx2() -> bool:
    try:
        return " avx2" in Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return True


def bun_binary(home: Path, notes: list[str] | None = None) -> Path:
    """This machine's Bun, installing it into `home` on first use (blocking; call it in a
    thread). `notes` gets a line for the job's log when it installs."""
    named = os.environ.get("TIDEMILL_BUN")
    if named:
        if not Path(named).is_file():
            raise RuntimeSetupError(f"TIDEMILL_BUN names {named}, which is not a file",
                                    hint="point it at a Bun executable or unset it")
        return Path(named)
    folder = home / "cache" / "bun" / BUN_VERSION
    binary = folder / ("bun.exe" if sys.platform == "win32" else "bun")
    if binary.is_file():
        return binary
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(folder / ".install.lock"):  # two workers' first Bun jobs install it once
        if not binary.is_file():
            if notes is not None:
                notes.append(f"installing Bun {BUN_VERSION} from npm (first Bun job here)")
            _install(binary)
    return binary


def _install(binary: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeSetupError(
            "Bun is installed from npm on first use, but npm is not on this machine",
            hint="install Node.js with npm, or set TIDEMILL_BUN to a Bun executable")
    package = platform_package()
    with tempfile.TemporaryDirectory(prefix="bun-install-", dir=binary.parent) as tmp:
        done = subprocess.run(
            [npm, "install", "--prefix", tmp, "--no-save", "--no-audit", "--no-fund",
             "--ignore-scripts", "--no-package-lock", f"{package}@{BUN_VERSION}"],
            capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise RuntimeSetupError(
                f"installing Bun ({package}@{BUN_VERSION}) with npm failed:\n"
                f"{(done.stderr or done.stdout)[-2000:]}",
                hint="check that this machine reaches the npm registry, or set TIDEMILL_BUN")
        built = Path(tmp, "node_modules", *package.split("/"), "bin", binary.name)
        if not built.is_file():
            raise RuntimeSetupError(f"npm installed {package} but it holds no bin/{binary.name}")
        staged = binary.with_name(f".{binary.name}.{os.getpid()}")
        shutil.copy2(built, staged)
        staged.chmod(0o755)
        with contextlib.suppress(OSError):
            check = subprocess.run([str(staged), "--version"], capture_output=True, text=True,
                                   timeout=60)
            if check.returncode != 0:
                staged.unlink()
                raise RuntimeSetupError(
                    f"the Bun binary from {package} does not start on this machine:"
                    f" {check.stderr.strip()[-500:]}", hint="set TIDEMILL_BUN to one that does")
        os.replace(staged, binary)
