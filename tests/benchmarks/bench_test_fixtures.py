"""What a test pays before its first request: a daemon subprocess with two workers (the
`daemon` fixture) against the API served in-process (`api_only`). Prints JSON.

    python tests/benchmarks/bench_test_fixtures.py --runs 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from desktop_app.db.embedded import EmbeddedPostgres
from desktop_app.db.migrate import migrate
from tests.e2e.daemon_harness import RunningDaemon, free_port
from tests.support.api_server import ApiServer
from tests.support.keyring_session import secret_service_session
from tests.support.pg import (
    create_database,
    discard_server,
    seal_template,
    url_for_db,
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    runs = ap.parse_args().runs
    tmp = Path(tempfile.mkdtemp(prefix="bench-fixtures-"))
    server = EmbeddedPostgres(tmp / "pg", settings={"fsync": "off"})
    server.start()
    try:
        create_database(server.url, "tpl")
        migrate(url_for_db(server.url, "tpl"))
        seal_template(server.url, "tpl")
        with secret_service_session(tmp / "keyring"):
            daemon_s, inproc_s = [], []
            for _ in range(runs):
                url = create_database(server.url, f"d{uuid.uuid4().hex}", template="tpl")
                t0 = time.perf_counter()
                d = RunningDaemon(home=tmp / f"h{uuid.uuid4().hex}", port=free_port(),
                                  database_url=url).start()
                daemon_s.append(time.perf_counter() - t0)
                d.stop()
                url = create_database(server.url, f"a{uuid.uuid4().hex}", template="tpl")
                t0 = time.perf_counter()
                a = ApiServer(home=tmp / f"a{uuid.uuid4().hex}", database_url=url).start()
                inproc_s.append(time.perf_counter() - t0)
                a.stop()
    finally:
        discard_server(server)
    print(json.dumps({"runs": runs,
                      "daemon_fixture_start_s_median": round(statistics.median(daemon_s), 3),
                      "api_only_start_s_median": round(statistics.median(inproc_s), 3)}))


if __name__ == "__main__":
    main()
