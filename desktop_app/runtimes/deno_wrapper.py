"""The JavaScript module that runs one TypeScript job on Deno (kept here as text because
only Python files and data files are shipped with the package; `deno.py` writes it once
into the cache under a name derived from its content).

Usage: deno run [permissions] wrapper.mjs SCRIPT_URL JOB_DIR
JOB_DIR/args.json is {"names": [...], "args": {...}, "dates": [...]}: `main` gets
args[name] for each name in signature order (a missing one is `undefined`, so a default
parameter applies), with the names in `dates` turned into Date objects. The result goes to
JOB_DIR/result.json; a thrown error to JOB_DIR/error.json as {"name", "message", "stack"}
and to stderr (the job's log).
"""

from desktop_app.runtimes.wac_ts import RUNNER as WAC_RUNNER

SOURCE = WAC_RUNNER + r"""
const [scriptUrl, jobDir] = Deno.args;
const scriptDir = scriptUrl.slice(0, scriptUrl.lastIndexOf("/") + 1);
const wrapperUrl = import.meta.url;

function userStack(e) {
  // The user's script is main.ts, not a path deep in Tidemill's cache; our frames go.
  const stack = typeof e?.stack === "string" ? e.stack : String(e);
  return stack.split("\n").filter((l) => !l.includes(wrapperUrl)).join("\n")
    .replaceAll(scriptDir, "");
}

async function fail(name, message, stack) {
  const err = { name, message };
  if (stack) err.stack = stack;
  await Deno.writeTextFile(`${jobDir}/error.json`, JSON.stringify(err));
}

function plain(_key, value) {
  if (typeof value === "bigint") {
    return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  }
  return value;
}

const spec = JSON.parse(await Deno.readTextFile(`${jobDir}/args.json`));
let result;
try {
  const mod = await import(scriptUrl);
  if (typeof mod.main !== "function") {
    await fail("MainNotFound", "the script exports no function 'main'");
    Deno.exit(0);
  }
  const dates = new Set(spec.dates);
  const args = spec.names.map((name) => {
    if (!(name in spec.args)) return undefined;
    const value = spec.args[name];
    return dates.has(name) && typeof value === "string" ? new Date(value) : value;
  });
  if (mod.main._is_workflow) {
    // One round of a workflow (wac_ts.py): its outcome, not a result, leaves this job.
    const wm = await import("npm:windmill-client");
    const round = await runWorkflowRound(mod.main, args, spec.wac_checkpoint ?? {}, wm);
    await Deno.writeTextFile(`${jobDir}/wac_round.json`, JSON.stringify(round, plain));
    Deno.exit(0);
  }
  result = await mod.main(...args);
} catch (e) {
  const stack = userStack(e);
  console.error(stack);
  const name = e instanceof Error ? e.name : "Error";
  const message = e instanceof Error ? e.message.replaceAll(scriptDir, "") : String(e);
  await fail(name, message, stack);
  Deno.exit(0);
}
let text;
try {
  text = JSON.stringify(result === undefined ? null : result, plain);
} catch (e) {
  await fail("ResultNotSerializable", `main returned a value that cannot be turned into JSON: ${e.message}`);
  Deno.exit(0);
}
await Deno.writeTextFile(`${jobDir}/result.json.tmp`, text);
await Deno.rename(`${jobDir}/result.json.tmp`, `${jobDir}/result.json`);
// Open handles (timers, sockets) of the script must not keep the job alive.
Deno.exit(0);
"""
