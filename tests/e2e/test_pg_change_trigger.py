"""Postgres change triggers through logical replication, on a real daemon against its own
embedded PostgreSQL started with wal_level = logical (one per module): the publication and
the slot created from Windmill's fields, inserts/updates/deletes delivered in Windmill's
shape, nothing replayed once queued, untracked tables and kinds ignored; a database without
logical WAL, a missing publication and bad names say what is wrong.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from desktop_app.db.embedded import EmbeddedPostgres
from tests.e2e.daemon_harness import RunningDaemon
from tests.e2e.event_peers import wait_for
from tests.e2e.test_event_triggers import _create, _get, _runs, _wait_runs
from tests.support.pg import discard_server, postgresql_resource

ECHO = "def main(**kwargs):\n    return kwargs\n"


@pytest.fixture(scope="module")
def logical_pg() -> Iterator[str]:
    """A second embedded server, with logical WAL, holding the tables being watched."""
    home = Path(tempfile.mkdtemp(prefix="tm-logical-"))
    server = EmbeddedPostgres(home, settings={"wal_level": "logical",
                                              "max_replication_slots": "10"})
    try:
        url = server.start()
        with psycopg.connect(url, autocommit=True) as c:
            c.execute("CREATE TABLE orders (id int PRIMARY KEY, item text, qty int,"
                      " price numeric, paid boolean, meta jsonb)")
            c.execute("ALTER TABLE orders REPLICA IDENTITY FULL")  # updates carry old_row
            c.execute("CREATE TABLE audit (id int PRIMARY KEY, what text)")
        yield url
    finally:
        discard_server(server)
        shutil.rmtree(home, ignore_errors=True)


def _resource(d: RunningDaemon, path: str, value: dict[str, Any]) -> None:
    r = d.api("POST", "resources/create", json={"path": path, "resource_type": "postgresql",
                                                "value": value})
    assert r.status_code == 201, r.text


def _error_of(d: RunningDaemon, path: str) -> str:
    got = wait_for(f"{path} to report its error", lambda: (lambda g: g if g["last_error"]
                                                           else None)(_get(d, "postgres", path)),
                   timeout=60)
    assert got["status"] in ("error", "connecting"), got
    return str(got["last_error"])


PUBLICATION = {"transaction_to_track": ["Insert", "Update", "Delete"],
               "table_to_track": [{"schema_name": "public",
                                   "table_to_track": [{"table_name": "orders"}]}]}


def test_table_changes_run_the_script_in_windmills_shape(
        daemon: RunningDaemon, database_url: str, logical_pg: str) -> None:
    daemon.deploy("f/ev/changes", ECHO)
    _resource(daemon, "f/ev/shop_db", postgresql_resource(logical_pg))
    r = _create(daemon, "postgres", path="f/ev/orders", script_path="f/ev/changes",
                postgres_resource_path="$res:f/ev/shop_db",
                replication_slot_name="tidemill_orders", publication_name="tidemill_orders",
                publication=PUBLICATION)
    assert r.status_code == 201, r.text
    got = wait_for("connected", lambda: (lambda g: g if g["status"] == "connected" else None)(
        _get(daemon, "postgres", "f/ev/orders")), timeout=60)
    assert got["publication_name"] == "tidemill_orders" and "channel" not in got
    with psycopg.connect(logical_pg, autocommit=True) as c:
        # the listener made the publication (orders only) and the pgoutput slot
        assert c.execute("SELECT tablename FROM pg_publication_tables WHERE pubname ="
                         " 'tidemill_orders'").fetchall() == [("orders",)]
        assert c.execute("SELECT plugin FROM pg_replication_slots WHERE slot_name ="
                         " 'tidemill_orders'").fetchone() == ("pgoutput",)
        c.execute("""INSERT INTO orders VALUES (1, 'tea', 2, 3.50, false, '{"gift": true}')""")
        c.execute("INSERT INTO audit VALUES (1, 'not tracked')")
        with c.transaction():  # two changes in one transaction: two runs
            c.execute("UPDATE orders SET qty = 3, paid = true WHERE id = 1")
            c.execute("INSERT INTO orders VALUES (2, 'cake', 1, NULL, false, NULL)")
        c.execute("DELETE FROM orders WHERE id = 2")
    runs = _wait_runs(database_url, "f/ev/orders", 4, timeout=60)
    assert all(r["status"] == "success" and r["kind"] == "postgres" for r in runs), runs
    results = [r["result"] for r in runs]
    base = {"schema_name": "public", "table_name": "orders"}
    tea = {"id": 1, "item": "tea", "qty": 2, "price": 3.5, "paid": False,
           "meta": {"gift": True}}
    assert results[0] == {**base, "transaction_type": "insert", "row": tea}
    assert results[1] == {**base, "transaction_type": "update", "old_row": tea,
                          "row": {**tea, "qty": 3, "paid": True}}
    assert results[2] == {**base, "transaction_type": "insert",
                          "row": {"id": 2, "item": "cake", "qty": 1, "price": None,
                                  "paid": False, "meta": None}}
    assert results[3]["transaction_type"] == "delete" and results[3]["row"]["id"] == 2

    # queued changes are not delivered again: one more change is exactly one more run
    with psycopg.connect(logical_pg, autocommit=True) as c:
        c.execute("INSERT INTO orders VALUES (3, 'jam', 1, 2, true, NULL)")
    runs = _wait_runs(database_url, "f/ev/orders", 5, timeout=60)
    wait_for("the slot to move on", lambda: _slot_lag(logical_pg) == 0, timeout=30)
    assert len(_runs(database_url, "f/ev/orders")) == 5
    assert runs[4]["result"]["row"]["item"] == "jam"
    listed = [t for t in daemon.api("GET", "triggers/list").json() if t["path"] == "f/ev/orders"]
    assert listed[0]["detail"] == ("publication tidemill_orders (slot tidemill_orders)"
                                   " on f/ev/shop_db")

    # Bad input. A database without logical WAL (the daemon's own, wal_level replica):
    _resource(daemon, "f/ev/plain_db", postgresql_resource(database_url))
    assert _create(daemon, "postgres", path="f/ev/no_wal", script_path="f/ev/changes",
                   postgres_resource_path="f/ev/plain_db", replication_slot_name="s1",
                   publication_name="p1", publication=PUBLICATION).status_code == 201
    error = _error_of(daemon, "f/ev/no_wal")
    assert "wal_level = logical" in error and "reconnecting in" in error, error
    # a publication that does not exist, and none described to create
    assert _create(daemon, "postgres", path="f/ev/no_pub", script_path="f/ev/changes",
                   postgres_resource_path="f/ev/shop_db", replication_slot_name="s2",
                   publication_name="nobody_made_this").status_code == 201
    error = _error_of(daemon, "f/ev/no_pub")
    assert "the publication 'nobody_made_this' does not exist" in error, error
    # names and shapes: 400s naming the field, nothing stored
    for body, says in [
        ({"replication_slot_name": "Bad-Slot", "publication_name": "p"},
         "'replication_slot_name' must be a slot name"),
        ({"replication_slot_name": "s", "publication_name": "1p"},
         "'publication_name' must be a PostgreSQL identifier"),
        ({"replication_slot_name": "s", "publication_name": "p",
          "publication": {"transaction_to_track": ["Truncate"]}},
         "'publication.transaction_to_track' must be a list of Insert, Update and Delete"),
        ({"replication_slot_name": "s", "publication_name": "p", "publication": {
            "table_to_track": [{"schema_name": "public",
                                "table_to_track": [{"table_name": "x; drop"}]}]}},
         "'publication.table_to_track[0].table_to_track[0].table_name' must be a table"),
        ({"replication_slot_name": "s", "publication_name": "p", "channel": "c"},
         "exclude each other"),
    ]:
        r = _create(daemon, "postgres", path="f/ev/bad", script_path="f/ev/changes",
                    postgres_resource_path="f/ev/shop_db", **body)
        assert r.status_code == 400 and says in r.json()["error"]["message"], (body, r.text)
        assert daemon.api("GET", "postgres_triggers/exists/f/ev/bad").json() is False
    assert "Traceback" not in daemon.log()


def _slot_lag(url: str) -> int:
    """Changes still held by the slot (0 once every queued run's change is acknowledged)."""
    with psycopg.connect(url, autocommit=True) as c:
        return len(c.execute("SELECT 1 FROM pg_logical_slot_peek_binary_changes("
                             "'tidemill_orders', NULL, NULL, 'proto_version', '1',"
                             " 'publication_names', 'tidemill_orders')").fetchall())


@pytest.mark.api_only
def test_slots_and_publications_are_managed_through_windmills_endpoints(
        daemon: RunningDaemon, database_url: str, logical_pg: str) -> None:
    # A deleted trigger leaves its slot, and a slot nobody reads keeps WAL forever: the
    # user lists the slots of a postgresql resource's database and deletes the stale one.
    _resource(daemon, "f/ev/shop_db", postgresql_resource(logical_pg))
    _resource(daemon, "f/ev/plain_db", postgresql_resource(database_url))
    pt = "postgres_triggers"
    assert daemon.api("GET", f"{pt}/is_valid_postgres_configuration/f/ev/shop_db").json() is True
    assert daemon.api("GET", f"{pt}/is_valid_postgres_configuration/f/ev/plain_db"
                      ).json() is False
    r = daemon.api("POST", f"{pt}/slot/create/f/ev/shop_db", json={"name": "tm_stale"})
    assert r.status_code == 201, r.text
    assert {"slot_name": "tm_stale", "active": False} in daemon.api(
        "GET", f"{pt}/slot/list/f/ev/shop_db").json()
    again = daemon.api("POST", f"{pt}/slot/create/f/ev/shop_db", json={"name": "tm_stale"})
    assert again.status_code == 409 and "already exists" in again.text
    no_wal = daemon.api("POST", f"{pt}/slot/create/f/ev/plain_db", json={"name": "tm_x"})
    assert no_wal.status_code == 400 and "wal_level = logical" in no_wal.text, no_wal.text
    bad = daemon.api("POST", f"{pt}/slot/create/f/ev/shop_db", json={"name": "Bad-Slot"})
    assert bad.status_code == 400 and "'name' must be a slot name" in bad.text

    # a trigger still reading the slot: deleting it is refused, naming the trigger
    daemon.deploy("f/ev/changes", ECHO)
    assert _create(daemon, "postgres", path="f/ev/stale", script_path="f/ev/changes",
                   postgres_resource_path="$res:f/ev/shop_db", replication_slot_name="tm_stale",
                   publication_name="tm_pub").status_code == 201
    used = daemon.api("DELETE", f"{pt}/slot/delete/f/ev/shop_db", json={"name": "tm_stale"})
    assert used.status_code == 409 and "f/ev/stale" in used.text, used.text
    assert daemon.api("DELETE", "postgres_triggers/delete/f/ev/stale"
                      ).status_code == 200
    r = daemon.api("DELETE", f"{pt}/slot/delete/f/ev/shop_db", json={"name": "tm_stale"})
    assert r.status_code == 200, r.text
    with psycopg.connect(logical_pg, autocommit=True) as c:
        assert c.execute("SELECT 1 FROM pg_replication_slots WHERE slot_name = 'tm_stale'"
                         ).fetchone() is None  # WAL no longer held for it
    assert "tm_stale" not in str(daemon.api("GET", f"{pt}/slot/list/f/ev/shop_db").json())
    gone = daemon.api("DELETE", f"{pt}/slot/delete/f/ev/shop_db", json={"name": "tm_stale"})
    assert gone.status_code == 404 and "no replication slot 'tm_stale'" in gone.text

    # publications: create with columns and a row filter, read back, replace, delete
    spec = {"transaction_to_track": ["Insert", "Update"],
            "table_to_track": [{"schema_name": "public", "table_to_track": [
                {"table_name": "orders", "columns_name": ["id", "item", "qty"],
                 "where_clause": "qty > 1"}]}]}
    r = daemon.api("POST", f"{pt}/publication/create/tm_pub/f/ev/shop_db", json=spec)
    assert r.status_code == 201, r.text
    assert "tm_pub" in daemon.api("GET", f"{pt}/publication/list/f/ev/shop_db").json()
    got = daemon.api("GET", f"{pt}/publication/get/tm_pub/f/ev/shop_db").json()
    assert got == {"transaction_to_track": ["Insert", "Update"], "table_to_track": [
        {"schema_name": "public", "table_to_track": [
            {"table_name": "orders", "columns_name": ["id", "item", "qty"],
             "where_clause": "(qty > 1)"}]}]}, got
    dup = daemon.api("POST", f"{pt}/publication/create/tm_pub/f/ev/shop_db", json=spec)
    assert dup.status_code == 409
    r = daemon.api("POST", f"{pt}/publication/update/tm_pub/f/ev/shop_db",
                   json={"transaction_to_track": ["Delete"]})
    assert r.status_code == 200, r.text
    assert daemon.api("GET", f"{pt}/publication/get/tm_pub/f/ev/shop_db").json() == {
        "transaction_to_track": ["Delete"], "table_to_track": None}  # all tables now
    bad = daemon.api("POST", f"{pt}/publication/update/tm_pub/f/ev/shop_db",
                     json={"transaction_to_track": ["Truncate"]})
    assert bad.status_code == 400 and "Insert, Update and Delete" in bad.text
    assert daemon.api("DELETE", f"{pt}/publication/delete/tm_pub/f/ev/shop_db"
                      ).status_code == 200
    missing = daemon.api("GET", f"{pt}/publication/get/tm_pub/f/ev/shop_db")
    assert missing.status_code == 404 and "no publication 'tm_pub'" in missing.text
    assert daemon.api("GET", f"{pt}/publication/get/1bad/f/ev/shop_db").status_code == 400

    # acting on the database needs the resource's secret, and changing it a developer
    assert daemon.api("POST", "users/add", json={"username": "olga", "role": "operator"}
                      ).status_code == 201
    with daemon.http() as c:
        olga = c.post("/api/users/tokens/create", json={"username": "olga", "label": "o"}).text
    with daemon.http(olga) as c:
        assert c.get(f"/api/w/main/{pt}/slot/list/f/ev/shop_db").status_code == 403
        assert c.post(f"/api/w/main/{pt}/slot/create/f/ev/shop_db",
                      json={"name": "tm_olga"}).status_code == 403
    unreachable = {**postgresql_resource(logical_pg), "host": "127.0.0.1", "port": 1}
    _resource(daemon, "f/ev/down_db", unreachable)
    down = daemon.api("GET", f"{pt}/slot/list/f/ev/down_db")
    assert down.status_code == 400 and "the database of f/ev/down_db said" in down.text
