"""What the script editor asks the daemon: parse unsaved code, test-run it with live updates."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from desktop_app.client.http import ClientError, Connection, TidemillClient
from tests.e2e.daemon_harness import RunningDaemon

# Each test deploys and runs its own items and judges only its own jobs: one daemon
# serves the module (tests/e2e/conftest.py `module_daemon`).
pytestmark = pytest.mark.shared_daemon


def _client(daemon: RunningDaemon) -> TidemillClient:
    return TidemillClient(Connection(url=daemon.url, token=daemon.token), timeout=120)


@pytest.mark.api_only
def test_parse_schema_of_unsaved_code_keeps_descriptions_and_names_the_bad_line(
        daemon: RunningDaemon) -> None:
    async def go() -> None:
        async with _client(daemon) as c:
            meta = await c.parse_schema("def main(name: str, n: int = 2):\n    pass\n", "python3")
            props = meta["schema"]["properties"]
            assert props["name"]["type"] == "string" and props["n"]["default"] == 2
            assert meta["schema"]["required"] == ["name"]
            # an edit made to the old schema (a description) survives re-parsing
            props["name"]["description"] = "who to greet"
            again = await c.parse_schema("def main(name: str, loud: bool):\n    pass\n",
                                         "python3", meta["schema"])
            assert again["schema"]["properties"]["name"]["description"] == "who to greet"
            assert set(again["schema"]["properties"]) == {"name", "loud"}

            ts = await c.parse_schema("export async function main(x: number[]) {}", "deno")
            assert ts["schema"]["properties"]["x"]["type"] == "array"

            try:
                await c.parse_schema("def main(x: int:\n    pass\n", "python3")
                raise AssertionError("a syntax error must be refused")
            except ClientError as exc:
                assert exc.status == 400
                assert exc.body["error"]["line"] == 1
            try:
                await c.parse_schema("x", "cobol")
                raise AssertionError("an unknown language must be refused")
            except ClientError as exc:
                assert exc.status == 400 and "cobol" in exc.message
    asyncio.run(go())

    # bad requests say what is missing
    r = daemon.api("POST", "scripts/parse_schema", json={"language": "python3"})
    assert r.status_code == 400 and "content" in r.json()["error"]["message"]
    r = daemon.api("POST", "scripts/parse_schema", json={"content": "x"})
    assert r.status_code == 400 and "language" in r.json()["error"]["message"]
    r = daemon.api("POST", "scripts/parse_schema",
                   json={"content": "def main(): pass", "language": "python3", "schema": 3})
    assert r.status_code == 400 and "schema" in r.json()["error"]["message"]


def test_preview_job_streams_logs_then_the_result(daemon: RunningDaemon) -> None:
    code = "def main(n: int):\n    for i in range(n):\n        print('line', i)\n    return n * 2\n"

    async def go() -> list[dict[str, Any]]:
        async with _client(daemon) as c:
            job_id = await c.run_preview_async(code, "python3", {"n": 3})
            return [u async for u in c.job_updates(job_id)]
    updates = asyncio.run(go())
    logs = "".join(u.get("new_logs", "") for u in updates)
    assert "line 0" in logs and "line 2" in logs
    assert updates[-1]["completed"] and updates[-1]["job"]["result"] == 6


@pytest.mark.api_only
def test_history_and_resources_through_the_client(daemon: RunningDaemon) -> None:
    async def go() -> None:
        async with _client(daemon) as c:
            await c.deploy_script("f/x/s", "def main():\n    return 1\n", "python3",
                                  summary="first")
            await c.deploy_script("f/x/s", "def main():\n    return 2\n", "python3",
                                  summary="second")
            history = await c.script_history("f/x/s")
            assert [h["deployment_msg"] for h in history] == ["second", "first"]
            old = await c.get_script_by_hash(history[1]["script_hash"])
            assert "return 1" in old["content"]
            await c.create_resource("f/x/db1", "postgresql", {"host": "a"})
            await c.create_resource("f/x/other", "slack", {"token": "t"})
            assert [r["path"] for r in await c.list_resources("postgresql")] == ["f/x/db1"]
    asyncio.run(go())


def test_the_failing_line_is_found_in_real_python_and_deno_stacks(
        daemon: RunningDaemon) -> None:
    import pytest

    pytest.importorskip("PySide6")
    from desktop_app.gui.results_view import failing_line

    # (Go's stack, which takes a compile to get, is checked against a captured copy in
    # tests/gui/test_editor_widgets.py.)
    scripts = {
        "python3": ("def helper(x):\n    return 1 / x\n\n\ndef main(x: int = 0):\n"
                    "    return helper(x)\n", 2),
        "deno": ("function helper(): number {\n  throw new Error('boom');\n}\n"
                 "export async function main() {\n  return helper();\n}\n", 2),
    }

    async def go() -> dict[str, Any]:
        out = {}
        async with _client(daemon) as c:
            for language, (code, _line) in scripts.items():
                outcome = await c.run_preview(code, language, {})
                assert not outcome.success, (language, outcome.result)
                out[language] = outcome.result["error"].get("stack", "")
        return out
    stacks = asyncio.run(go())
    for language, (_code, line) in scripts.items():
        assert failing_line(stacks[language]) == line, (language, stacks[language])
