"""A Windmill flow folder (flow.yaml with inline step files) deployed and run by the CLI."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.e2e.daemon_harness import RunningDaemon


def _windmill_flow_folder(root: Path, name: str) -> Path:
    folder = root / name
    folder.mkdir()
    (folder / "double.inline_script.py").write_text("def main(n: int):\n    return n * 2\n")
    (folder / "shout.inline_script.sh").write_text('word="$1"\necho "${word^^}!"\n')
    (folder / "flow.yaml").write_text(textwrap.dedent("""\
        summary: Double then shout
        description: written the way `wmill sync pull` writes flows
        value:
          modules:
            - id: a
              summary: Double
              value:
                type: rawscript
                content: '!inline double.inline_script.py'
                language: python3
                input_transforms:
                  n:
                    type: javascript
                    expr: flow_input.n
            - id: b
              summary: Shout
              value:
                type: rawscript
                content: '!inline shout.inline_script.sh'
                language: bash
                input_transforms:
                  word:
                    type: javascript
                    expr: '`got${results.a}`'
        schema:
          $schema: https://json-schema.org/draft/2020-12/schema
          type: object
          properties:
            n:
              type: integer
              description: a number
          required: [n]
        """))
    return folder


def test_deploy_and_run_flow_folder_both_layouts(daemon: RunningDaemon, tmp_path: Path) -> None:
    for name, path in (("double.flow", "f/demo/double"), ("double2__flow", "f/demo/double2")):
        folder = _windmill_flow_folder(tmp_path, name)
        res = daemon.cli("deploy", str(folder), "--path", path)
        assert res.returncode == 0, res.stderr
        run = daemon.cli("run", path, "-a", "n=21")
        assert run.returncode == 0, run.stderr
        assert json.loads(run.stdout) == "GOT42!"
    # the schema applies to flows too: a wrong argument starts nothing
    bad = daemon.cli("run", "f/demo/double", "-a", "n=abc")
    assert bad.returncode == 2 and "n" in bad.stderr


@pytest.mark.api_only
def test_malformed_flow_yaml_names_file_and_line(daemon: RunningDaemon, tmp_path: Path) -> None:
    folder = tmp_path / "broken.flow"
    folder.mkdir()
    (folder / "flow.yaml").write_text("summary: x\nvalue:\n  modules: [\n    - id: a\n")
    res = daemon.cli("deploy", str(folder), "--path", "f/demo/broken")
    assert res.returncode == 2 and "flow.yaml" in res.stderr and "line" in res.stderr
    assert daemon.api("GET", "flows/exists/f/demo/broken").json() is False
