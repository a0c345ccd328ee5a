"""The JavaScript module that runs one TypeScript job on Bun: the same protocol as Deno's
(`deno_wrapper.py`: JOB_DIR/args.json in, result.json or error.json out), written with
Node's APIs, which Bun provides.

Usage: bun run wrapper.mjs SCRIPT_PATH JOB_DIR
"""

from desktop_app.runtimes.wac_ts import RUNNER as WAC_RUNNER

SOURCE = WAC_RUNNER + r"""
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [scriptPath, jobDir] = process.argv.slice(2);
const scriptDir = scriptPath.slice(0, scriptPath.lastIndexOf("/") + 1);
const wrapperPath = new URL(import.meta.url).pathname;

function userStack(e) {
  // The user's script is main.ts, not a path deep in Tidemill's cache; our frames go.
  const stack = typeof e?.stack === "string" ? e.stack : String(e);
  return stack.split("\n").filter((l) => !l.includes(wrapperPath)).join("\n")
    .replaceAll(scriptDir, "");
}

function fail(name, message, stack) {
  const err = { name, message };
  if (stack) err.stack = stack;
  writeFileSync(`${jobDir}/error.json`, JSON.stringify(err));
}

function plain(_key, value) {
  if (typeof value === "bigint") {
    return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  }
  return value;
}

const spec = JSON.parse(readFileSync(`${jobDir}/args.json`, "utf8"));
let result;
try {
  const mod = await import(pathToFileURL(scriptPath).href);
  if (typeof mod.main !== "function") {
    fail("MainNotFound", "the script exports no function 'main'");
    process.exit(0);
  }
  const dates = new Set(spec.dates);
  const args = spec.names.map((name) => {
    if (!(name in spec.args)) return undefined;
    const value = spec.args[name];
    return dates.has(name) && typeof value === "string" ? new Date(value) : value;
  });
  if (mod.main._is_workflow) {
    // One round of a workflow (wac_ts.py): its outcome, not a result, leaves this job.
    const wm = await import("windmill-client");
    const round = await runWorkflowRound(mod.main, args, spec.wac_checkpoint ?? {}, wm);
    writeFileSync(`${jobDir}/wac_round.json`, JSON.stringify(round, plain));
    process.exit(0);
  }
  result = await mod.main(...args);
} catch (e) {
  // A syntax or import error in the script is a BuildMessage/ResolveMessage (not an
  // Error): its place is in `position`, so the message says where, like a compiler.
  const pos = e?.position;
  const where = pos?.line ? `main.ts:${pos.line}:${pos.column}: ` : "";
  const source = pos?.lineText ? `\n  ${pos.lineText.trim()}` : "";
  const stack = where ? `${where}${e.message}${source}` : userStack(e);
  console.error(stack);
  const name = e instanceof Error || e?.name ? e.name : "Error";
  const message = where ? `${where}${e.message}${source}`
    : e instanceof Error ? e.message.replaceAll(scriptDir, "") : String(e);
  fail(name === "BuildMessage" ? "SyntaxError" : name, message, stack);
  process.exit(0);
}
let text;
try {
  text = JSON.stringify(result === undefined ? null : result, plain);
} catch (e) {
  fail("ResultNotSerializable", `main returned a value that cannot be turned into JSON: ${e.message}`);
  process.exit(0);
}
writeFileSync(`${jobDir}/result.json.tmp`, text);
renameSync(`${jobDir}/result.json.tmp`, `${jobDir}/result.json`);
// Open handles (timers, sockets) of the script must not keep the job alive.
process.exit(0);
"""
