"""A result's column order: learned at completion (jsonb forgets it), applied by the
result view to tables, the tree's keys and the raw JSON."""

from __future__ import annotations

import json

import pytest

from desktop_app.core.result_columns import columns_of, columns_of_json


@pytest.mark.parametrize(("result", "columns"), [
    ([{"name": "Ada", "age": 36}, {"name": "Alan", "age": 41, "extra": 1}], ["name", "age"]),
    ({"zeta": [1, 2], "alpha": [3, 4]}, ["zeta", "alpha"]),
    ({"table-col": {"b": [1], "a": [2]}}, ["b", "a"]),
    ({"table-row-object": [{"z": 1, "a": 2}]}, ["z", "a"]),
    ({"total": 3, "by": {"x": 1}}, ["total", "by"]),
    ([[1, 2], [3, 4]], None),  # a list of lists: its header row is its order
    (42, None), ("text", None), ([], None), ({}, None), (None, None),
])
def test_columns_from_the_value_and_from_its_json_text(result: object, columns: object) -> None:
    assert columns_of(result) == columns
    assert columns_of_json(json.dumps(result)) == columns


def test_a_big_table_is_read_only_as_far_as_its_first_row() -> None:
    rows = [{"z": i, "a": str(i) * 20} for i in range(20_000)]
    text = json.dumps(rows)
    assert len(text) > 256 * 1024
    assert columns_of_json(text) == ["z", "a"]
    assert columns_of_json(json.dumps({"z": list(range(100_000)), "a": []})) is None  # too big
    assert columns_of_json("[not json") is None
