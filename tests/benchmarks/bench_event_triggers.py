"""Benchmark: event trigger latency. A real daemon (fresh embedded PostgreSQL, 2 workers)
with one trigger of each kind — a WebSocket server, NOTIFY on a postgresql resource, a
mosquitto broker, mail through smtplib — running `def main(**kw): return 1`. Each event
carries a sequence number; its latency is the job's `created_at` (queued) and `started_at`
minus the moment the event was sent. Prints JSON (milliseconds):

    python tests/benchmarks/bench_event_triggers.py [--events 50] [--gap-ms 100]
"""

from __future__ import annotations

import argparse
import json
import smtplib
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import psycopg
from psycopg.conninfo import conninfo_to_dict

from desktop_app.db.embedded import EmbeddedPostgres
from tests.e2e.daemon_harness import RunningDaemon, free_port
from tests.e2e.event_peers import Mosquitto, WebSocketPeer, wait_for

# the sequence number, per kind, from the run's arguments
SEQ = {"websocket": "args->>'msg'", "postgres": "args->>'payload'",
       "mqtt": "args->>'payload'", "email": "args->>'subject'"}


def percentile(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--events", type=int, default=50)
    p.add_argument("--gap-ms", type=float, default=100)
    a = p.parse_args()
    root = Path(tempfile.mkdtemp(prefix="tm-trigger-bench-"))
    pg = EmbeddedPostgres(root / "pg")
    url = pg.start()
    smtp_port = free_port()
    d = RunningDaemon(home=root / "home", port=free_port(), database_url=url, workers=2,
                      heartbeat=2.0,
                      extra_env={"TIDEMILL_SECRETS": "encrypted-file",
                                 "TIDEMILL_SECRETS_PASSPHRASE": "benchmark",
                                 "TIDEMILL_SMTP_PORT": str(smtp_port)})
    peer = WebSocketPeer()
    broker = Mosquitto(root)
    sent: dict[str, dict[str, float]] = {k: {} for k in SEQ}
    try:
        d.start()
        d.deploy("f/bench/one", "def main(**kw):\n    return 1\n")
        d.run_wait("f/bench/one")  # warm-up: venv and workers ready
        info = conninfo_to_dict(url)
        value = {k: info[k] for k in ("host", "port", "user", "dbname", "password") if info.get(k)}
        value["port"] = int(value.get("port", 5432))
        assert d.api("POST", "resources/create", json={
            "path": "f/bench/db", "resource_type": "postgresql", "value": value}).status_code == 201
        bodies = {
            "websocket": {"url": peer.url},
            "postgres": {"postgres_resource_path": "f/bench/db", "channel": "bench"},
            "mqtt": {"broker_url": broker.url, "subscribe_topics": [{"topic": "bench/#",
                                                                     "qos": "qos0"}]},
            "email": {"local_part": "bench"}}
        for kind, body in bodies.items():
            r = d.api("POST", f"{kind}_triggers/create", json={
                "path": f"f/bench/{kind}", "script_path": "f/bench/one", **body})
            assert r.status_code == 201, r.text
        for kind in bodies:
            want = "listening" if kind == "email" else "connected"
            wait_for(f"{kind} listener", lambda k=kind, w=want: d.api(
                "GET", f"{k}_triggers/get/f/bench/{k}").json()["status"] == w)
        import paho.mqtt.client as mqtt

        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        pub.connect("127.0.0.1", broker.port)
        pub.loop_start()
        smtp = smtplib.SMTP("127.0.0.1", smtp_port, timeout=10)
        with psycopg.connect(url, autocommit=True) as notifier:
            for i in range(a.events):
                seq = str(i)
                sent["websocket"][seq] = time.time()
                peer.send(seq)
                sent["postgres"][seq] = time.time()
                notifier.execute(f"NOTIFY bench, '{seq}'")
                sent["mqtt"][seq] = time.time()
                pub.publish("bench/x", seq).wait_for_publish()
                sent["email"][seq] = time.time()
                smtp.sendmail("b@x", ["bench@localhost"], f"Subject: {seq}\n\nbody\n")
                time.sleep(a.gap_ms / 1000)
        smtp.quit()
        pub.loop_stop()
        out: dict[str, object] = {"events_per_kind": a.events, "gap_ms": a.gap_ms}
        with psycopg.connect(url, autocommit=True) as c:
            for kind, expr in SEQ.items():
                rows = wait_for(f"{kind} runs", lambda k=kind, e=expr: (lambda rs: rs if len(rs)
                                >= a.events else None)(c.execute(
                                    f"SELECT {e}, extract(epoch FROM created_at),"
                                    " extract(epoch FROM started_at) FROM job_completed"
                                    " WHERE trigger_kind = %s", (k,)).fetchall()), timeout=60)
                queued = [(float(r[1]) - sent[kind][r[0]]) * 1000 for r in rows]
                started = [(float(r[2]) - sent[kind][r[0]]) * 1000 for r in rows]
                out[kind] = {"runs": len(rows),
                             "event_to_queued_ms": {"median": round(statistics.median(queued), 1),
                                                    "p99": round(percentile(queued, 99), 1)},
                             "event_to_started_ms": {"median": round(statistics.median(started), 1),
                                                     "p99": round(percentile(started, 99), 1)}}
        print(json.dumps(out, indent=2))
    finally:
        peer.stop()
        broker.stop()
        d.stop()
        pg.stop()


if __name__ == "__main__":
    main()
