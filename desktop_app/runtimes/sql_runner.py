"""Runs one SQL job (PostgreSQL, MySQL/MariaDB or DuckDB). Standalone: imports nothing of Tidemill, so
the worker can start it as `python -P sql_runner.py JOB_DIR` like any script process
(cancel, timeout and kill-tree work the same as for other languages).

JOB_DIR/sql.json (written by the runtime, which split the script and found its
parameters): {"engine", "statements": [{"text", "source", "line", "params": [key, ...]}],
"values": {key: value}, "types": {key: declared type}, "database", "pin"}.

PostgreSQL: the `database` argument (a resource value, or a `$res:path` the API passed on
unresolved) or the script's `-- database f/path` pin is resolved through the API with the
job's token; every statement runs in one transaction, rolled back on the first error.
The result is the rows (objects) of the only statement, or one list per statement.
On failure JOB_DIR/error.json holds {"name", "message", ...} and the message goes to stderr.
"""

import base64
import datetime
import decimal
import json
import os
import sys
import uuid


class JobFailure(Exception):
    def __init__(self, name, message, **extra):
        super().__init__(message)
        self.error = {"name": name, "message": message, **extra}


def _plain(value):
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() and abs(value) < 2**53 else float(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, uuid.UUID | datetime.timedelta):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def _write(job_dir, name, data):
    tmp = os.path.join(job_dir, name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, default=_plain, allow_nan=False)
    os.replace(tmp, os.path.join(job_dir, name))


# -- PostgreSQL ---------------------------------------------------------------------------

def _resource_path(ref):
    for prefix in ("$res:", "res://"):
        if ref.startswith(prefix):
            return ref[len(prefix):]
    return ref


def _fetch_resource(path):
    # http.client, not urllib.request: half the import time, and this is every job's start.
    import http.client
    from urllib.parse import quote, urlsplit

    base = urlsplit(os.environ.get("BASE_INTERNAL_URL") or os.environ.get("WM_BASE_URL", ""))
    workspace = os.environ.get("WM_WORKSPACE", "")
    url = f"{base.path.rstrip('/')}/api/w/{workspace}/resources/get_value_interpolated/{quote(path)}"
    connection_class = http.client.HTTPSConnection if base.scheme == "https" \
        else http.client.HTTPConnection
    try:
        conn = connection_class(base.netloc, timeout=30)
        conn.request("GET", url, headers={"Authorization": "Bearer " + os.environ.get("WM_TOKEN", "")})
        response = conn.getresponse()
        body = response.read()
        conn.close()
    except OSError as exc:
        raise JobFailure("ResourceError", f"could not read the resource {path!r}: {exc}") from None
    if response.status != 200:
        detail = body.decode(errors="replace").strip()
        raise JobFailure("ResourceError", f"could not read the resource {path!r}: HTTP "
                         f"{response.status}" + (f": {detail}" if detail else ""))
    try:
        return json.loads(body)
    except ValueError as exc:
        raise JobFailure("ResourceError", f"the resource {path!r} is not JSON: {exc}") from None


def _database(spec, kind="postgresql"):
    ref = spec.get("pin") or spec.get("database")
    if isinstance(ref, str) and ref:
        ref = _fetch_resource(_resource_path(ref))
    if not isinstance(ref, dict):
        raise JobFailure("ResourceError",
                         f"no database to run on: pass a {kind} resource as the 'database' "
                         "argument, or pin one in the script with `-- database f/path/to/resource`")
    return ref


def _connect(db, job_dir):
    import psycopg

    params = {"host": db.get("host"), "port": db.get("port"), "user": db.get("user"),
              "dbname": db.get("dbname"), "password": db.get("password"),
              "sslmode": db.get("sslmode") or None, "connect_timeout": 15,
              "application_name": "tidemill job " + os.environ.get("WM_JOB_ID", "")}
    if db.get("root_certificate_pem"):
        cert = os.path.join(job_dir, "root.crt")
        with open(cert, "w", encoding="utf-8") as f:
            f.write(db["root_certificate_pem"])
        params["sslrootcert"] = cert
    params = {k: str(v) for k, v in params.items() if v not in (None, "")}
    try:
        conn = psycopg.connect(**params, autocommit=True)
    except psycopg.Error as exc:
        where = f"{db.get('host') or 'localhost'}:{db.get('port') or 5432}/{db.get('dbname') or ''}"
        raise JobFailure("ConnectionError",
                         f"could not connect to PostgreSQL at {where}: {str(exc).strip()}") from None
    try:  # a killed job's statement stops within a second instead of running on
        conn.execute("SET client_connection_check_interval = 1000")
    except psycopg.Error:
        pass
    return conn


def _bind(value, declared):
    from psycopg.types.json import Jsonb

    typ = (declared or "").lower()
    if value is not None and (typ in ("json", "jsonb") or isinstance(value, dict)):
        return Jsonb(value)
    return value


def _run_postgres(spec, job_dir):
    import psycopg
    from psycopg.rows import dict_row

    conn = _connect(_database(spec), job_dir)
    statements = spec["statements"]
    values, types = spec.get("values") or {}, spec.get("types") or {}
    results = []
    with conn:
        index, stmt = 0, None
        try:
            with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
                for stmt in statements:
                    index += 1
                    params = {k: _bind(values.get(k), types.get(k)) for k in stmt["params"]}
                    cur.execute(stmt["text"], params or None, prepare=False)
                    results.append(cur.fetchall() if cur.description is not None else [])
        except psycopg.Error as exc:
            raise _statement_failure(exc, index, stmt, len(statements)) from None
    return results[0] if len(results) == 1 else results


def _statement_failure(exc, index, stmt, count):
    diag = exc.diag
    message = (diag.message_primary or str(exc)).strip()
    extra = {"sqlstate": diag.sqlstate, "statement": index}
    text = (stmt or {}).get("source") or (stmt or {}).get("text", "")
    line = (stmt or {}).get("line", 1)
    if diag.statement_position:
        line += text.count("\n", 0, max(int(diag.statement_position) - 1, 0))
    else:  # no position: the statement's first line with code
        stripped = [i for i, ln in enumerate(text.split("\n")) if ln.strip() and
                    not ln.strip().startswith("--")]
        line += stripped[0] if stripped else 0
    extra["line"] = line
    shown = "\n".join("  " + ln for ln in text.strip().split("\n")[-12:])
    lines = [f"{message} (SQLSTATE {diag.sqlstate})" if diag.sqlstate else message]
    for label, part in (("DETAIL", diag.message_detail), ("HINT", diag.message_hint)):
        if part:
            lines.append(f"{label}: {part}")
    lines.append(f"at line {line}, in statement {index} of {count}:\n{shown}")
    lines.append("the transaction was rolled back: no statement of this run took effect")
    return JobFailure("PostgresError", "\n".join(lines), **extra)


# -- MySQL / MariaDB ----------------------------------------------------------------------

def _connect_mysql(db):
    try:
        import pymysql
    except ImportError:
        raise JobFailure("RuntimeSetupError", "PyMySQL is not installed where Tidemill runs: "
                         "install the `pymysql` Python package (pip install pymysql)") from None
    ssl: dict = {"ssl": {}} if db.get("ssl") else {}
    try:
        return pymysql.connect(
            host=db.get("host") or "localhost", port=int(db.get("port") or 3306),
            user=db.get("user") or None, password=db.get("password") or "",
            database=db.get("database") or None, connect_timeout=15, autocommit=False,
            charset="utf8mb4", cursorclass=pymysql.cursors.DictCursor, **ssl)
    except pymysql.MySQLError as exc:
        where = f"{db.get('host') or 'localhost'}:{db.get('port') or 3306}/{db.get('database') or ''}"
        raise JobFailure("ConnectionError",
                         f"could not connect to MySQL at {where}: {_mysql_message(exc)}") from None


def _mysql_message(exc):
    args: tuple = getattr(exc, "args", ())
    if len(args) >= 2 and isinstance(args[0], int):
        return f"{args[1]} (MySQL error {args[0]})"
    return str(exc)


def _mysql_value(value):
    # Objects and lists go to MySQL as JSON text (a JSON column, JSON_TABLE, ...).
    return json.dumps(value) if isinstance(value, dict | list) else value


def _run_mysql(spec, job_dir):
    import pymysql

    db = _database(spec, "mysql")
    conn = _connect_mysql(db)
    statements = spec["statements"]
    results, index, stmt = [], 0, None
    try:
        with conn.cursor() as cur:
            for stmt in statements:
                index += 1
                values = stmt.get("values")
                if isinstance(values, dict):
                    values = {k: _mysql_value(v) for k, v in values.items()}
                elif isinstance(values, list):
                    values = [_mysql_value(v) for v in values]
                cur.execute(stmt["text"], values)
                results.append(list(cur.fetchall()) if cur.description is not None else [])
        conn.commit()
    except pymysql.MySQLError as exc:
        conn.rollback()
        text = (stmt or {}).get("source", "")
        shown = "\n".join("  " + ln for ln in text.strip().split("\n")[-12:])
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        raise JobFailure(
            "MySQLError",
            f"{_mysql_message(exc)}\nin statement {index} of {len(statements)} (from line "
            f"{(stmt or {}).get('line', 1)}):\n{shown}\nthe transaction was rolled back "
            "(MySQL commits DDL such as CREATE TABLE at once: those stay)",
            code=code, statement=index) from None
    finally:
        conn.close()
    return results[0] if len(results) == 1 else results


# -- DuckDB -------------------------------------------------------------------------------

def _run_duckdb(spec, job_dir):
    try:
        import duckdb
    except ImportError:
        raise JobFailure("RuntimeSetupError", "DuckDB is not installed where Tidemill runs: "
                         "install the `duckdb` Python package (pip install duckdb)") from None

    values = spec.get("values") or {}
    conn = duckdb.connect(":memory:")
    results = []
    statements = spec["statements"]
    for index, stmt in enumerate(statements, 1):
        params = {k: values.get(k) for k in dict.fromkeys(stmt["params"])}
        try:
            cur = conn.execute(stmt["text"], params or None)
            rows = cur.fetchall() if cur.description else []
        except duckdb.Error as exc:
            line = stmt["line"] + len(stmt["text"]) - len(stmt["text"].lstrip("\n"))
            raise JobFailure("DuckDBError", f"{exc}\nin statement {index} of {len(statements)} "
                             f"(from line {line}):\n  {stmt['text'].strip()}",
                             statement=index, line=line) from None
        names = [d[0] for d in cur.description or []]
        results.append([dict(zip(names, row, strict=True)) for row in rows])
    conn.close()
    return results[0] if len(results) == 1 else results


def main():
    job_dir = sys.argv[1]
    with open(os.path.join(job_dir, "sql.json"), encoding="utf-8") as f:
        spec = json.load(f)
    run = {"duckdb": _run_duckdb, "mysql": _run_mysql}.get(spec.get("engine"), _run_postgres)
    try:
        result = run(spec, job_dir)
    except JobFailure as failure:
        print(failure.error["message"], file=sys.stderr, flush=True)
        _write(job_dir, "error.json", failure.error)
        return
    try:
        _write(job_dir, "result.json", result)
    except (TypeError, ValueError) as exc:
        _write(job_dir, "error.json", {"name": "ResultNotSerializable", "message": str(exc)})


if __name__ == "__main__":
    main()
