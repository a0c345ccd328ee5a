"""TypeScript on the real Bun (installed from npm into the home on first use): Bun's own
APIs, npm imports and `windmill-client`; a sync folder's `defaultTs: bun` picks it for
`.ts` files while `.deno.ts` stays on Deno; a syntax error says where. And TypeScript
workflow-as-code (windmill-client's `workflow`/`task`/`step`/`sleep`) with the Python one's
guarantees: no worker held between rounds, a daemon killed mid-run loses nothing,
nondeterminism detected."""

from __future__ import annotations

import collections
import json
import re
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
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


# -- workflow-as-code in TypeScript (windmill-client's workflow/task/step/sleep) ------------

WAC_SEQ = textwrap.dedent('''
    import { sleep, step, task, workflow } from "windmill-client";

    async function double(x: number) {
      console.log(`doubling ${x}`);
      return x * 2;
    }
    const square = task(async function square(x: number) { return x * x; });

    export const main = workflow(async (n: number) => {
      const a = await task(double)(n);
      const b = await task(double)(a);
      const squares = await Promise.all([1, 2, 3].map((i) => square(i)));
      const label = await step("label", () => `n=${n} at ${Date.now()}`);
      await sleep(2);
      return { a, b, squares, label: label.split(" at ")[0] };
    });
''')


def _queue_row(d: RunningDaemon, job_id: str) -> tuple[bool, object] | None:
    assert d.database_url
    with psycopg.connect(d.database_url, autocommit=True) as c:
        row = c.execute("SELECT running, scheduled_for FROM job_queue WHERE id = %s",
                        (job_id,)).fetchone()
    return (bool(row[0]), row[1]) if row else None


def test_a_typescript_workflow_runs_tasks_as_jobs_and_holds_no_worker_while_waiting(
        bun_daemon: RunningDaemon) -> None:
    d = bun_daemon
    d.deploy("f/wac/ts_seq", WAC_SEQ, "bun")
    schema = d.api("GET", "scripts/get/p/f/wac/ts_seq").json()["schema"]
    assert list(schema["properties"]) == ["n"]  # the form of `workflow(async (n: number) …)`
    job_id = d.api("POST", "jobs/run/p/f/wac/ts_seq", json={"n": 3}).text.strip('"')
    parked = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        row = _queue_row(d, job_id)
        if row is None:
            break
        if not row[0]:
            parked.append(row)  # between rounds: queued, not running, no worker
        time.sleep(0.1)
    assert parked, "the workflow never left its worker between rounds"
    job = d.wait_job(job_id, timeout=60)
    assert job["success"], job
    assert job["result"] == {"a": 6, "b": 12, "squares": [1, 4, 9], "label": "n=3"}
    view = d.api("GET", f"jobs_u/get/{job_id}").json()["workflow_as_code_status"]
    assert view["order"] == ["double", "double_2", "square", "square_2", "square_3", "label",
                             "sleep"]
    children = d.api("GET", "jobs/list", params={"parent_job": job_id}).json()
    assert len(children) == 5 and all(c["success"] for c in children)
    first = view["steps"]["double"]["job"]
    assert "doubling 3" in d.api("GET", f"jobs_u/get_logs/{first}").text


def test_a_failing_task_fails_the_workflow_with_its_message(bun_daemon: RunningDaemon) -> None:
    d = bun_daemon
    d.deploy("f/wac/ts_fail", textwrap.dedent('''
        import { task, workflow } from "windmill-client";
        const charge = task(async function charge(amount: number) {
          if (amount > 100) throw new Error(`card declined for ${amount}`);
          return "ok";
        });
        export const main = workflow(async (amount: number) => await charge(amount));
    '''), "bun")
    assert d.run_wait("f/wac/ts_fail", {"amount": 5}) == ("success", "ok")
    status, result = d.run_wait("f/wac/ts_fail", {"amount": 500})
    assert status == "failure"
    assert "card declined for 500" in json.dumps(result), result


def test_a_nondeterministic_typescript_workflow_is_detected(bun_daemon: RunningDaemon) -> None:
    d = bun_daemon
    marker = d.home.parent / f"seen-{uuid.uuid4().hex[:6]}"  # a folder jobs may write
    d.deploy("f/wac/ts_nondet", textwrap.dedent(f'''
        import {{ existsSync, writeFileSync }} from "node:fs";
        import {{ task, workflow }} from "windmill-client";
        const taskA = task(async function task_a() {{ return "a"; }});
        const taskB = task(async function task_b() {{ return "b"; }});
        export const main = workflow(async () => {{
          if (existsSync({str(marker)!r})) return await taskB();
          writeFileSync({str(marker)!r}, "");
          return await taskA();
        }});
    '''), "bun")
    status, result = d.run_wait("f/wac/ts_nondet")
    assert status == "failure" and result["error"]["name"] == "NondeterminismError", result
    assert "'task_a'" in result["error"]["message"] and "'task_b'" in result["error"]["message"]


def test_a_typescript_workflow_waits_for_approval_through_its_url(
        bun_daemon: RunningDaemon) -> None:
    d = bun_daemon
    d.deploy("f/wac/ts_approve", textwrap.dedent('''
        import { getApprovalUrls, step, waitForApproval, workflow } from "windmill-client";
        export const main = workflow(async () => {
          const urls = await step("urls", () => getApprovalUrls("mgr"));
          await step("tell", () => { console.log("RESUME " + urls.resume); return null; });
          return await waitForApproval({ key: "mgr", timeout: 120, selfApproval: false });
        });
    '''), "bun")
    job_id = d.api("POST", "jobs/run/p/f/wac/ts_approve", json={}).text.strip('"')
    url = None
    deadline = time.monotonic() + 90
    while url is None and time.monotonic() < deadline:
        m = re.search(r"RESUME (\S+)", d.api("GET", f"jobs_u/get_logs/{job_id}").text)
        url = m.group(1) if m else None
        time.sleep(0.2)
    assert url, "the workflow never printed its approval URL"
    deadline = time.monotonic() + 60
    while (row := _queue_row(d, job_id)) is not None and row[0] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert row is not None and not row[0]  # waiting for the approver, holding no worker
    # selfApproval: false → a signed-in approver other than the starter (admin)
    refused = httpx.post(url, json={"ok": True})
    assert refused.status_code == 403 and "signed-in approver" in refused.text, refused.text
    own = httpx.post(url, json={}, headers={"Authorization": f"Bearer {d.token}"})
    assert own.status_code == 403 and "self-approval is disabled" in own.text, own.text
    assert d.api("POST", "users/add", json={"username": "bob", "role": "operator"}
                 ).status_code == 201
    with d.http() as c:
        bob = c.post("/api/users/tokens/create", json={"username": "bob", "label": "b"}).text
    ok = httpx.post(url, json={"ok": True}, headers={"Authorization": f"Bearer {bob}"})
    assert ok.status_code == 200, ok.text
    job = d.wait_job(job_id, timeout=90)
    assert job["success"] and job["result"] == {"value": {"ok": True}, "approver": "bob",
                                                "approved": True}, job


def test_a_deno_workflow_runs_the_same_way(bun_daemon: RunningDaemon) -> None:
    d = bun_daemon
    d.deploy("f/wac/deno_par", textwrap.dedent('''
        import { step, task, workflow } from "npm:windmill-client";
        const triple = task(async function triple(x: number) { return x * 3; });
        export const main = workflow(async (xs: number[]) => {
          const all = await Promise.all(xs.map((x) => triple(x)));
          const runtime = await step("runtime", () => typeof Bun === "undefined" ? "deno" : "bun");
          return { all, runtime };
        });
    '''), "deno")
    job_id = d.api("POST", "jobs/run/p/f/wac/deno_par", json={"xs": [1, 2, 3]}).text.strip('"')
    job = d.wait_job(job_id, timeout=120)
    assert job["success"] and job["result"] == {"all": [3, 6, 9], "runtime": "deno"}, job
    children = d.api("GET", "jobs/list", params={"parent_job": job_id}).json()
    assert len(children) == 3 and {c["language"] for c in children} == {"deno"}


def test_a_typescript_workflow_survives_a_daemon_killed_while_tasks_run(
        bun_daemon: RunningDaemon) -> None:
    # Last in the module: the daemon is killed and restarted (on a new port).
    d = bun_daemon
    out = d.home.parent / f"ran-{uuid.uuid4().hex[:6]}"  # a folder jobs may write
    out.mkdir()
    d.deploy("f/wac/ts_crash", textwrap.dedent(f'''
        import {{ writeFileSync }} from "node:fs";
        import {{ task, workflow }} from "windmill-client";
        const slow = task(async function slow(i: number) {{
          await new Promise((r) => setTimeout(r, 2000));
          writeFileSync(`{out}/${{i}}-${{process.pid}}-${{Math.random()}}`, "");
          return i;
        }});
        export const main = workflow(async () => {{
          const all = await Promise.all([slow(1), slow(2), slow(3)]);
          return all.reduce((a, b) => a + b, 0);
        }});
    '''), "bun")
    wf = d.api("POST", "jobs/run/p/f/wac/ts_crash", json={}).text.strip('"')
    assert d.database_url
    deadline = time.monotonic() + 120
    with psycopg.connect(d.database_url, autocommit=True) as c:
        while time.monotonic() < deadline:
            row = c.execute("SELECT count(*) FROM job_queue WHERE parent_job = %s AND running",
                            (wf,)).fetchone()
            if row and row[0] >= 1:
                break
            time.sleep(0.05)
    d.kill9()
    d.port = free_port()
    d.start()
    job = d.wait_job(wf, timeout=240)
    assert job["success"] and job["result"] == 6, job
    ran = collections.Counter(p.name.split("-")[0] for p in out.iterdir())
    assert set(ran) == {"1", "2", "3"}
    with psycopg.connect(d.database_url) as c:
        keys = sorted(k for (k,) in c.execute(
            "SELECT step_key FROM wac_checkpoints WHERE workflow_id = %s", (wf,)).fetchall())
    assert keys == ["slow", "slow_2", "slow_3"]  # each task recorded once
