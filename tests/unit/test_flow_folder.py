"""Flow folders as wmill writes them: round trips, both layouts, inline files, refusals."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from desktop_app.core.errors import UsageError
from desktop_app.flows.folder import load_flow_folder, write_flow_folder


def rawscript(module_id: str, language: str, content: str, *, summary: str | None = None,
              lock: str | None = None) -> dict[str, Any]:
    value: dict[str, Any] = {"type": "rawscript", "language": language, "content": content,
                             "input_transforms": {"x": {"type": "javascript",
                                                        "expr": "flow_input.x"}}}
    if lock is not None:
        value["lock"] = lock
    module: dict[str, Any] = {"id": module_id, "value": value}
    if summary is not None:
        module["summary"] = summary
    return module


def sample_flow() -> dict[str, Any]:
    return {
        "summary": "Three languages",
        "description": "yes: a multi-line\ndescription",
        "value": {
            "modules": [
                rawscript("a", "python3", "def main(x):\n    return x\n", summary="Get Data",
                          lock="requests==2.31.0\n"),
                rawscript("b", "bun", "export async function main(x: number) {\n"
                          "  return x * 2;\n}\n", summary="Get Data"),
                {"id": "loop", "summary": "each item", "value": {
                    "type": "forloopflow", "iterator": {"type": "javascript",
                                                        "expr": "results.b"},
                    "skip_failures": True, "parallel": False,
                    "modules": [rawscript("c", "bash", 'echo "$1"\r\nexit 0', lock="")]}},
                {"id": "pick", "value": {
                    "type": "branchone",
                    "branches": [{"summary": "big", "expr": "results.a > 10",
                                  "modules": [rawscript("d", "deno", "export function main() "
                                                        "{ return 'd' }")]}],
                    "default": [rawscript("e", "python3", "!inline looks like a reference",
                                          summary="  "),
                                {"id": "f", "value": {"type": "script", "path": "f/x/y",
                                                      "input_transforms": {}}}]}},
            ],
            "failure_module": rawscript("failure", "python3", "def main(error): pass\n",
                                        summary="On/failure: notify?"),
            "same_worker": False,
        },
        "schema": {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                   "properties": {"x": {"type": "string", "default": "on"},
                                  "when": {"type": "string", "default": "2024-01-01"},
                                  "n": {"type": "integer", "default": 12}},
                   "required": ["x"]},
        "unknown_future_key": {"kept": ["yes", "no", "0o17", "1_000", None, 1.5, True]},
    }


def test_round_trip_with_inline_files(tmp_path: Path) -> None:
    flow = sample_flow()
    before = copy.deepcopy(flow)
    folder = tmp_path / "f" / "team" / "three.flow"
    write_flow_folder(flow, folder)
    assert flow == before  # the caller's dict is untouched
    assert sorted(p.name for p in folder.iterdir()) == [
        "c.inline_script.sh",  # no summary: the step id, as wmill names it
        "d.inline_script.deno.ts",
        "flow.yaml",
        "get_data.inline_script.lock",
        "get_data.inline_script.py",
        "get_data_1.inline_script.ts",
        "inline_script_0.inline_script.py",  # summary "  ": nothing left once cleaned
        "onfailure_notify.inline_script.py",  # "On/failure: notify?": '/', ':', '?' dropped
    ]
    assert (folder / "get_data.inline_script.py").read_text() == "def main(x):\n    return x\n"
    with open(folder / "c.inline_script.sh", newline="") as f:
        assert f.read() == 'echo "$1"\r\nexit 0'  # bytes kept as they were
    text = (folder / "flow.yaml").read_text()
    assert "content: '!inline get_data.inline_script.py'" in text
    assert "lock: '!inline get_data.inline_script.lock'" in text
    assert "lock: ''" in text  # an empty lock stays in flow.yaml, as wmill does
    assert load_flow_folder(folder) == flow


def test_flow_yaml_reads_like_wmills(tmp_path: Path) -> None:
    write_flow_folder(sample_flow(), tmp_path / "x.flow")
    text = (tmp_path / "x.flow" / "flow.yaml").read_text()
    assert text.startswith("summary: Three languages\ndescription: |-\n")
    # wmill's key order: id, type, summary, value, content, input_transforms, lock, the rest.
    assert "    - id: a\n      summary: Get Data\n      value:\n        type: rawscript\n" \
           "        content: '!inline get_data.inline_script.py'\n        input_transforms:\n" \
           in text
    assert "        lock: '!inline get_data.inline_script.lock'\n        language: python3\n" \
           in text
    # Any YAML reader, 1.1 or 1.2, gets strings back for string values.
    plain = yaml.safe_load(text)
    assert plain["schema"]["properties"]["when"]["default"] == "2024-01-01"
    assert plain["unknown_future_key"]["kept"][:4] == ["yes", "no", "0o17", "1_000"]


def test_dunder_flow_layout_and_flow_yaml_path(tmp_path: Path) -> None:
    folder = tmp_path / "three__flow"
    write_flow_folder(sample_flow(), folder)
    assert load_flow_folder(folder) == sample_flow()
    assert load_flow_folder(folder / "flow.yaml") == sample_flow()


def test_rewrite_removes_inline_files_no_longer_used(tmp_path: Path) -> None:
    folder = tmp_path / "x.flow"
    write_flow_folder(sample_flow(), folder)
    (folder / "README.md").write_text("mine")
    smaller = sample_flow()
    smaller["value"]["modules"] = smaller["value"]["modules"][:1]
    del smaller["value"]["failure_module"]
    write_flow_folder(smaller, folder)
    assert sorted(p.name for p in folder.iterdir()) == [
        "README.md", "flow.yaml", "get_data.inline_script.lock", "get_data.inline_script.py"]
    assert load_flow_folder(folder) == smaller


def test_reads_a_wmill_written_folder(tmp_path: Path) -> None:
    folder = tmp_path / "crm.flow"
    folder.mkdir()
    (folder / "parses_email.inline_script.ts").write_text("export function main() {}\n")
    (folder / "kill_mentions.inline_script.ts").write_text("export function k() {}\n")
    (folder / "scrape.inline_script.py").write_text("def main(): ...\n")
    (folder / "scrape.inline_script.lock").write_text("bs4==0.0.1\n")
    (folder / "flow.yaml").write_text("""\
summary: CRM
value:
  modules:
    - id: a
      summary: Parses email
      value:
        type: rawscript
        content: '!inline parses_email.inline_script.ts'
        input_transforms:
          email:
            type: javascript
            expr: flow_input.email
        lock: ''
        language: deno
    - id: c
      value:
        type: rawscript
        content: !inline scrape.inline_script.py
        lock: '!inline scrape.inline_script.lock'
        language: python3
        input_transforms: {}
    - id: l
      value:
        type: forloopflow
        iterator: {type: javascript, expr: results.a}
        skip_failures: true
        modules:
          - id: ad
            value:
              type: rawscript
              content: >-
                !inline
                kill_mentions.inline_script.ts
              input_transforms: {}
              language: deno
schema:
  properties:
    flag: {type: boolean, default: yes}
    retries: {type: integer, default: 0o17}
""")
    flow = load_flow_folder(folder)
    modules = flow["value"]["modules"]
    assert modules[0]["value"]["content"] == "export function main() {}\n"
    assert modules[0]["value"]["lock"] == ""
    assert modules[1]["value"]["content"] == "def main(): ...\n"
    assert modules[1]["value"]["lock"] == "bs4==0.0.1\n"
    assert modules[2]["value"]["modules"][0]["value"]["content"] == "export function k() {}\n"
    assert flow["schema"]["properties"]["flag"]["default"] == "yes"  # YAML 1.2: a string
    assert flow["schema"]["properties"]["retries"]["default"] == 15


def _flow_with_content(folder: Path, reference: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "flow.yaml").write_text(
        "summary: x\nvalue:\n  modules:\n    - id: a\n      value:\n        type: rawscript\n"
        f"        language: python3\n        content: {reference}\n")


@pytest.mark.parametrize("reference", [
    "'!inline ../secret.txt'",
    "'!inline sub/../../secret.txt'",
    "!inline ../secret.txt",
    "'!inline /etc/hostname'",
])
def test_inline_paths_cannot_leave_the_folder(tmp_path: Path, reference: str) -> None:
    (tmp_path / "secret.txt").write_text("top secret")
    folder = tmp_path / "x.flow"
    _flow_with_content(folder, reference)
    with pytest.raises(UsageError, match="inside the flow folder") as info:
        load_flow_folder(folder)
    assert str(folder / "flow.yaml") in str(info.value)


def test_symlinks_out_of_the_folder_are_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("top secret")
    folder = tmp_path / "x.flow"
    _flow_with_content(folder, "'!inline link.py'")
    os.symlink(tmp_path / "secret.txt", folder / "link.py")
    with pytest.raises(UsageError, match="outside the flow folder"):
        load_flow_folder(folder)
    # A symlink that stays inside is fine.
    (folder / "real.py").write_text("ok")
    (folder / "link.py").unlink()
    os.symlink(folder / "real.py", folder / "link.py")
    assert load_flow_folder(folder)["value"]["modules"][0]["value"]["content"] == "ok"


def test_missing_inline_file(tmp_path: Path) -> None:
    folder = tmp_path / "x.flow"
    _flow_with_content(folder, "'!inline gone.py'")
    with pytest.raises(UsageError, match=r"the inline file 'gone\.py' is missing"):
        load_flow_folder(folder)


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    folder = tmp_path / "x__flow"
    folder.mkdir()
    (folder / "flow.yaml").write_text("summary: x\nvalue:\n  modules:\n    - id: a\n"
                                      "      value: [unclosed\n")
    with pytest.raises(UsageError) as info:
        load_flow_folder(folder)
    assert f"{folder / 'flow.yaml'}, line 6: malformed YAML" in str(info.value)

    (folder / "flow.yaml").write_text("summary: x\nvalue: !nonsense 1\n")
    with pytest.raises(UsageError, match=r"line 2: malformed YAML: .*!nonsense"):
        load_flow_folder(folder)

    (folder / "flow.yaml").write_text("- just\n- a list\n")
    with pytest.raises(UsageError, match="a flow must be a mapping"):
        load_flow_folder(folder)


def test_not_a_flow_folder(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"has no flow\.yaml"):
        load_flow_folder(tmp_path)


def test_every_container_kind_round_trips(tmp_path: Path) -> None:
    flow = {"summary": "containers", "value": {
        "modules": [
            {"id": "w", "value": {"type": "whileloopflow", "skip_failures": False,
                                  "modules": [rawscript("w1", "go", "package inner\n")]}},
            {"id": "all", "value": {"type": "branchall", "parallel": True, "branches": [
                {"modules": [rawscript("b1", "postgresql", "select 1;")]},
                {"modules": [rawscript("b2", "nativets", "export async function main() {}")]}]}},
            {"id": "agent", "value": {"type": "aiagent", "input_transforms": {}, "tools": [
                {"id": "t1", "summary": "lookup", "value": {
                    "tool_type": "flowmodule", "type": "rawscript", "language": "python3",
                    "content": "def main(): return 1", "input_transforms": {}}},
                {"id": "t2", "summary": "web", "value": {"tool_type": "websearch"}}]}},
        ],
        "preprocessor_module": rawscript("preprocessor", "bun", "export function pre() {}",
                                         lock="{}"),
    }}
    folder = tmp_path / "c.flow"
    write_flow_folder(flow, folder)
    assert sorted(p.name for p in folder.iterdir()) == [
        "b1.inline_script.pg.sql", "b2.inline_script.native.ts", "flow.yaml",
        "lookup.inline_script.py", "preprocessor.inline_script.lock",
        "preprocessor.inline_script.ts", "w1.inline_script.go"]
    assert load_flow_folder(folder) == flow
