"""MySQL scripts (Windmill's `.my.sql`) against a real MariaDB: `-- :name` and `-- ? name`
arguments, a `mysql` resource passed as `database` or pinned with `-- database`, one
transaction per script, and the server's own message when something fails.

One MariaDB (Debian's `mariadb-server`) per module, in a temporary data folder on a free
port; one daemon per module."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymysql
import pytest

from tests.e2e.daemon_harness import RunningDaemon, free_port
from tests.support.pg import create_database, drop_database

pytestmark = pytest.mark.timeout(300)

MARIADBD = shutil.which("mariadbd") or "/usr/sbin/mariadbd"


@pytest.fixture(scope="module")
def mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A running MariaDB with a database `shop` and a user `tm` (password) that owns it:
    the value of a `mysql` resource."""
    if not Path(MARIADBD).exists():
        pytest.fail("mariadbd is missing: apt-get install mariadb-server (.ci/run does)")
    root = tmp_path_factory.mktemp("mariadb")
    data, sock, port = root / "data", root / "sock", free_port()
    subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={data}", "--user=root",
                    "--auth-root-authentication-method=normal", "--skip-test-db"],
                   check=True, capture_output=True, timeout=180)
    log = open(root / "server.log", "wb")
    server = subprocess.Popen(
        [MARIADBD, "--no-defaults", f"--datadir={data}", "--user=root", f"--port={port}",
         "--bind-address=127.0.0.1", f"--socket={sock}", f"--pid-file={root / 'pid'}",
         "--skip-log-bin", "--innodb-buffer-pool-size=16M"],
        stdout=log, stderr=subprocess.STDOUT)
    log.close()
    try:
        admin = None
        deadline = time.monotonic() + 120
        while admin is None:
            try:
                admin = pymysql.connect(unix_socket=str(sock), user="root", autocommit=True)
            except pymysql.MySQLError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("MariaDB did not start:\n"
                                         + (root / "server.log").read_text()) from None
                time.sleep(0.2)
        with admin.cursor() as cur:
            cur.execute("CREATE DATABASE shop")
            cur.execute("CREATE USER 'tm'@'127.0.0.1' IDENTIFIED BY 'pw-4821'")
            cur.execute("GRANT ALL ON shop.* TO 'tm'@'127.0.0.1'")
            cur.execute("CREATE TABLE shop.items (id INT AUTO_INCREMENT PRIMARY KEY,"
                        " name VARCHAR(40) NOT NULL UNIQUE, qty INT NOT NULL, meta JSON)")
        admin.close()
        yield {"host": "127.0.0.1", "port": port, "user": "tm", "password": "pw-4821",
               "database": "shop"}
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)


@pytest.fixture(scope="module")
def mysql_daemon(pg_server, template_database: str, tmp_path_factory: pytest.TempPathFactory,
                 shared_cache: Path, mariadb: dict[str, Any]) -> Iterator[RunningDaemon]:
    name = f"test_{uuid.uuid4().hex}"
    url = create_database(pg_server.url, name, template=template_database)
    home = tmp_path_factory.mktemp("mysql") / "home"
    home.mkdir()
    for sub in ("cache", "envs"):
        (shared_cache / sub).mkdir(parents=True, exist_ok=True)
        (home / sub).symlink_to(shared_cache / sub)
    d = RunningDaemon(home=home, port=free_port(), database_url=url, workers=2)
    d.start()
    try:
        r = d.api("POST", "resources/create", json={"path": "f/shop/db", "resource_type": "mysql",
                                                    "value": mariadb})
        assert r.status_code == 201, r.text
        yield d
    finally:
        d.stop()
        drop_database(pg_server.url, name)


def _rows(mariadb: dict[str, Any], sql: str) -> list[dict[str, Any]]:
    conn = pymysql.connect(**{k: v for k, v in mariadb.items()},
                           cursorclass=pymysql.cursors.DictCursor)
    with conn, conn.cursor() as cur:
        cur.execute(sql)
        return list(cur.fetchall())


def _run(d: RunningDaemon, path: str, args: dict[str, Any] | None = None) -> tuple[str, Any]:
    r = d.api("POST", f"jobs/run_wait_result/p/{path}", json=args or {})
    assert r.status_code == 200, r.text
    return r.headers["x-tidemill-job-status"], r.json()


ADD_ITEM = """\
-- :name (varchar)
-- :qty (int) = 1
-- :meta (json)
INSERT INTO items (name, qty, meta) VALUES (:name, :qty, :meta);
SELECT name, qty, meta, qty * 2 AS twice, '100% :not_a_param' AS note
  FROM items WHERE name = :name;
"""


def test_named_arguments_with_a_resource_argument(mysql_daemon: RunningDaemon,
                                                  mariadb: dict[str, Any]) -> None:
    d = mysql_daemon
    d.deploy("f/shop/add_item", ADD_ITEM, "mysql")
    schema = d.api("GET", "scripts/get/p/f/shop/add_item").json()["schema"]
    assert schema["order"] == ["database", "name", "qty", "meta"]  # Windmill's order
    assert schema["properties"]["database"]["format"] == "resource-mysql"
    status, result = _run(d, "f/shop/add_item", {"database": "$res:f/shop/db", "name": "apple",
                                                 "meta": '{"ripe": true}'})
    assert status == "success", result
    # One list of rows per statement; the default qty applied; `%` and `:x` in a string kept.
    assert result == [[], [{"name": "apple", "qty": 1, "meta": '{"ripe": true}', "twice": 2,
                            "note": "100% :not_a_param"}]]
    assert _rows(mariadb, "SELECT qty FROM items WHERE name = 'apple'") == [{"qty": 1}]


def test_positional_arguments_with_a_pinned_database(mysql_daemon: RunningDaemon) -> None:
    d = mysql_daemon
    d.deploy("f/shop/stock", "-- database f/shop/db\n-- ? name (varchar)\n-- ? extra (int) = 5\n"
             "SELECT ? AS name, ? + 1 AS more;\n", "mysql")
    schema = d.api("GET", "scripts/get/p/f/shop/stock").json()["schema"]
    assert "database" not in schema["properties"]
    assert _run(d, "f/shop/stock", {"name": "pear"}) == ("success", [{"name": "pear", "more": 6}])


def test_a_failing_statement_rolls_back_the_script_and_shows_the_servers_message(
        mysql_daemon: RunningDaemon, mariadb: dict[str, Any]) -> None:
    d = mysql_daemon
    d.deploy("f/shop/half", "-- database f/shop/db\n"
             "INSERT INTO items (name, qty) VALUES ('kiwi', 3);\n"
             "UPDATE items SET qty = qty + 1 WHERE nme = 'kiwi';\n", "mysql")
    status, result = _run(d, "f/shop/half")
    assert status == "failure"
    error = result["error"]
    assert error["name"] == "MySQLError" and error["code"] == 1054, error
    assert "Unknown column 'nme' in 'WHERE'" in error["message"]  # the server's words
    assert "from line 3" in error["message"]
    assert "statement 2 of 2" in error["message"] and "rolled back" in error["message"]
    assert _rows(mariadb, "SELECT * FROM items WHERE name = 'kiwi'") == []  # the insert undone


def test_bad_input_is_named(mysql_daemon: RunningDaemon, mariadb: dict[str, Any]) -> None:
    d = mysql_daemon
    # a placeholder nobody declared
    d.deploy("f/shop/undeclared", "-- database f/shop/db\n-- :name (text)\n"
             "SELECT :name, :colour;\n", "mysql")
    status, result = _run(d, "f/shop/undeclared", {"name": "x"})
    assert status == "failure" and ":colour is used but not declared" in result["error"]["message"]
    # wrong credentials: the server's refusal, with where it tried
    r = d.api("POST", "resources/create", json={"path": "f/shop/wrong", "resource_type": "mysql",
                                                "value": {**mariadb, "password": "nope"}})
    assert r.status_code == 201, r.text
    d.deploy("f/shop/ping", "SELECT 1 AS one;\n", "mysql")
    status, result = _run(d, "f/shop/ping", {"database": "$res:f/shop/wrong"})
    assert status == "failure" and result["error"]["name"] == "ConnectionError"
    assert "Access denied for user 'tm'" in result["error"]["message"]
    assert f"127.0.0.1:{mariadb['port']}/shop" in result["error"]["message"]
    # no database at all: refused before any job exists
    r = d.api("POST", "jobs/run_wait_result/p/f/shop/ping", json={})
    assert r.status_code == 400 and "'database' is required" in r.text, r.text
    # a statement that is not SQL: the server's syntax message
    d.deploy("f/shop/typo", "-- database f/shop/db\nSELEC 1;\n", "mysql")
    status, result = _run(d, "f/shop/typo")
    assert status == "failure" and "You have an error in your SQL syntax" in result["error"]["message"]
