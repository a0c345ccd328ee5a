"""TypeScript (Deno), PostgreSQL, DuckDB and Go scripts, deployed and run end to end through
the CLI and the HTTP API of a real daemon, with their failure cases."""

from __future__ import annotations

import json
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from desktop_app.db.embedded import EmbeddedPostgres
from tests.e2e.daemon_harness import RunningDaemon
from tests.support.pg import create_database, drop_database, postgresql_resource

# Each test deploys and runs its own items (distinct paths, its own resource and database)
# and judges only its own jobs: one daemon serves the module (tests/e2e/conftest.py
# `module_daemon`).
pytestmark = pytest.mark.shared_daemon

SECRET = "sk-ts-4a5b6c7d8e9f"


def run_logged(daemon: RunningDaemon, path: str, args: dict[str, Any] | None = None
               ) -> tuple[str, Any, str]:
    """(status, result, log) of a synchronous run through the API."""
    r = daemon.api("POST", f"jobs/run_wait_result/p/{path}", json=args or {})
    assert r.status_code == 200, r.text
    logs = daemon.api("GET", f"jobs_u/get_logs/{r.headers['x-tidemill-job-id']}").text
    return r.headers["x-tidemill-job-status"], r.json(), logs


# -- TypeScript ---------------------------------------------------------------------------

GREET_TS = textwrap.dedent('''
    export async function main(name: string, times: number = 2, when?: Date, tags: string[] = []) {
      console.log(`greeting ${name}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
      return {
        greeting: Array(times).fill(`hello ${name}`).join(" "),
        year: when ? when.getUTCFullYear() : null,
        tags,
        big: 2n ** 10n,
      };
    }
''')


def test_typescript_runs_through_cli_and_api(daemon: RunningDaemon, tmp_path: Path) -> None:
    script = tmp_path / "greet.ts"
    script.write_text(GREET_TS)
    daemon.cli("deploy", str(script), "--path", "f/demo/greet_ts", check=True)
    assert daemon.api("GET", "scripts/get/p/f/demo/greet_ts").json()["language"] == "deno"
    res = daemon.cli("run", "f/demo/greet_ts", "-a", "name=Ada", "-a", "when=2024-05-01T10:00:00Z",
                     check=True)
    # positional args in signature order; the missing `times` takes main's default
    assert json.loads(res.stdout) == {"greeting": "hello Ada hello Ada", "year": 2024, "tags": [],
                                      "big": 1024}
    status, result, logs = run_logged(daemon, "f/demo/greet_ts",
                                      {"name": "Bo", "times": 3, "tags": ["x"]})
    assert status == "success", result
    assert result == {"greeting": "hello Bo hello Bo hello Bo", "year": None, "tags": ["x"],
                      "big": 1024}
    assert "greeting Bo" in logs

    # a `bun` script: bare imports resolve from npm (and node builtins), now on the real Bun
    daemon.deploy("f/demo/bun_chunk", 'import _ from "lodash";\nimport * as path from "path";\n'
                  'export function main(n: number) {\n  return [_.chunk([1, 2, 3], n), path.join("a", "b")];\n}\n',
                  "bun")
    assert daemon.run_wait("f/demo/bun_chunk", {"n": 2}) == ("success", [[[1, 2], [3]], "a/b"])


def test_typescript_failures_are_clear(daemon: RunningDaemon) -> None:
    daemon.deploy("f/demo/bad_import", 'import { helper } from "./helpers.ts";\n\n'
                  "export function main() {\n  return helper();\n}\n", "deno")
    status, result, logs = run_logged(daemon, "f/demo/bad_import")
    assert status == "failure"
    err = result["error"]
    assert err["name"] == "TypeError" and 'Module not found "helpers.ts"' in err["message"]
    assert "main.ts:1:" in err["message"]  # the line of the import
    assert "Module not found" in logs and "main.ts:1:" in logs

    daemon.deploy("f/demo/bad_npm", 'import x from "npm:tidemill-no-such-package-7c1e";\n'
                  "export function main() { return x; }\n", "deno")
    status, result, _ = run_logged(daemon, "f/demo/bad_npm")
    assert status == "failure" and "tidemill-no-such-package-7c1e" in result["error"]["message"]

    daemon.deploy("f/demo/throws", "function check(n: number) {\n"
                  "  if (n > 1) throw new RangeError(`too big: ${n}`);\n}\n\n"
                  "export function main(n: number) {\n  check(n);\n  return n;\n}\n", "deno")
    status, result, logs = run_logged(daemon, "f/demo/throws", {"n": 5})
    assert status == "failure"
    err = result["error"]
    assert (err["name"], err["message"]) == ("RangeError", "too big: 5")
    assert "main.ts:2:" in err["stack"] and "wrapper" not in err["stack"]
    assert "RangeError: too big: 5" in logs

    # writing outside the job's folder is not permitted
    daemon.deploy("f/demo/escape", "export async function main() {\n"
                  '  await Deno.writeTextFile("/etc/tidemill-escape", "x");\n}\n', "deno")
    status, result, _ = run_logged(daemon, "f/demo/escape")
    assert status == "failure" and result["error"]["name"] == "NotCapable"


USES_WINDMILL_CLIENT = textwrap.dedent(f'''
    import * as wmill from "npm:windmill-client@1";

    export async function main() {{
      const key = await wmill.getVariable("u/admin/ts_key");
      console.log(`the key is ${{key}}`);
      const db = await wmill.getResource("f/demo/ts_db");
      const state = await wmill.getState();
      await wmill.setState({{ runs: (state?.runs ?? 0) + 1 }});
      return {{ keyOk: key === {SECRET!r}, host: db.host, passwordOk: db.password === key, state: state ?? null }};
    }}
''')


def test_windmill_client_npm_package_in_typescript(daemon: RunningDaemon) -> None:
    r = daemon.api("POST", "variables/create",
                   json={"path": "u/admin/ts_key", "value": SECRET, "is_secret": True})
    assert r.status_code == 201, r.text
    r = daemon.api("POST", "resources/create",
                   json={"path": "f/demo/ts_db", "resource_type": "postgresql",
                         "value": {"host": "db.internal", "user": "app", "dbname": "app",
                                   "password": "$var:u/admin/ts_key"}})
    assert r.status_code == 201, r.text
    daemon.deploy("f/demo/wm_ts", USES_WINDMILL_CLIENT, "deno")
    status, first, logs = run_logged(daemon, "f/demo/wm_ts")
    assert status == "success", (first, logs)
    assert first == {"keyOk": True, "host": "db.internal", "passwordOk": True, "state": None}
    assert "the key is *****" in logs and SECRET not in logs
    status, second, _ = run_logged(daemon, "f/demo/wm_ts")
    assert status == "success" and second["state"] == {"runs": 1}  # setState persisted


# -- PostgreSQL ---------------------------------------------------------------------------

@pytest.fixture
def app_db(pg_server: EmbeddedPostgres) -> Iterator[dict[str, Any]]:
    """A database of the session's server for scripts to work on, and the `postgresql`
    resource value that reaches it (host = the server's Unix socket directory)."""
    name = f"rt_{uuid.uuid4().hex[:12]}"
    url = create_database(pg_server.url, name)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, "
                     "qty int NOT NULL DEFAULT 1, meta jsonb)")
    value = postgresql_resource(url)
    yield {"url": url, "value": value}
    drop_database(pg_server.url, name)


def _make_pg_resource(daemon: RunningDaemon, value: dict[str, Any], path: str) -> None:
    r = daemon.api("POST", "resources/create",
                   json={"path": path, "resource_type": "postgresql", "value": value})
    assert r.status_code == 201, r.text


ADD_ITEM_SQL = textwrap.dedent('''
    -- $1 name
    -- $2 qty (int) = 1
    -- $3 meta (jsonb)
    INSERT INTO items (name, qty, meta) VALUES ($1, $2, $3)
    RETURNING id, name, qty, meta, '100%' AS pct;
''')


def test_postgresql_runs_through_cli_and_api(daemon: RunningDaemon, app_db: dict[str, Any],
                                             tmp_path: Path) -> None:
    _make_pg_resource(daemon, app_db["value"], "f/demo/pg_cli")
    script = tmp_path / "add_item.pg.sql"
    script.write_text(ADD_ITEM_SQL)
    daemon.cli("deploy", str(script), "--path", "f/demo/add_item", check=True)
    res = daemon.cli("run", "f/demo/add_item", "-a", "database=$res:f/demo/pg_cli", "-a", "name=apple",
                     "-a", "qty=3", "-a", 'meta={"from": "cli"}', check=True)
    assert json.loads(res.stdout) == [{"id": 1, "name": "apple", "qty": 3, "meta": {"from": "cli"},
                                       "pct": "100%"}]
    status, result, _ = run_logged(daemon, "f/demo/add_item", {
        "database": "$res:f/demo/pg_cli", "name": "pear", "meta": {"ripe": True}})
    assert status == "success", result
    assert result == [{"id": 2, "name": "pear", "qty": 1, "meta": {"ripe": True}, "pct": "100%"}]

    # several statements: one list of rows per statement; a pinned database needs no argument
    daemon.deploy("f/demo/report", "-- database f/demo/pg_cli\n"
                  "SELECT count(*) AS n, sum(qty) AS total FROM items;\n"
                  "SELECT name FROM items ORDER BY id;\n", "postgresql")
    status, result, _ = run_logged(daemon, "f/demo/report")
    assert (status, result) == ("success", [[{"n": 2, "total": 4}],
                                            [{"name": "apple"}, {"name": "pear"}]])


def test_postgresql_failure_rolls_back_the_run(daemon: RunningDaemon,
                                               app_db: dict[str, Any]) -> None:
    _make_pg_resource(daemon, app_db["value"], "f/demo/pg_rollback")
    daemon.deploy("f/demo/half", "-- $1 name\n"
                  "INSERT INTO items (name) VALUES ($1);\n"
                  "INSERT INTO items (name) VALUES ('second');\n"
                  "\n"
                  "UPDATE items\n   SET qty = qty / 0;\n", "postgresql")
    status, result, logs = run_logged(daemon, "f/demo/half",
                                      {"database": "$res:f/demo/pg_rollback", "name": "first"})
    assert status == "failure"
    err = result["error"]
    assert err["name"] == "PostgresError" and err["sqlstate"] == "22012"
    assert "division by zero" in err["message"] and "rolled back" in err["message"]
    assert err["statement"] == 3 and err["line"] == 5
    assert "UPDATE items" in err["message"]
    assert "division by zero" in logs
    with psycopg.connect(app_db["url"]) as conn:  # neither insert took effect
        assert conn.execute("SELECT count(*) FROM items").fetchone() == (0,)

    daemon.deploy("f/demo/typo", "SELECT *\n  FROM itemz;\n", "postgresql")
    status, result, _ = run_logged(daemon, "f/demo/typo", {"database": "$res:f/demo/pg_rollback"})
    assert status == "failure" and 'relation "itemz" does not exist' in result["error"]["message"]
    assert result["error"]["line"] == 2

    status, result, _ = run_logged(daemon, "f/demo/typo", {"database": "$res:f/demo/nowhere"})
    assert status == "failure" and result["error"]["name"] == "ResourceError"
    assert "f/demo/nowhere" in result["error"]["message"]


def test_postgresql_cancel_stops_the_query(daemon: RunningDaemon, app_db: dict[str, Any]) -> None:
    _make_pg_resource(daemon, app_db["value"], "f/demo/pg_cancel")
    daemon.deploy("f/demo/slow", "SELECT pg_sleep(60);\n", "postgresql")
    job_id = daemon.api("POST", "jobs/run/p/f/demo/slow", json={"database": "$res:f/demo/pg_cancel"}).text

    def backends() -> int:
        with psycopg.connect(app_db["url"]) as conn:
            row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                               (f"tidemill job {job_id}",)).fetchone()
            return int(row[0]) if row else 0

    deadline = time.monotonic() + 30
    while backends() == 0:
        assert time.monotonic() < deadline, "the query never started"
        time.sleep(0.1)
    assert daemon.api("POST", f"jobs_u/queue/cancel/{job_id}", json={"reason": "test"}).status_code == 200
    job = daemon.wait_job(job_id)
    assert job["canceled"] is True
    deadline = time.monotonic() + 10  # the killed runner's backend goes too, not after 60 s
    while backends():
        assert time.monotonic() < deadline, "the query outlived its job"
        time.sleep(0.1)


def test_duckdb_local_etl(daemon: RunningDaemon) -> None:
    daemon.deploy("f/demo/duck", textwrap.dedent('''
        -- $n (int) = 3
        -- $word (text)
        CREATE TABLE t AS SELECT range AS i FROM range(10);
        SELECT i, $word || i AS w FROM t WHERE i < $n ORDER BY i;
    '''), "duckdb")
    status, result, _ = run_logged(daemon, "f/demo/duck", {"word": "w"})
    assert status == "success", result
    assert result == [[{"Count": 10}], [{"i": 0, "w": "w0"}, {"i": 1, "w": "w1"},
                                        {"i": 2, "w": "w2"}]]


# -- Go -----------------------------------------------------------------------------------

GREET_GO = textwrap.dedent('''
    package inner

    import (
    \t"fmt"
    \t"strings"
    )

    type Options struct {
    \tUpper bool `json:"upper"`
    }

    func main(name string, times int, opts Options) (interface{}, error) {
    \tfmt.Println("greeting", name)
    \ts := strings.TrimSpace(strings.Repeat("hello "+name+" ", times))
    \tif opts.Upper {
    \t\ts = strings.ToUpper(s)
    \t}
    \treturn map[string]interface{}{"greeting": s, "times": times}, nil
    }
''')


def test_go_runs_through_cli_and_api(daemon: RunningDaemon, tmp_path: Path) -> None:
    script = tmp_path / "greet.go"
    script.write_text(GREET_GO)
    daemon.cli("deploy", str(script), "--path", "f/demo/greet_go", check=True)
    res = daemon.cli("run", "f/demo/greet_go", "-a", "name=Ada", "-a", "times=2",
                     "-a", 'opts={"upper": false}', check=True, timeout=300)  # the first build of the session fills Go's build cache
    assert json.loads(res.stdout) == {"greeting": "hello Ada hello Ada", "times": 2}
    status, result, logs = run_logged(daemon, "f/demo/greet_go",
                                      {"name": "Bo", "times": 1, "opts": {"upper": True}})
    assert (status, result) == ("success", {"greeting": "HELLO BO", "times": 1})
    assert "greeting Bo" in logs

    daemon.deploy("f/demo/go_err", 'package inner\n\nimport "errors"\n\n'
                  'func main(n int) (string, error) {\n\treturn "", errors.New("no luck")\n}\n', "go")
    status, result, _ = run_logged(daemon, "f/demo/go_err", {"n": 1})
    assert status == "failure" and result["error"] == {"name": "Error", "message": "no luck"}


def test_go_compile_error_names_the_line(daemon: RunningDaemon) -> None:
    daemon.deploy("f/demo/go_bad", "package inner\n\nfunc main(x string) (interface{}, error) {\n"
                  "\treturn undefinedThing, nil\n}\n", "go")
    status, result, logs = run_logged(daemon, "f/demo/go_bad", {"x": "a"})
    assert status == "failure"
    err = result["error"]
    assert err["name"] == "CompileError"
    assert "main.go:4:9: undefined: undefinedThing" in err["message"]
    assert "main.go:4:9: undefined: undefinedThing" in logs
