"""Flow inline script file names, Tidemill's against wmill's own extractor
(windmill-utils-internal's extractInlineScripts from npm, run with node): `wmill sync pull`
into Tidemill's Git repository then finds the files where Tidemill wrote them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from desktop_app.flows.folder import DEFAULT_TS, write_flow_folder
from tests.unit.test_flow_folder import rawscript, sample_flow

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "reference"
_EXTRACT = """
const { extractInlineScripts, newPathAssigner } = require('windmill-utils-internal');
const f = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const ts = process.argv[1], a = newPathAssigner(ts);
const s = extractInlineScripts(f.value.modules, {}, '/', ts, a);
for (const m of [f.value.failure_module, f.value.preprocessor_module])
  if (m) s.push(...extractInlineScripts([m], {}, '/', ts, a));
console.log(JSON.stringify(s.map(x => x.path).sort()));
"""


def wmill_names(flow: dict[str, Any]) -> list[str]:
    out = subprocess.run(["node", "-e", _EXTRACT, DEFAULT_TS], input=json.dumps(flow),
                         text=True, capture_output=True, cwd=REFERENCE_DIR, timeout=60)
    assert out.returncode == 0, out.stderr
    return list(json.loads(out.stdout))


def _steps() -> dict[str, Any]:
    return {"summary": "ids", "value": {"modules": [
        rawscript("a", "python3", "def main(): pass\n"),
        rawscript("A", "python3", "def main(): pass\n"),  # same name once lower-cased
        rawscript("b", "python3", "def main(): pass\n", summary=""),
        rawscript("c", "python3", "def main(): pass\n", summary="  _Con_ "),
        rawscript("d", "bash", "echo\n", summary="nul"),
        rawscript("e", "deno", "export function main() {}\n", summary="a"),
        rawscript("f", "bun", "export function main() {}\n", lock="{}"),
    ]}}


@pytest.mark.parametrize("flow", [sample_flow(), _steps()], ids=["sample", "ids"])
def test_inline_file_names_are_wmills(tmp_path: Path, flow: dict[str, Any]) -> None:
    folder = tmp_path / "x.flow"
    write_flow_folder(flow, folder)
    mine = sorted(p.name for p in folder.iterdir() if p.name != "flow.yaml")
    assert mine == wmill_names(flow)
