"""The workspace as one archive, as Windmill's `GET workspaces/tarball` gives it to
`wmill sync pull|push`: JSON entries (`<path>.script.json`, `<path>.flow.json`,
`<path>.resource.json`, …) that wmill turns into the sync folder's YAML files itself,
splitting locks and flow inline code into their own files.

Each entry holds what the Git export writes (bodies.py), so a pull lands the same bytes as
Tidemill's own repository. Secrets never leave: a secret variable's value is empty, a
resource's secret fields are left out. Built-in resource types are not items and stay out.
Apps are not in it yet (Tidemill's app folders are not wmill's app format).
"""

from __future__ import annotations

import io
import json
import tarfile
import time
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from desktop_app.gitsync.bodies import (
    flow_body,
    folder_meta,
    implicit_folder_meta,
    plain_body,
    resource_body,
    resource_type_body,
    script_meta,
    variable_body,
)
from desktop_app.gitsync.layout import TRIGGER_ITEM_KINDS, script_extension


@dataclass(frozen=True)
class Selection:
    """The tarball's `skip_*`/`include_*` query flags (Windmill's names)."""

    skip_variables: bool = False
    skip_secrets: bool = False
    skip_resources: bool = False
    skip_resource_types: bool = False
    include_schedules: bool = False
    include_triggers: bool = False

    def wants(self, kind: str, item: dict[str, Any]) -> bool:
        if kind == "variable":
            return not self.skip_variables and not (self.skip_secrets and item.get("is_secret"))
        if kind == "resource":
            return not self.skip_resources
        if kind == "resource_type":
            return not self.skip_resource_types
        if kind == "schedule":
            return self.include_schedules
        if kind in TRIGGER_ITEM_KINDS:
            return self.include_triggers
        return kind in ("script", "flow", "folder")


def entries(items: Iterable[tuple[str, dict[str, Any]]], selection: Selection,
            visible: Callable[[str], bool]) -> dict[str, str]:
    """Archive path → text, for the items the selection wants and the caller may see."""
    out: dict[str, str] = {}
    folders_used: set[str] = set()
    folders: dict[str, dict[str, Any]] = {}
    for kind, item in items:
        if kind == "folder":
            folders[item["name"]] = item
            continue
        path = item["name"] if kind == "resource_type" else item["path"]
        if not selection.wants(kind, item) or (kind != "resource_type" and not visible(path)):
            continue
        parts = path.split("/")
        if kind != "resource_type" and len(parts) >= 3 and parts[0] == "f":
            folders_used.add(parts[1])
        out.update(_files(kind, path, item))
    for name in sorted(folders_used | {n for n in folders if visible(f"f/{n}/")}):
        meta = folder_meta(folders[name]) if name in folders else implicit_folder_meta(name)
        out[f"f/{name}/folder.meta.json"] = _json(meta)
    return out


def _files(kind: str, path: str, item: dict[str, Any]) -> dict[str, str]:
    if kind == "script":
        return {f"{path}{script_extension(item['language'])}": item["content"],
                f"{path}.script.json": _json(script_meta(item, item.get("lock") or None))}
    if kind == "flow":
        return {f"{path}.flow.json": _json(flow_body(item))}
    if kind == "variable":
        return {f"{path}.variable.json": _json(variable_body(item))}
    if kind == "resource":
        return {f"{path}.resource.json": _json(resource_body(item)[0])}
    if kind == "resource_type":
        return {f"{path}.resource-type.json": _json(resource_type_body(item))}
    return {f"{path}.{kind}.json": _json(plain_body(item))}


def _json(body: dict[str, Any]) -> str:
    return json.dumps(body, indent=2, ensure_ascii=False, default=str)


def archive(files: dict[str, str], archive_type: str) -> bytes:
    """A zip or tar of `files`; ValueError for another type."""
    buf = io.BytesIO()
    if archive_type == "zip":
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for name in sorted(files):
                z.writestr(name, files[name])
    elif archive_type == "tar":
        now = time.time()
        with tarfile.open(fileobj=buf, mode="w") as t:
            for name in sorted(files):
                data = files[name].encode()
                info = tarfile.TarInfo(name)
                info.size, info.mtime, info.mode = len(data), int(now), 0o644
                t.addfile(info, io.BytesIO(data))
    else:
        raise ValueError(archive_type)
    return buf.getvalue()
