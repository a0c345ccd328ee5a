// Reference oracle for Tidemill's signature parsers and schema inference: runs Windmill's own
// published code. Used only by tests (tests/integration/test_signature_reference.py), never by
// the product.
//
// Input: one JSON object per line on stdin, either
//   {"language": "python3" | "bash" | "deno" | "bun" | "nativets" | "postgresql" | "mysql"
//      | "bigquery" | "snowflake" | "mssql" | "oracledb" | "duckdb" | "go",
//    "code": "...", "main_override"?: "name"}
//     → the wasm parser's MainArgSignature JSON (text passed through as the parser wrote it)
//   {"db_resource": "..."}
//     → {"pin": parse_db_resource(code) ?? null} (the `-- database f/path` line of SQL scripts)
//   {"property": <Typ>, "old": {...}}
//     → windmill-utils-internal's argSigToJsonSchemaType(typ, old) applied to `old`
// Output: one line per input line; {"error": "..."} when the parser threw or returned non-JSON.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import * as py from "windmill-parser-wasm-py";
import * as regex from "windmill-parser-wasm-regex";
import * as ts from "windmill-parser-wasm-ts";
import * as go from "windmill-parser-wasm-go";

// The ESM build of windmill-utils-internal uses extensionless imports node cannot resolve.
const { argSigToJsonSchemaType } = createRequire(import.meta.url)("windmill-utils-internal");

// wasm-bindgen "web" builds fetch their .wasm by URL unless handed the bytes; in node we read
// the file next to the package's entry point and initialise synchronously.
function initFrom(pkg, mod) {
  const url = new URL("./windmill_parser_wasm_bg.wasm", import.meta.resolve(pkg));
  mod.initSync({ module: readFileSync(fileURLToPath(url)) });
}
initFrom("windmill-parser-wasm-py", py);
initFrom("windmill-parser-wasm-regex", regex);
initFrom("windmill-parser-wasm-ts", ts);
initFrom("windmill-parser-wasm-go", go);

// Windmill's language names → the regex package's SQL parser for that dialect.
const SQL_PARSERS = {
  postgresql: regex.parse_sql,
  mysql: regex.parse_mysql,
  bigquery: regex.parse_bigquery,
  snowflake: regex.parse_snowflake,
  mssql: regex.parse_mssql,
  oracledb: regex.parse_oracledb,
  duckdb: regex.parse_duckdb,
};

function parse({ language, code, main_override }) {
  switch (language) {
    case "python3":
      return py.parse_python(code, main_override ?? null);
    case "bash":
      return regex.parse_bash(code);
    case "deno":
    case "bun":
    case "nativets":
      return ts.parse_deno(code, main_override ?? null);
    case "go":
      return go.parse_go(code);
    default:
      if (language in SQL_PARSERS) return SQL_PARSERS[language](code);
      throw new Error(`no reference parser for language ${language}`);
  }
}

function answer(request) {
  if ("property" in request) {
    const prop = request.old ?? { description: "", type: "" };
    argSigToJsonSchemaType(request.property, prop);
    return JSON.stringify(prop);
  }
  if ("db_resource" in request) {
    return JSON.stringify({ pin: regex.parse_db_resource(request.db_resource) ?? null });
  }
  const raw = parse(request);
  try {
    JSON.parse(raw);
  } catch {
    // The parsers report some failures as a plain string rather than throwing.
    return JSON.stringify({ error: String(raw) });
  }
  // Pass the parser's own text through: re-serialising in JS would turn 1000.0 into 1000.
  return raw.replace(/\n/g, " ");
}

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of rl) {
  if (!line.trim()) continue;
  let out;
  try {
    out = answer(JSON.parse(line));
  } catch (e) {
    out = JSON.stringify({ error: String(e?.message ?? e) });
  }
  process.stdout.write(out + "\n");
}
