"""CPU seconds used by process trees (a daemon with its workers and zygotes, the embedded
PostgreSQL with its backends): on a machine shared with other work, the CPU a benchmark
costs is steadier than its wall-clock time. A process that exits meanwhile is counted in
its parent's children times (once it is reaped), so the delta of the sum over the trees'
live processes is what they used in between."""

from __future__ import annotations

from pathlib import Path

import psutil


def tree_cpu_s(*roots: int) -> float:
    total = 0.0
    for root in roots:
        try:
            top = psutil.Process(root)
            procs = [top, *top.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        for p in procs:
            try:
                t = p.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += t.user + t.system + t.children_user + t.children_system
    return total


def postmaster_pid(data_dir: Path) -> int:
    return int((data_dir / "postmaster.pid").read_text().split()[0])
