"""The peers' side of bench_peers.py: the same workload on Prefect 3 or DBOS, run inside
the temporary venv the benchmark built (so it imports neither Tidemill nor its packages).

    python peers_workload.py prefect|dbos [DATABASE_URL]

Prints one JSON object: fibo40_s (three runs of a flow/workflow of 40 sequential fibo(10)
steps), trivial200_s (PEERS_TRIVIAL, default 200, trivial flow/workflow runs, one after another, each awaited).
Both peers run their steps in this process (threads/coroutines), not one process each.
"""

import json
import os
import sys
import time


def fibo(n):
    return n if n < 2 else fibo(n - 1) + fibo(n - 2)


def prefect_runs():
    from prefect import flow, task

    @task
    def step(n):
        return fibo(n)

    @flow
    def fibo40():
        return [step(10) for _ in range(40)]

    @flow
    def trivial():
        return 1

    fibo40()  # warm-up: the ephemeral API server starts, the database is created
    trivial()
    return fibo40, trivial


def dbos_runs(url):
    from dbos import DBOS

    DBOS(config={"name": "peers_bench", "system_database_url": url})

    @DBOS.step()
    def step(n):
        return fibo(n)

    @DBOS.workflow()
    def fibo40():
        return [step(10) for _ in range(40)]

    @DBOS.workflow()
    def trivial():
        return 1

    DBOS.launch()
    fibo40()
    trivial()
    return fibo40, trivial


def main():
    peer = sys.argv[1]
    fibo40, trivial = prefect_runs() if peer == "prefect" else dbos_runs(sys.argv[2])
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        assert fibo40() == [55] * 40
        runs.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    trivial_runs = int(os.environ.get("PEERS_TRIVIAL", "200"))
    for _ in range(trivial_runs):
        assert trivial() == 1
    trivial_s = time.perf_counter() - t0
    print(json.dumps({"fibo40_s": [round(r, 3) for r in runs],
                      f"trivial{trivial_runs}_s": round(trivial_s, 3)}), flush=True)
    if peer == "dbos":
        from dbos import DBOS

        DBOS.destroy()


if __name__ == "__main__":
    main()
