"""Benchmark of the Python env layer; prints one JSON object (times in milliseconds).

    python tests/benchmarks/bench_python_env.py [requirement ...]   (default: requests)

- resolve_ms: ``resolve_lock`` with a warm uv cache (median of 5; PyPI is still asked)
- cold_build_ms: first ``ensure_venv`` with an empty uv cache (downloads every wheel)
- warm_build_ms: a new venv for the same lock with the uv cache filled (median of 5)
- empty_build_ms: the venv of the empty lock (median of 5)
- warm_lookup_us: ``ensure_venv`` of an existing venv, in microseconds (median of 1000)
- python_start_ms: ``<venv>/bin/python -c pass`` (median of 20)
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from desktop_app.runtimes.python_env import ensure_venv, resolve_lock


def median_ms(action: Callable[[int], object], times: int) -> float:
    samples = []
    for i in range(times):
        started = time.perf_counter()
        action(i)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    requirements = sys.argv[1:] or ["requests"]
    with tempfile.TemporaryDirectory(prefix="bench-python-env-") as tmp:
        root = Path(tmp)
        cold_cache, cache = root / "cold-cache", root / "cache"

        started = time.perf_counter()
        lock = resolve_lock(requirements, cache_dir=cold_cache)
        cold_resolve_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        python = ensure_venv(lock, envs_dir=root / "cold", cache_dir=cold_cache)
        cold_build_ms = (time.perf_counter() - started) * 1000

        resolve_lock(requirements, cache_dir=cache)  # fill the cache used below
        ensure_venv(lock, envs_dir=root / "fill", cache_dir=cache)
        resolve_ms = median_ms(lambda _: resolve_lock(requirements, cache_dir=cache), 5)
        warm_build_ms = median_ms(
            lambda i: ensure_venv(lock, envs_dir=root / f"warm{i}", cache_dir=cache), 5)
        empty = resolve_lock([], cache_dir=cache)
        empty_build_ms = median_ms(
            lambda i: ensure_venv(empty, envs_dir=root / f"empty{i}", cache_dir=cache), 5)
        warm_lookup_us = median_ms(
            lambda _: ensure_venv(lock, envs_dir=root / "cold", cache_dir=cold_cache), 1000) * 1000
        python_start_ms = median_ms(
            lambda _: subprocess.run([str(python), "-c", "pass"], check=True), 20)

    print(json.dumps({
        "requirements": requirements,
        "pins": len(lock.splitlines()) - 1,
        "cold_resolve_ms": round(cold_resolve_ms, 1),
        "resolve_ms": round(resolve_ms, 1),
        "cold_build_ms": round(cold_build_ms, 1),
        "warm_build_ms": round(warm_build_ms, 1),
        "empty_build_ms": round(empty_build_ms, 1),
        "warm_lookup_us": round(warm_lookup_us, 1),
        "python_start_ms": round(python_start_ms, 2),
    }, indent=2))


if __name__ == "__main__":
    main()
