"""Issue 17, one change log: each change writes one row (who, kind, path, action,
version) in its own transaction — the audit log is that table. API served in-process on
the test's database (tests/support/api_server.py)."""

from __future__ import annotations

from typing import Any

import pytest
from psycopg import Connection


@pytest.fixture
def api(api_server: Any) -> Any:
    return api_server


def _rows(url: str, where: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    with Connection.connect(url) as conn:
        cur = conn.execute(
            "SELECT username, item_kind, resource, item_action, item_version, operation,"
            f" action_kind FROM audit_log WHERE {where} ORDER BY id", params)
        return list(cur.fetchall())


def test_a_path_holding_preview_is_audited(api: Any,
                                                 database_url: str) -> None:
    # The old hook skipped every URL containing "/preview": this delete went unrecorded.
    assert (api.api("POST", "variables/create", json={
        "path": "f/preview/x", "value": "1", "is_secret": False})).status_code == 201
    assert (api.api("DELETE", "variables/delete/f/preview/x")).status_code == 200
    log = (api.api("GET", "audit/list", params={"resource": "f/preview/x"})).json()
    assert [(e["username"], e["operation"], e["action_kind"]) for e in log] == [
        ("admin", "variables.delete", "Delete"), ("admin", "variables.create", "Created")]
    assert set(log[0]) >= {"id", "timestamp", "username", "operation", "action_kind",
                           "resource", "parameters"}
    assert log[0]["parameters"] == {"method": "DELETE"}
    assert _rows(database_url, "resource = %s", ("f/preview/x",)) == [
        ("admin", "variable", "f/preview/x", "create", None, "variables.create", "Created"),
        ("admin", "variable", "f/preview/x", "delete", None, "variables.delete", "Delete")]


def test_each_change_writes_one_row_with_its_version(api: Any,
                                                           database_url: str) -> None:
    r = api.api("POST", "scripts/create", json={
        "path": "f/ok/s", "language": "bash", "content": "echo 1\n"})
    assert r.status_code == 201, r.text
    assert _rows(database_url, "resource = %s", ("f/ok/s",)) == [
        ("admin", "script", "f/ok/s", "deploy", r.text, "scripts.create", "Created")]
    # A refused change writes nothing.
    bad = api.api("POST", "scripts/create", json={
        "path": "f/ok/.git", "language": "bash", "content": "echo 1\n"})
    assert bad.status_code == 400
    assert _rows(database_url, "resource = %s", ("f/ok/.git",)) == []


def test_an_audit_row_and_its_change_roll_back_together(api: Any,
                                                              database_url: str) -> None:
    """If the change log cannot take the row, the change is not made either (and the
    other way round: they are one transaction)."""
    with Connection.connect(database_url, autocommit=True) as conn:
        conn.execute("""
            CREATE FUNCTION refuse_doomed() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.resource LIKE '%doomed%' THEN
                    RAISE EXCEPTION 'the change log refuses %', NEW.resource;
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER refuse_doomed BEFORE INSERT ON audit_log
                FOR EACH ROW EXECUTE FUNCTION refuse_doomed();""")
    cases: list[tuple[str, str, dict[str, Any]]] = [
        ("post", "variables/create", {"path": "f/ok/doomed", "value": "1",
                                      "is_secret": False}),
        ("post", "flows/create", {"path": "f/ok/doomed_flow", "value": {"modules": []}}),
        ("post", "folders/create", {"name": "doomed"}),
    ]
    for method, route, body in cases:
        try:
            r = api.api(method.upper(), route, json=body)
        except Exception as exc:  # an unhandled error reaches the in-process client
            assert "refuses" in str(exc), exc
        else:
            assert r.status_code >= 400, f"{route}: {r.status_code} {r.text}"
    with Connection.connect(database_url) as conn:
        for table, column, value in (("variables", "path", "f/ok/doomed"),
                                     ("flows", "path", "f/ok/doomed_flow"),
                                     ("folders", "name", "doomed")):
            cur = conn.execute(
                f"SELECT count(*) FROM {table} WHERE {column} = %s", (value,))
            row = cur.fetchone()
            assert row is not None and row[0] == 0, f"{table}: the change stayed"
    assert _rows(database_url, "resource LIKE %s", ("%doomed%",)) == []
    # Unrelated changes still go through, with their rows.
    assert (api.api("POST", "variables/create", json={
        "path": "f/ok/fine", "value": "1", "is_secret": False})).status_code == 201
    assert len(_rows(database_url, "resource = %s", ("f/ok/fine",))) == 1


def test_operations_that_change_no_item_are_still_audited(
        api: Any) -> None:
    r = api.api("POST", "users/add", json={"username": "ivan", "role": "operator",
                                               "email": "ivan@x"})
    assert r.status_code in (200, 201), r.text
    log = (api.api("GET", "audit/list", params={"operation": "users.add"})).json()
    assert [(e["username"], e["resource"]) for e in log] == [("admin", "ivan")]
