"""infer_requirements / python_version_annotation: WINDMILL.md §4.2."""

from __future__ import annotations

import pytest

from desktop_app.core.errors import ScriptSyntaxError, UsageError
from desktop_app.parsing.python_requirements import (
    SHORT_MAP,
    infer_requirements,
    package_for_import,
    python_version_annotation,
)


def test_imports_before_main_in_order_of_first_appearance() -> None:
    code = """\
import os, sys, json
from __future__ import annotations
import numpy as np
import requests
from pandas import DataFrame
import numpy.linalg
import slack_sdk
from typing_extensions import TypedDict
import wmill

def main():
    import never_seen
"""
    assert infer_requirements(code) == ["numpy", "requests", "pandas", "slack-sdk",
                                        "typing-extensions", "wmill"]


def test_imports_after_main_are_ignored_but_all_count_without_main() -> None:
    assert infer_requirements("import a\ndef main():\n    pass\nimport b\n") == ["a"]
    assert infer_requirements("import a\nimport b\n") == ["a", "b"]


def test_imports_inside_blocks_before_main_count() -> None:
    code = "try:\n    import ujson as json\nexcept ImportError:\n    import json\n" \
           "if True:\n    from rich import print\ndef main(): pass\n"
    assert infer_requirements(code) == ["ujson", "rich"]


@pytest.mark.parametrize(("module", "package"), sorted(SHORT_MAP.items()))
def test_short_map(module: str, package: str) -> None:
    assert package_for_import(module) == package


@pytest.mark.parametrize(("module", "names", "package"), [
    ("yaml", (), "pyyaml"), ("psycopg2.extras", (), "psycopg2-binary"),
    ("psycopg", (), "psycopg[binary, pool]"), ("PIL.Image", (), "Pillow"),
    ("bs4", (), "beautifulsoup4"), ("jwt", (), "PyJWT"), ("google.cloud.storage", (),
                                                             "google-cloud-storage"),
    ("google.cloud", ("bigquery",), "google-cloud-bigquery"),
    ("google.cloud.secretmanager_v1", (), "google-cloud-secret-manager"),
    ("google.cloud.compute_v1", (), "google-cloud-compute"),
    ("google.cloud.bigquery_storage", (), "google-cloud-bigquery-storage"),
    ("google.oauth2.service_account", (), "google-auth"),
    ("azure.storage.blob", (), "azure-storage-blob"),
    ("azure.storage", ("blob",), "azure-storage-blob"),
    ("azure.keyvault.secrets", (), "azure-keyvault-secrets"),
    ("azure.identity", (), "azure-identity"), ("azure.identity.aio", (), "azure-identity"),
    ("azure.mgmt.resource", (), "azure-mgmt-resource"),
    ("my_package", (), "my-package"),
    ("os.path", (), None), ("__future__", (), None), ("f.folder.script", (), None),
    ("u.user.helper", (), None),
])
def test_package_for_import(module: str, names: tuple[str, ...], package: str | None) -> None:
    assert package_for_import(module, names) == package


def test_relative_and_workspace_imports_are_skipped() -> None:
    code = "from . import x\nfrom .helpers import y\nimport f.folder.script\n" \
           "from u.me.lib import z\nimport httpx\ndef main(): pass\n"
    assert infer_requirements(code) == ["httpx"]


def test_requirements_block_wins() -> None:
    code = "# requirements:\n# pandas==2.0\n#numpy\n# not one token\n# later\nimport requests\n"
    assert infer_requirements(code) == ["pandas==2.0", "numpy"]
    assert infer_requirements("#requirements:\nimport x\n") == []


def test_pep723_block() -> None:
    code = ('# /// script\n# requires-python = ">=3.11"\n# dependencies = [\n'
            '#   "requests<3",\n#   "rich",\n# ]\n# ///\nimport pandas\n')
    assert infer_requirements(code) == ["requests<3", "rich"]
    assert python_version_annotation(code) == ">=3.11"
    with pytest.raises(UsageError, match="not valid TOML"):
        infer_requirements("# /// script\n# dependencies = [\n# ///\n")


def test_extra_requirements_come_first_and_win_over_imports() -> None:
    code = "# extra_requirements:\n# pandas==2.1\n# openpyxl\nimport pandas\nimport x_y\n"
    assert infer_requirements(code) == ["pandas==2.1", "openpyxl", "x-y"]


def test_pins_and_repins() -> None:
    assert infer_requirements("import yaml  # pin: pyyaml==6.0.1\n") == ["pyyaml==6.0.1"]
    several = "import cv2  # pin: opencv-python-headless==4.8 # pin: numpy<2\nimport numpy\n"
    assert infer_requirements(several) == ["opencv-python-headless==4.8", "numpy<2"]
    # A later pin replaces an earlier unpinned import of the same package, in place.
    assert infer_requirements("import pandas\nimport requests\n"
                              "import pandas.io  # pin: pandas==2.2\n") == [
        "pandas==2.2", "requests"]
    conflicting = "import pandas  # pin: pandas==1.5\nimport pandas.io  # pin: pandas==2.2\n"
    with pytest.raises(UsageError, match="conflicting requirements for pandas") as caught:
        infer_requirements(conflicting)
    assert "repin" in (caught.value.hint or "")
    assert infer_requirements(conflicting + "# repin: pandas==2.0\n") == ["pandas==2.0"]


def test_syntax_error_above_main_is_reported() -> None:
    with pytest.raises(ScriptSyntaxError) as caught:
        infer_requirements("import (\ndef main(): pass\n")
    assert caught.value.line == 1
    # Only the body is broken: the imports above main are still read.
    assert infer_requirements("import requests\n@deco\ndef main():\n    x = (\n") == ["requests"]


@pytest.mark.parametrize(("code", "version"), [
    ("# py311\nimport x\n", "3.11"), ("#py310\n", "3.10"), ("# py: >=3.12\n", ">=3.12"),
    ("#!/usr/bin/env python\n# py313\n", "3.13"), ("import x\n# py311\n", None), ("", None),
])
def test_python_version_annotation(code: str, version: str | None) -> None:
    assert python_version_annotation(code) == version
