"""Each kind's `check` (desktop_app/definitions) names the field it refuses, and a sync
folder's items go through the same checks before anything is applied (Git sync, import)."""

from __future__ import annotations

from typing import Any

import pytest

from desktop_app.core.errors import ArgumentError, UsageError
from desktop_app.definitions import app, folder, resource, resource_type, script, variable
from desktop_app.gitsync.items import validate
from desktop_app.gitsync.layout import Snapshot

APP_VALUE = {"components": [], "runnables": []}


@pytest.mark.parametrize(("check", "body", "field"), [
    (variable.check, {}, "path"),
    (variable.check, {"path": 5, "value": "x"}, "path"),
    (variable.check, {"path": "f/a/.git", "value": "x"}, "path"),
    (variable.check, {"path": "f/a/b", "value": "x", "description": 3}, "description"),
    (variable.check, {"path": "f/a/b"}, "value"),
    (resource.check, {"path": "f/a/b"}, "path"),
    (resource.check, {"path": "f/a/b", "resource_type": 7}, "resource_type"),
    (resource.check, {"path": "f/a/con", "resource_type": "postgresql"}, "path"),
    (resource_type.check, {"name": ""}, "name"),
    (resource_type.check, {"name": "x", "schema": "not an object"}, "schema"),
    (app.check, {"summary": "no value"}, "value"),
    (app.check, {"value": APP_VALUE, "policy": []}, "policy"),
    (script.check, {"path": "f/a/b", "language": "python3"}, "content"),
    (script.check, {"path": "f/a/b", "language": "python3", "content": "def main(): pass",
                    "timeout": "ten"}, "timeout"),
])
def test_a_bad_field_is_named(check: Any, body: dict[str, Any], field: str) -> None:
    with pytest.raises(ArgumentError) as err:
        check(body)
    assert err.value.field == field, err.value.message


def test_an_update_checks_only_the_path_it_renames_to() -> None:
    # the stored path is not judged again; a rename's new one is
    variable.check({"path": "f/a/b"}, current="f/a/b")
    resource.check({"description": "d"}, current="f/a/b")
    with pytest.raises(ArgumentError) as err:
        variable.check({"path": "f/a/b:c"}, current="f/a/b")
    assert err.value.field == "path"
    with pytest.raises(ArgumentError) as err:
        resource.check({"path": "x"}, current="f/a/b")
    assert err.value.field == "path"


def test_folder_name_and_grants() -> None:
    folder.check({"name": "ops", "summary": "Operations"}, creating=True)
    folder.check({"summary": "no name: an update names it in its URL"}, creating=False)
    with pytest.raises(ArgumentError) as err:
        folder.check({"name": "a b"}, creating=True)
    assert err.value.field == "name"
    assert folder.check_grants(None, None) == ([], {})
    with pytest.raises(ArgumentError) as err:
        folder.check_grants(["alice"], {})
    assert err.value.field == "owners"
    with pytest.raises(ArgumentError) as err:
        folder.check_grants([], {"u/bob": "yes"})
    assert err.value.field == "extra_perms"


def _snapshot(**kinds: dict[str, dict[str, Any]]) -> Snapshot:
    snap = Snapshot()
    for kind, items in kinds.items():
        setattr(snap, kind, items)
    return snap


@pytest.mark.parametrize(("snap", "message", "field"), [
    (_snapshot(variables={"f/a/v": {"path": "f/a/v", "is_secret": False, "value": "1",
                                    "description": 5}}),
     "variable f/a/v: 'description' must be a string", "description"),
    (_snapshot(resources={"f/a/r": {"path": "f/a/r", "value": {}, "resource_type": 3,
                                    "description": ""}}),
     "resource f/a/r: 'resource_type' must be a string", "resource_type"),
    (_snapshot(folders={"ops": {"name": "ops", "summary": None, "display_name": "ops",
                                "owners": ["alice"], "extra_perms": {}}}),
     "folder ops: 'owners' must be a list", "owners"),
    (_snapshot(resource_types={"t": {"name": "t", "schema": [], "description": ""}}),
     "resource type t: 'schema' must be a JSON Schema object", "schema"),
    (_snapshot(scripts={"f/a/s": {"path": "f/a/s", "language": "python3",
                                  "content": "def main(): pass", "summary": 1}}),
     "script f/a/s: 'summary' must be a string", "summary"),
])
def test_a_sync_folder_is_checked_by_the_same_rules(snap: Snapshot, message: str,
                                                     field: str) -> None:
    with pytest.raises(UsageError) as err:
        validate(snap)
    assert err.value.message.startswith(message), err.value.message
    assert isinstance(err.value, ArgumentError) and err.value.field == field


def test_a_good_sync_folder_passes() -> None:
    validate(_snapshot(
        variables={"f/a/v": {"path": "f/a/v", "is_secret": True, "value": "",
                             "description": ""}},
        resources={"f/a/r": {"path": "f/a/r", "value": {"host": "x"},
                             "resource_type": "postgresql", "description": ""}},
        folders={"a": {"name": "a", "summary": None, "display_name": "a",
                       "owners": ["u/admin"], "extra_perms": {"g/all": False}}},
        scripts={"f/a/s": {"path": "f/a/s", "language": "python3",
                           "content": "def main(x: int):\n    return x\n"}}))
