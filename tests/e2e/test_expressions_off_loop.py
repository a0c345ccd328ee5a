"""Flow expressions run on their own threads: while ten input transforms spin to their
2 s limit, the API keeps answering, and each flow fails saying why."""

from __future__ import annotations

import statistics
import threading
import time

import httpx

from tests.e2e.daemon_harness import RunningDaemon
from tests.e2e.flow_helpers import flow, identity, js

SPIN = "(() => { while (true) {} })()"


def test_ten_spinning_transforms_leave_the_api_answering(daemon: RunningDaemon) -> None:
    step = identity("a")
    step["value"] = {"type": "rawscript", "language": "bash", "content": 'echo "$1"\n',
                     "input_transforms": {"x": js(SPIN)}}
    r = daemon.api("POST", "flows/create", json={"path": "f/spin/flow", **flow(step)})
    assert r.status_code == 201, r.text
    latencies: list[float] = []
    done = threading.Event()

    def probe() -> None:
        with httpx.Client(base_url=daemon.url, timeout=30) as c:
            while not done.is_set():
                start = time.perf_counter()
                assert c.get("/api/version").status_code == 200
                latencies.append(time.perf_counter() - start)
                time.sleep(0.02)

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        with daemon.http() as c:
            runs = [c.post("/api/w/main/jobs/run/f/f/spin/flow", json={}).text for _ in range(10)]
        jobs = [daemon.wait_job(j, timeout=120) for j in runs]
    finally:
        done.set()
        prober.join()
    for job in jobs:
        assert not job["success"]
        assert "longer than the 2 s time limit" in str(job["result"]), job["result"]
    latencies.sort()
    p95 = latencies[int(len(latencies) * 0.95)]
    print(f"/api/version while 10 expressions spun: {len(latencies)} requests, "
          f"median {statistics.median(latencies) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, "
          f"max {latencies[-1] * 1000:.1f} ms")
    assert len(latencies) > 20
    # 50 ms is the target on an idle machine; 8 helpers share 2 cores here. Before the pool
    # one spinning expression held the loop for its whole 2 s.
    assert p95 < 0.5, f"p95 {p95 * 1000:.0f} ms"
