"""App folders (``name.app/`` or ``name__app/``): ``app.yaml`` plus one file per inline
script, the way flow folders hold theirs.

An inline runnable's ``content`` is written as ``!inline <id>.inline_script.<ext>`` (quoted,
as wmill writes it). Reading resolves any ``content``/``lock`` string of that form (and the
explicit ``!inline`` tag) anywhere in the document, so Windmill's own app folders
(``inlineScript.content``) read too.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from desktop_app.apps.model import APP_FILE, dump_app_yaml, load_app_yaml
from desktop_app.core.errors import UsageError
from desktop_app.flows.folder import (
    _WRITTEN,
    INLINE_PREFIX,
    _InlineReader,
    _InlineRef,
    _write_atomic,
    inline_script_extension,
)

__all__ = ["load_app_folder", "write_app_folder"]


def load_app_folder(folder: Path) -> dict[str, Any]:
    """The app document in `folder` with its inline files read in."""
    folder = Path(folder)
    app_file = folder / APP_FILE
    if not app_file.is_file():
        raise UsageError(f"{folder} is not an app folder: it has no {APP_FILE}",
                         hint="an app folder is named <name>.app or <name>__app and holds "
                              "app.yaml")
    try:
        text = app_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"cannot read {app_file}: {e}") from e
    document = load_app_yaml(text, str(app_file))
    resolved: dict[str, Any] = _resolve(document, _InlineReader(folder, app_file), None)
    return resolved


def _resolve(node: Any, reader: _InlineReader, key: str | None) -> Any:
    if isinstance(node, _InlineRef):
        return reader.read(str(node))
    if type(node) is str and key in ("content", "lock") and node.startswith(INLINE_PREFIX):
        return reader.read(node[len(INLINE_PREFIX):])
    if isinstance(node, list):
        return [_resolve(item, reader, None) for item in node]
    if isinstance(node, dict):
        return {k: _resolve(v, reader, k) for k, v in node.items()}
    return node


def write_app_folder(document: dict[str, Any], folder: Path) -> None:
    """Write `document` as an app folder; ``load_app_folder(folder) == document``.

    Inline files left by a previous write that this app no longer uses are removed.
    """
    folder = Path(folder)
    document = copy.deepcopy(document)
    files: dict[str, str] = {}
    value = document.get("value")
    runnables = value.get("runnables") if isinstance(value, dict) else None
    for r in runnables if isinstance(runnables, list) else []:
        if not isinstance(r, dict) or r.get("type") != "inline":
            continue
        content = r.get("content")
        if not isinstance(content, str):
            continue
        language = r.get("language")
        language = language if isinstance(language, str) else ""
        name = f"{r.get('id')}.inline_script.{inline_script_extension(language, 'deno')}"
        if "/" in name or name.startswith(".") or name in files:
            raise UsageError(f"runnable id {r.get('id')!r} cannot name a file")
        files[name] = content
        r["content"] = INLINE_PREFIX + name
    text = dump_app_yaml(document)
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        _write_atomic(folder / name, content)
    for stale in folder.iterdir():
        if _WRITTEN.fullmatch(stale.name) and stale.name not in files and stale.is_file():
            stale.unlink()
    _write_atomic(folder / APP_FILE, text)
