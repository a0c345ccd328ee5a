"""TypeScript on the real Bun (installed from npm into the home on first use): Bun's own
APIs, npm imports and `windmill-client`; a sync folder's `defaultTs: bun` picks it for
`.ts` files while `.deno.ts` stays on Deno; a syntax error says where."""

from __future__ import annotations

import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_app.runtimes.bun_install import BUN_VERSION
from tests.e2e.daemon_harness import RunningDaemon, free_port
from tests.support.pg import create_database, drop_database

# The first Bun job of a session installs Bun from npm (~100 MB) and the script's packages.
pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def bun_daemon(pg_server, template_database: str, tmp_path_factory: pytest.TempPathFactory,
               shared_cache: Path) -> Iterator[RunningDaemon]:
    name = f"test_{uuid.uuid4().hex}"
    url = create_database(pg_server.url, name, template=template_database)
    home = tmp_path_factory.mktemp("bun") / "home"
    home.mkdir()
    for sub in ("cache", "envs"):
        (shared_cache / sub).mkdir(parents=True, exist_ok=True)
        (home / sub).symlink_to(shared_cache / sub)
    d = RunningDaemon(home=home, port=free_port(), database_url=url, workers=2)
    d.start()
    try:
        yield d
    finally:
        d.stop()
        drop_database(pg_server.url, name)


BUN_SCRIPT = textwrap.dedent('''
    import * as wmill from "windmill-client";
    import _ from "lodash";

    export async function main(words: string[], times: number = 2) {
      const token = await wmill.getVariable("u/admin/bun_token");
      console.log(`hashing ${words.length} words`);
      return {
        runtime: `bun ${Bun.version}`,
        chunks: _.chunk(words, times),
        hash: Bun.hash("tidemill").toString(),
        token_length: token.length,
      };
    }
''')


def test_a_bun_script_uses_bun_apis_npm_and_windmill_client(bun_daemon: RunningDaemon) -> None:
    d = bun_daemon
    r = d.api("POST", "variables/create", json={"path": "u/admin/bun_token", "value": "abc123",
                                                "is_secret": True})
    assert r.status_code == 201, r.text
    d.deploy("f/bun/words", BUN_SCRIPT, "bun")
    status, result = d.run_wait("f/bun/words", {"words": ["a", "b", "c"]})
    assert status == "success", result
    assert result["runtime"] == f"bun {BUN_VERSION}"
    assert result["chunks"] == [["a", "b"], ["c"]] and result["token_length"] == 6
    assert result["hash"].isdigit()  # Bun.hash exists only on Bun
    assert (d.home / "cache" / "bun" / BUN_VERSION / "bun").is_file()  # kept in the home


def test_default_ts_bun_of_a_sync_folder_runs_ts_files_on_bun(bun_daemon: RunningDaemon,
                                                              tmp_path: Path) -> None:
    d = bun_daemon
    which = ('export function main() {\n'
             '  return typeof Bun === "undefined" ? "deno" : "bun";\n}\n')
    folder = tmp_path / "repo"
    (folder / "f" / "rt").mkdir(parents=True)
    (folder / "wmill.yaml").write_text("defaultTs: bun\nincludes:\n  - f/**\n")
    (folder / "f" / "rt" / "plain.ts").write_text(which)
    (folder / "f" / "rt" / "old.deno.ts").write_text(which)
    d.cli("import", str(folder), check=True)
    assert d.api("GET", "scripts/get/p/f/rt/plain").json()["language"] == "bun"
    assert d.run_wait("f/rt/plain") == ("success", "bun")
    assert d.run_wait("f/rt/old") == ("success", "deno")


def test_a_syntax_error_names_the_line(bun_daemon: RunningDaemon) -> None:
    d = bun_daemon
    d.deploy("f/bun/broken", "export function main() {\n  return 1 +;\n}\n", "bun")
    r = d.api("POST", "jobs/run_wait_result/p/f/bun/broken", json={})
    assert r.status_code == 200, r.text
    assert r.headers["x-tidemill-job-status"] == "failure"
    error = r.json()["error"]
    assert error["name"] == "SyntaxError", error
    # where (file:line:column), what, and the line itself
    assert error["message"] == "main.ts:2:13: Unexpected ;\n  return 1 +;", error
