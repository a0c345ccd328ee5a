"""Benchmark: secret store latency (a private gnome-keyring over D-Bus, and the encrypted
file) and log masking throughput. Prints JSON. Run by hand:

    python tests/benchmarks/bench_secrets.py [--n 200]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import string
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from desktop_app.secrets import (
    EncryptedFileSecretStore,
    LogMasker,
    SecretStore,
    open_secret_store,
)
from tests.support.keyring_session import secret_service_session


def timings_ms(fn: Callable[[int], object], n: int) -> dict[str, float]:
    samples = []
    for i in range(n):
        t0 = time.perf_counter()
        fn(i)
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return {"median_ms": round(statistics.median(samples), 3),
            "p95_ms": round(samples[int(len(samples) * 0.95) - 1], 3),
            "max_ms": round(samples[-1], 3)}


def store_figures(store: SecretStore, n: int) -> dict[str, object]:
    return {
        "set": timings_ms(lambda i: store.set("main", f"f/bench/s{i}", f"value-{i}"), n),
        "get": timings_ms(lambda i: store.get("main", f"f/bench/s{i}"), n),
        "get_missing": timings_ms(lambda i: store.get("main", f"f/bench/none{i}"), n),
        "delete": timings_ms(lambda i: store.delete("main", f"f/bench/s{i}"), n),
    }


def masking_figures() -> dict[str, object]:
    # Random tokens: their first characters cover the alphabet, so the regex cannot skip
    # ahead on a common literal prefix (the realistic worst case, unlike "secret-0001"…).
    rng = random.Random(7)
    alphabet = string.ascii_letters + string.digits + "-_"
    values = ["".join(rng.choice(alphabet) for _ in range(rng.randint(8, 64)))
              for _ in range(100)]
    masker = LogMasker(values)
    line = "2024-06-07T12:00:00Z INFO processed batch 1234 of 5678 in 12 ms (ok)\n"
    clean = line * 15000  # ~1 MB
    dirty = (line + f"token={values[42]}\n") * 10000
    out: dict[str, object] = {"secrets": len(values)}
    for name, text in (("clean_log", clean), ("log_with_secrets", dirty)):
        t0 = time.perf_counter()
        masker.mask(text)
        seconds = time.perf_counter() - t0
        out[f"{name}_MB_per_s"] = round(len(text) / seconds / 1e6, 1)
    chunks = [clean[i:i + 4096] for i in range(0, len(clean), 4096)]
    t0, tail = time.perf_counter(), ""
    for chunk in chunks:
        _, tail = masker.mask_stream_chunk(tail, chunk)
    out["stream_4KiB_chunks_MB_per_s"] = round(len(clean) / (time.perf_counter() - t0) / 1e6, 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    n = parser.parse_args().n
    result: dict[str, object] = {"n": n}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        with secret_service_session(root / "secret-service"):
            result["secret_service_start_s"] = round(time.perf_counter() - t0, 3)
            t0 = time.perf_counter()
            keyring_store = open_secret_store(root, "bench")
            result["keyring_open_with_probe_ms"] = round((time.perf_counter() - t0) * 1000, 1)
            result["keyring"] = {"describe": keyring_store.describe(),
                                 **store_figures(keyring_store, n)}
        t0 = time.perf_counter()
        file_store = EncryptedFileSecretStore(root / "secrets.enc", "bench passphrase")
        result["encrypted_file_open_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        result["encrypted_file"] = store_figures(file_store, n)
    result["masking"] = masking_figures()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
