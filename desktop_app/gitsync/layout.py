"""Items ⇄ files in Windmill's sync folder layout (``wmill sync``), see WINDMILL.md §2.

Writing: ``write_item(root, item)`` puts one item's files under ``root`` and returns the
paths it touched; ``item_files(kind, path)`` says where an item lives (to remove it).
Reading: ``read_folder(root)`` parses a whole folder into a ``Snapshot`` and raises
UsageError naming the file (and line) for the first malformed file, before anything is
applied. Paths escaping the folder (``..``, absolute, symbolic links) are refused.

Secrets never enter the files: a secret variable is written without its value, a resource's
secret fields (``{"$secret": ref}`` in the database) are left out of its value and named in
a comment; ``$var:`` references are kept as they are.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from desktop_app.apps.folder import load_app_folder, write_app_folder
from desktop_app.core.errors import UsageError
from desktop_app.core.folder_files import check_inside, relative
from desktop_app.flows.folder import _Dumper, _Loader, load_flow_folder, write_flow_folder
from desktop_app.gitsync.bodies import (
    SCRIPT_OPTIONAL,
    SECRET_KEY,
    flow_body,
    folder_meta,
    implicit_folder_meta,
    plain_body,
    resource_body,
    resource_type_body,
    script_meta,
    variable_body,
)
from desktop_app.parsing import language_from_filename

__all__ = ["SECRET_KEY", "Snapshot", "folder_meta", "read_folder",
           "remove_item", "write_folder_meta", "write_item"]

DEFAULT_TS = "deno"  # Tidemill runs TypeScript on Deno; wmill.yaml says so (defaultTs)
# skipSecrets false: secret variables are in the files (without their values, here and in the
# tarball), so `wmill sync pull` writes the same files as Tidemill's export.
WMILL_YAML = {"defaultTs": DEFAULT_TS, "includes": ["f/**", "u/**"], "skipSecrets": False,
              "nonDottedPaths": False}

_EXTENSION = {"python3": ".py", "deno": ".ts", "bun": ".bun.ts", "nativets": ".fetch.ts",
              "go": ".go", "bash": ".sh", "powershell": ".ps1", "postgresql": ".pg.sql",
              "mysql": ".my.sql", "bigquery": ".bq.sql", "snowflake": ".sf.sql",
              "mssql": ".ms.sql", "oracledb": ".odb.sql", "duckdb": ".duckdb.sql",
              "graphql": ".gql", "php": ".php", "rust": ".rs", "csharp": ".cs", "nu": ".nu",
              "java": ".java", "ruby": ".rb", "rlang": ".r", "ansible": ".playbook.yml"}
_META_SUFFIXES = (".script.yaml", ".script.json", ".script.lock", ".resource.yaml",
                  ".variable.yaml", ".resource-type.yaml", ".yaml", ".yml", ".json", ".lock",
                  ".md")
#: Trigger items, each in `<path>.<kind>.yaml` holding its create body without `path`.
TRIGGER_ITEM_KINDS = ("http_trigger", "websocket_trigger", "postgres_trigger", "mqtt_trigger",
                      "nats_trigger", "email_trigger")


@dataclass
class Snapshot:
    """Every item of a sync folder, keyed by item path (resource types by name)."""

    scripts: dict[str, dict[str, Any]] = field(default_factory=dict)
    flows: dict[str, dict[str, Any]] = field(default_factory=dict)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    resource_types: dict[str, dict[str, Any]] = field(default_factory=dict)
    schedules: dict[str, dict[str, Any]] = field(default_factory=dict)
    apps: dict[str, dict[str, Any]] = field(default_factory=dict)
    # item kind (e.g. "websocket_trigger") → path → the file's fields
    triggers: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: {k: {} for k in TRIGGER_ITEM_KINDS})
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)  # by folder name
    skipped: list[str] = field(default_factory=list)  # files of kinds not imported (yet)

    def kinds(self) -> dict[str, dict[str, dict[str, Any]]]:
        return {"resource_type": self.resource_types, "variable": self.variables,
                "resource": self.resources, "script": self.scripts, "flow": self.flows,
                "schedule": self.schedules, "app": self.apps, "folder": self.folders,
                **self.triggers}

    def count(self) -> int:
        return sum(len(v) for v in self.kinds().values())


# -- writing -------------------------------------------------------------------------------

def dump_yaml(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                     default_flow_style=False, width=100)


def script_extension(language: str) -> str:
    return _EXTENSION.get(language, ".txt")


def item_files(kind: str, path: str, language: str | None = None) -> list[str]:
    """The files (or the folder, for a flow) an item occupies, relative to the root."""
    if kind == "script":
        base = [f"{path}.script.yaml", f"{path}.script.lock"]
        return [*base, f"{path}{script_extension(language)}"] if language else base
    if kind == "flow":
        return [f"{path}.flow"]
    if kind == "app":
        return [f"{path}.app"]
    if kind == "resource_type":
        return [f"{path}.resource-type.yaml"]
    if kind == "folder":
        return [f"f/{path}/folder.meta.yaml"]
    return [f"{path}.{kind}.yaml"]


def write_item(root: Path, kind: str, item: dict[str, Any]) -> list[str]:
    """Write one item (a dict shaped like the API's JSON) under `root`; returns the
    relative paths written or removed (stale siblings such as an old language's file)."""
    path = item["name"] if kind in ("resource_type", "folder") else item["path"]
    _check_item_path(path, kind)
    touched: list[str] = []
    if kind == "folder":
        return [_write(root, item_files(kind, path)[0], dump_yaml(folder_meta(item)))]
    if kind == "script":
        touched = _write_script(root, item)
    elif kind == "flow":
        write_flow_folder(flow_body(item), root / f"{path}.flow", default_ts=DEFAULT_TS)
        touched = [f"{path}.flow"]
    elif kind == "app":
        write_app_folder({k: v for k, v in item.items() if k != "path"}, root / f"{path}.app")
        touched = [f"{path}.app"]
    elif kind == "resource":
        touched = [_write(root, f"{path}.resource.yaml", _resource_text(item))]
    elif kind == "variable":
        touched = [_write(root, f"{path}.variable.yaml", dump_yaml(variable_body(item)))]
    elif kind == "schedule" or kind in TRIGGER_ITEM_KINDS:
        touched = [_write(root, f"{path}.{kind}.yaml", dump_yaml(plain_body(item)))]
    elif kind == "resource_type":
        touched = [_write(root, f"{path}.resource-type.yaml",
                          dump_yaml(resource_type_body(item)))]
    else:
        raise UsageError(f"unknown item kind {kind!r}")
    touched += write_folder_meta(root, path)
    return touched


def remove_item(root: Path, kind: str, path: str) -> list[str]:
    """Delete an item's files; returns the relative paths removed."""
    _check_item_path(path, kind)  # never remove anything outside the folder
    removed = []
    names = item_files(kind, path)
    if kind == "script":
        parent = root / Path(path).parent
        stem = Path(path).name
        if parent.is_dir():
            names += [str(Path(path).parent / f.name) for f in parent.iterdir()
                      if f.is_file() and _is_script_content(f.name, stem)]
    for rel in names:
        target = root / rel
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
            removed.append(rel)
        elif target.exists() or target.is_symlink():
            target.unlink()
            removed.append(rel)
    return removed


def write_folder_meta(root: Path, path: str) -> list[str]:
    """``wmill.yaml`` at the root and ``f/<folder>/folder.meta.yaml`` when missing."""
    written = []
    if not (root / "wmill.yaml").exists():
        written.append(_write(root, "wmill.yaml", dump_yaml(WMILL_YAML)))
    parts = path.split("/")
    if len(parts) >= 3 and parts[0] == "f":
        meta = f"f/{parts[1]}/folder.meta.yaml"
        if not (root / meta).exists():
            written.append(_write(root, meta, dump_yaml(implicit_folder_meta(parts[1]))))
    return written


def _write_script(root: Path, s: dict[str, Any]) -> list[str]:
    path, language = s["path"], s["language"]
    stem = Path(path).name
    content_rel = f"{path}{script_extension(language)}"
    touched = [content_rel]
    parent = root / Path(path).parent
    if parent.is_dir():  # another language's file of the same script goes
        for f in parent.iterdir():
            if f.is_file() and _is_script_content(f.name, stem) and f.name != Path(content_rel).name:
                f.unlink()
                touched.append(str(Path(path).parent / f.name))
    lock_rel = f"{path}.script.lock"
    if s.get("lock"):
        touched.append(_write(root, lock_rel, s["lock"]))
    elif (root / lock_rel).exists():
        (root / lock_rel).unlink()
        touched.append(lock_rel)
    meta = script_meta(s, f"!inline {lock_rel}" if s.get("lock") else None)
    _write(root, content_rel, s["content"])
    touched.append(_write(root, f"{path}.script.yaml", dump_yaml(meta)))
    return touched


def _resource_text(r: dict[str, Any]) -> str:
    body, secret = resource_body(r)
    head = ""
    if secret:
        head = (f"# secret fields kept out of Git: {', '.join(secret)}"
                f" (set each with `tidemill secret set {r['path']} --field NAME`)\n")
    return head + dump_yaml(body)


def _is_script_content(filename: str, stem: str) -> bool:
    if not filename.startswith(stem + "."):
        return False
    rest = filename[len(stem):]
    return rest in _EXTENSION.values() and not filename.endswith(_META_SUFFIXES[:6])


def _write(root: Path, rel: str, text: str) -> str:
    target = root / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    os.replace(tmp, target)
    return rel


def _check_item_path(path: str, kind: str) -> None:
    parts = path.split("/")
    if kind in ("resource_type", "folder"):
        if len(parts) != 1 or not path or path.startswith("."):
            raise UsageError(f"invalid {kind.replace('_', ' ')} name {path!r}")
        return
    if parts[0] not in ("f", "u") or len(parts) < 3 or any(p in ("", ".", "..") for p in parts):
        raise UsageError(f"invalid item path {path!r}: expected f/<folder>/<name> or "
                         "u/<user>/<name>")


_TRIGGER_SUFFIXES = tuple(f".{k}.yaml" for k in TRIGGER_ITEM_KINDS)


# -- reading -------------------------------------------------------------------------------

def load_yaml(file: Path, root: Path) -> Any:
    """A YAML file read with YAML 1.2 rules; UsageError naming the file and line."""
    rel = relative(file, root)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"{rel}: cannot read: {e}") from e
    try:
        return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"{rel}, line {mark.line + 1}" if mark else rel
        problem = " ".join(p for p in (e.context, e.problem) if p)
        raise UsageError(f"{where}: malformed YAML: {problem}",
                         hint="nothing was applied; fix the file and try again") from e
    except yaml.YAMLError as e:
        raise UsageError(f"{rel}: malformed YAML: {e}",
                         hint="nothing was applied; fix the file and try again") from e


def read_folder(root: Path) -> Snapshot:
    """Parse a Windmill sync folder (dotted and ``__flow`` layouts) into items."""
    root = Path(root)
    real_root = root.resolve()
    snap = Snapshot()
    default_ts = DEFAULT_TS
    if (root / "wmill.yaml").is_file():
        conf = load_yaml(root / "wmill.yaml", root)
        if isinstance(conf, dict) and conf.get("defaultTs") in ("bun", "deno"):
            default_ts = conf["defaultTs"]
    script_meta: dict[str, Path] = {}
    script_code: dict[str, tuple[Path, str]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for d in list(dirnames):
            full = here / d
            check_inside(full, real_root, root)
            if d.endswith((".flow", "__flow")):
                dirnames.remove(d)  # the flow folder is read as a whole
                item_path = relative(full, root)[: -len(".flow" if d.endswith(".flow") else "__flow")]
                _check_item_path(item_path, "flow")
                flow = load_flow_folder(full)
                _check_mapping(flow, full / "flow.yaml", root)
                flow["path"] = item_path
                snap.flows[item_path] = flow
            elif d.endswith((".app", "__app")):
                dirnames.remove(d)
                item_path = relative(full, root)[: -len(".app" if d.endswith(".app") else "__app")]
                _check_item_path(item_path, "app")
                snap.apps[item_path] = {**load_app_folder(full), "path": item_path}
            elif d.endswith(("__raw_app", ".raw_app", "__mod", "__dbt")):
                dirnames.remove(d)
                snap.skipped.append(relative(full, root))
        for name in sorted(filenames):
            file = here / name
            check_inside(file, real_root, root)
            rel = relative(file, root)
            if name == "folder.meta.yaml" and len(Path(rel).parts) == 3 and rel.startswith("f/"):
                snap.folders[Path(rel).parts[1]] = _read_folder_meta(file, root)
                continue
            if name.startswith(".") or name in ("wmill.yaml", "wmill-lock.yaml",
                                                "folder.meta.yaml"):
                continue
            if name.endswith(".resource-type.yaml"):
                data = _check_mapping(load_yaml(file, root), file, root)
                type_name = name[: -len(".resource-type.yaml")]
                snap.resource_types[type_name] = {
                    "name": type_name, "schema": data.get("schema"),
                    "description": data.get("description") or ""}
            elif name.endswith(".resource.yaml"):
                item_path = _item_path(rel, ".resource.yaml")
                data = _check_mapping(load_yaml(file, root), file, root)
                if not isinstance(data.get("resource_type"), str):
                    raise UsageError(f"{rel}: 'resource_type' is required")
                snap.resources[item_path] = {
                    "path": item_path, "value": data.get("value"),
                    "resource_type": data["resource_type"],
                    "description": data.get("description") or ""}
            elif name.endswith(".schedule.yaml"):
                item_path = _item_path(rel, ".schedule.yaml")
                data = _check_mapping(load_yaml(file, root), file, root)
                snap.schedules[item_path] = {**data, "path": item_path}
            elif name.endswith(_TRIGGER_SUFFIXES):
                kind = name.rsplit(".", 2)[-2]
                item_path = _item_path(rel, f".{kind}.yaml")
                data = _check_mapping(load_yaml(file, root), file, root)
                snap.triggers[kind][item_path] = {**data, "path": item_path}
            elif name.endswith(".variable.yaml"):
                item_path = _item_path(rel, ".variable.yaml")
                data = _check_mapping(load_yaml(file, root), file, root)
                value = data.get("value")
                snap.variables[item_path] = {
                    "path": item_path, "is_secret": bool(data.get("is_secret")),
                    "value": "" if value is None else str(value),
                    "description": data.get("description") or ""}
            elif name.endswith(".script.yaml"):
                script_meta[_item_path(rel, ".script.yaml")] = file
            elif name.endswith((".script.lock", ".script.json", ".yaml", ".yml", ".json",
                                ".lock", ".md")) and not name.endswith(".playbook.yml"):
                if not name.endswith(".script.lock"):
                    snap.skipped.append(rel)
            else:
                language = language_from_filename(name)
                if language is None:
                    snap.skipped.append(rel)
                    continue
                if name.endswith(".ts") and language == "deno" and \
                        not name.endswith(".deno.ts"):
                    language = default_ts
                ext = script_extension(language) if not name.endswith(".ts") else \
                    _ts_suffix(name)
                item_path = rel[: -len(ext)]
                if item_path in script_code:
                    raise UsageError(f"{rel}: the script {item_path} has two code files "
                                     f"({relative(script_code[item_path][0], root)} too)")
                script_code[item_path] = (file, language)
    for item_path, meta_file in script_meta.items():
        if item_path not in script_code:
            raise UsageError(f"{relative(meta_file, root)}: no code file for the script "
                             f"{item_path} beside it", hint="expected e.g. "
                             f"{item_path}.py or {item_path}.ts")
    for item_path, (file, language) in script_code.items():
        if not item_path.startswith(("f/", "u/")):
            snap.skipped.append(relative(file, root))
            continue
        _check_item_path(item_path, "script")
        snap.scripts[item_path] = _read_script(root, real_root, item_path, file, language,
                                               script_meta.get(item_path))
    for kind, items in (("resource", snap.resources), ("variable", snap.variables),
                        ("schedule", snap.schedules), *snap.triggers.items()):
        for item_path in items:
            _check_item_path(item_path, kind)
    return snap


def _read_folder_meta(file: Path, root: Path) -> dict[str, Any]:
    data = _check_mapping(load_yaml(file, root) or {}, file, root)
    name = file.parent.name
    owners = data.get("owners") or []
    perms = data.get("extra_perms") or {}
    rel = relative(file, root)
    if not isinstance(owners, list) or not all(isinstance(o, str) for o in owners):
        raise UsageError(f"{rel}: 'owners' must be a list like [u/alice]")
    if not isinstance(perms, dict) or not all(isinstance(v, bool) for v in perms.values()):
        raise UsageError(f"{rel}: 'extra_perms' must map u/<user> to true (write) or false"
                         " (read)")
    summary = data.get("summary")
    return {"name": name, "summary": None if summary is None else str(summary),
            "display_name": str(data.get("display_name") or name), "owners": owners,
            "extra_perms": {str(k): v for k, v in perms.items()}}


def _ts_suffix(name: str) -> str:
    for suffix in (".deno.ts", ".bun.ts", ".fetch.ts", ".native.ts"):
        if name.endswith(suffix):
            return suffix
    return ".ts"


def _read_script(root: Path, real_root: Path, item_path: str, code: Path, language: str,
                 meta_file: Path | None) -> dict[str, Any]:
    try:
        content = code.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"{relative(code, root)}: cannot read: {e}") from e
    script: dict[str, Any] = {"path": item_path, "language": language, "content": content,
                              "summary": "", "description": ""}
    if meta_file is None:
        return script
    meta = _check_mapping(load_yaml(meta_file, root), meta_file, root)
    for key in ("summary", "description", "kind", "schema", *SCRIPT_OPTIONAL):
        if meta.get(key) is not None:
            script[key] = meta[key]
    lock = meta.get("lock")
    if isinstance(lock, list):  # older repositories: the lock as a list of lines
        lock = "\n".join(str(x) for x in lock)
    if isinstance(lock, str) and lock.startswith("!inline "):
        lock = _read_inline(root, real_root, meta_file, lock[len("!inline "):].strip())
    if isinstance(lock, str) and lock:
        script["lock"] = lock
    return script


def _read_inline(root: Path, real_root: Path, meta_file: Path, name: str) -> str:
    rel = Path(name)
    if not name or rel.is_absolute() or ".." in rel.parts:
        raise UsageError(f"{relative(meta_file, root)}: !inline {name!r} must name a file inside "
                         "the folder (no absolute path, no '..')")
    # wmill writes the path from the root; a path beside the file is read too.
    for target in (root / rel, meta_file.parent / rel):
        if target.exists() or target.is_symlink():
            check_inside(target, real_root, root)
            return target.read_text(encoding="utf-8")
    raise UsageError(f"{relative(meta_file, root)}: the inline file {name!r} is missing")


def _check_mapping(data: Any, file: Path, root: Path) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise UsageError(f"{relative(file, root)}: expected a mapping (key: value lines)")
    return data


def _item_path(rel: str, suffix: str) -> str:
    return rel[: -len(suffix)]
