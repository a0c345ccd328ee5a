"""Build Tidemill's one-folder bundle with PyInstaller, and on Linux a tarball of it.

    python packaging/build.py            # dist/tidemill/ (+ dist/Tidemill.app on macOS)
    python packaging/build.py --tarball  # + dist/tidemill-<version>-linux-<arch>.tar.gz

The tarball, not an AppImage: an AppImage needs appimagetool and its runtime, downloads
from GitHub that this project's machines cannot make, and FUSE to run. The tarball holds
the bundle plus the desktop entry and icons under share/, for ~/.local or /opt.
Prints what it built, its size and the build time as JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tarfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "packaging" / "tidemill.spec"


def version() -> str:
    return str(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"])


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def build(dist: Path, work: Path) -> Path:
    subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
                    "--distpath", str(dist), "--workpath", str(work), str(SPEC)],
                   cwd=ROOT, check=True)
    return dist / "tidemill"


def tarball(bundle: Path, dist: Path) -> Path:
    arch = platform.machine().lower()
    out = dist / f"tidemill-{version()}-linux-{arch}.tar.gz"
    top = f"tidemill-{version()}"
    extras = {
        "share/applications/tidemill.desktop": ROOT / "resources" / "linux" / "tidemill.desktop",
        "share/icons/hicolor/scalable/apps/tidemill.svg": ROOT / "resources" / "icons" / "tidemill.svg",
        "share/icons/hicolor/256x256/apps/tidemill.png": ROOT / "resources" / "icons" / "tidemill-256.png",
    }
    with tarfile.open(out, "w:gz", compresslevel=6) as tar:
        tar.add(bundle, arcname=f"{top}/lib/tidemill")
        for name, src in extras.items():
            tar.add(src, arcname=f"{top}/{name}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "pyinstaller")
    parser.add_argument("--tarball", action="store_true", help="also pack a Linux tarball")
    args = parser.parse_args(argv)
    started = time.monotonic()
    bundle = build(args.dist, args.work)
    report: dict[str, object] = {"bundle": str(bundle), "bundle_bytes": folder_size(bundle),
                                 "build_seconds": round(time.monotonic() - started, 1)}
    if args.tarball and sys.platform.startswith("linux"):
        out = tarball(bundle, args.dist)
        report.update(tarball=str(out), tarball_bytes=out.stat().st_size)
    report["total_seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
