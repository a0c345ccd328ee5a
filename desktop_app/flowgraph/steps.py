"""New steps as the designer's "+" menu creates them (plain OpenFlow modules)."""

from __future__ import annotations

from typing import Any

__all__ = ["KINDS", "TEMPLATES", "new_step"]

# What a new inline script starts as, per language: a main that shows how inputs arrive.
TEMPLATES: dict[str, str] = {
    "python3": "def main(x: str = \"\"):\n    return x\n",
    "bun": "export async function main(x: string = \"\") {\n  return x;\n}\n",
    "deno": "export async function main(x: string = \"\") {\n  return x;\n}\n",
    "bash": "x=\"${1:-}\"\necho \"$x\"\n",
    "go": "package inner\n\nfunc main(x string) (interface{}, error) {\n\treturn x, nil\n}\n",
    "postgresql": "-- $1 x\nSELECT $1::text AS x;\n",
}

KINDS = {
    "rawscript": "Inline script", "script": "Script by path", "flow": "Subflow",
    "forloopflow": "For loop", "whileloopflow": "While loop", "branchone": "Branch to one",
    "branchall": "Branch to all", "approval": "Approval / suspend", "identity": "Identity",
}


def new_step(kind: str, step_id: str, *, language: str = "python3", path: str = "",
             content: str | None = None) -> dict[str, Any]:
    """A fresh step of `kind` (a key of KINDS) with id `step_id`."""
    if kind == "rawscript":
        return {"id": step_id, "value": {
            "type": "rawscript", "content": TEMPLATES.get(language, "") if content is None
            else content, "language": language, "input_transforms": {}}}
    if kind in ("script", "flow"):
        return {"id": step_id, "value": {"type": kind, "path": path, "input_transforms": {}}}
    if kind == "forloopflow":
        return {"id": step_id, "value": {
            "type": "forloopflow", "modules": [], "skip_failures": False, "parallel": False,
            "iterator": {"type": "javascript", "expr": "flow_input.items"}}}
    if kind == "whileloopflow":
        return {"id": step_id, "value": {"type": "whileloopflow", "modules": [],
                                          "skip_failures": False}}
    if kind == "branchone":
        return {"id": step_id, "value": {
            "type": "branchone", "default": [],
            "branches": [{"summary": "", "expr": "false", "modules": []}]}}
    if kind == "branchall":
        return {"id": step_id, "value": {
            "type": "branchall", "parallel": True,
            "branches": [{"summary": "", "skip_failure": False, "modules": []},
                         {"summary": "", "skip_failure": False, "modules": []}]}}
    if kind == "approval":
        # A script step, not identity: approvals are answered through the step's own job.
        return {"id": step_id, "summary": "Approval", "value": {
            "type": "rawscript", "language": "python3", "input_transforms": {},
            "content": "def main():\n    # runs, then the flow waits for an approval\n"
                       "    return \"approval requested\"\n"},
                "suspend": {"required_events": 1, "timeout": 1800}}
    if kind == "identity":
        return {"id": step_id, "value": {"type": "identity"}}
    raise ValueError(f"unknown step kind {kind!r}: one of {', '.join(KINDS)}")
