"""Every operation of the OpenAPI document has its own id (client generators need it)."""

from __future__ import annotations

import collections
import warnings
from unittest import mock

from desktop_app.api.app import create_app


def test_operation_ids_are_unique() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # FastAPI warns "Duplicate Operation ID"
        doc = create_app(mock.MagicMock()).openapi()
    ids = collections.Counter(op["operationId"] for ops in doc["paths"].values()
                              for op in ops.values())
    assert [op_id for op_id, n in ids.items() if n > 1] == []
    methods = doc["paths"]["/api/r/{route_path}"]
    assert sorted(methods) == ["delete", "get", "patch", "post", "put"]
