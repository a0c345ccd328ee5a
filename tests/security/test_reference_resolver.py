"""The one `$var:`/`$res:` resolver (desktop_app.db.references) on a real database: nested
references, cycles, depth, and each reference checked against the reader's rights."""

from __future__ import annotations

from typing import Any

import pytest
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from desktop_app.core.errors import Forbidden, SecretMissing, UsageError
from desktop_app.db.references import MAX_DEPTH, ReadsAs, resolve

SECRETS = {"ref-key": "sk-live-123", "ref-pw": "pw-456"}


def keyring(_ws: str, ref: str) -> str | None:
    return SECRETS.get(ref)


@pytest.fixture
async def conn(database_url: str) -> Any:
    async with await AsyncConnection.connect(database_url, autocommit=True) as c:
        await c.execute("INSERT INTO users (username, email, role) VALUES"
                        " ('ada', 'ada@x', 'admin'), ('dev', 'dev@x', 'developer'),"
                        " ('olga', 'olga@x', 'operator')")
        await c.execute("INSERT INTO folders (name, display_name, extra_perms, created_by)"
                        " VALUES ('ops', 'ops', %s, 'ada')", (Jsonb({"u/olga": False}),))
        for path, value, secret in (("f/ops/key", None, "ref-key"), ("f/sec/key", None, "ref-key"),
                                    ("f/ops/host", "db.ops", None)):
            await c.execute("INSERT INTO variables (path, value, is_secret, secret_ref,"
                            " created_by) VALUES (%s, %s, %s, %s, 'ada')",
                            (path, value, secret is not None, secret))
        for path, value in (
                ("f/ops/db", {"host": "$var:f/ops/host", "password": {"$secret": "ref-pw"},
                              "nested": [{"token": "$var:f/ops/key"}]}),
                ("f/ops/wrap", {"inner": "$res:f/ops/db"}),
                ("f/ops/leak", {"stolen": "$var:f/sec/key"}),
                ("f/ops/a", {"next": "$res:f/ops/b"}), ("f/ops/b", {"next": "$res:f/ops/a"})):
            await c.execute("INSERT INTO resources (path, value, resource_type, created_by)"
                            " VALUES (%s, %s, 'x', 'ada')", (path, Jsonb(value)))
        yield c


async def test_nested_references_resolve_and_each_secret_is_announced_first(conn: Any) -> None:
    heard: list[str] = []

    async def on_secret(ref: str) -> None:
        heard.append(ref)

    value = await resolve(conn, "main", "$res:f/ops/wrap", ReadsAs("ada"), keyring, on_secret)
    assert value == {"inner": {"host": "db.ops", "password": "pw-456",
                               "nested": [{"token": "sk-live-123"}]}}
    assert sorted(heard) == ["ref-key", "ref-pw"]
    assert await resolve(conn, "main", "plain text", ReadsAs("ada"), keyring) == "plain text"
    assert await resolve(conn, "main", {"x": "$var:f/ops/key"}, ReadsAs("ada"), keyring) == \
        {"x": "$var:f/ops/key"}  # only a reference string itself is one


async def test_a_cycle_is_named(conn: Any) -> None:
    with pytest.raises(UsageError, match="cycle: f/ops/a → f/ops/b → f/ops/a"):
        await resolve(conn, "main", "$res:f/ops/a", ReadsAs("ada"), keyring)


async def test_depth_is_bounded(conn: Any) -> None:
    for i in range(MAX_DEPTH + 1):
        await conn.execute("INSERT INTO resources (path, value, resource_type, created_by)"
                           " VALUES (%s, %s, 'x', 'ada')",
                           (f"f/deep/r{i}", Jsonb({"next": f"$res:f/deep/r{i + 1}"})))
    with pytest.raises(UsageError, match=f"deeper than {MAX_DEPTH}"):
        await resolve(conn, "main", "$res:f/deep/r0", ReadsAs("ada"), keyring)


async def test_each_reference_is_checked_against_the_reader(conn: Any) -> None:
    # an operator's job uses what their grant covers, in person they read no secret
    assert (await resolve(conn, "main", "$res:f/ops/db", ReadsAs("olga"), keyring)
            )["password"] == "pw-456"
    with pytest.raises(Forbidden, match="operator"):
        await resolve(conn, "main", "$var:f/ops/key", ReadsAs("olga", in_job=False), keyring)
    # a reference inside a readable resource to one outside the grant is refused too
    with pytest.raises(Forbidden, match="f/sec/key"):
        await resolve(conn, "main", "$res:f/ops/leak", ReadsAs("olga"), keyring)
    with pytest.raises(Forbidden, match="dev"):
        await resolve(conn, "main", "$var:f/ops/key", ReadsAs("dev"), keyring)
    # someone who is no longer a user gets the least rights
    with pytest.raises(Forbidden):
        await resolve(conn, "main", "$var:f/sec/key", ReadsAs.permissioned_as("u/gone"), keyring)


async def test_a_missing_secret_says_what_to_do(conn: Any) -> None:
    with pytest.raises(SecretMissing) as err:
        await resolve(conn, "main", "$var:f/ops/key", ReadsAs("ada"), None)
    assert "f/ops/key" in err.value.message and "tidemill secret set" in (err.value.hint or "")
