"""The embedded clusters kept under /var/lib/tidemill (root): orphans of deleted or
re-created homes are listed, and removed by `tidemill doctor --clean-orphans`."""

from __future__ import annotations

from pathlib import Path

from desktop_app.db.clusters import Cluster, list_clusters, orphans, remove
from desktop_app.db.embedded import SYSTEM_DIR
from desktop_app.doctor import system_checks  # noqa: F401  (registered first: report order)
from desktop_app.doctor.checks import Context, Finding, check


def system_dir(ctx: Context) -> Path:
    return Path(ctx.options.get("system_dir") or SYSTEM_DIR)


@check("clusters")
def orphan_clusters(ctx: Context) -> Finding:
    clusters = list_clusters(system_dir(ctx))
    lost = [c for c in clusters if c.orphan]
    if not lost:
        return Finding("clusters", "ok", f"{len(clusters)} cluster(s) outside homes, none orphaned"
                       if clusters else "no clusters outside homes")
    size = sum(c.size_bytes for c in lost)
    listed = "; ".join(describe(c) for c in lost)
    return Finding("clusters", "warn",
                   f"{len(lost)} orphaned cluster(s), {size / 2**20:.0f} MB: {listed}",
                   "tidemill doctor --clean-orphans removes them (their data is lost)")


def describe(cluster: Cluster) -> str:
    running = f", server running as pid {cluster.running_pid}" if cluster.running_pid else ""
    return f"{cluster.path} ({cluster.why}{running})"


def clean_orphans(where: Path = SYSTEM_DIR) -> tuple[list[str], str]:
    """Remove every orphaned cluster: what was removed, and the error that stopped it."""
    removed: list[str] = []
    for cluster in orphans(where):
        try:
            remove(cluster)
        except OSError as exc:
            return removed, f"could not remove {cluster.path}: {exc}"
        removed.append(f"removed {describe(cluster)}, {cluster.size_bytes / 2**20:.0f} MB")
    return removed, ""
