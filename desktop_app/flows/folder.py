"""Windmill flow folders (``name.flow/`` or ``name__flow/``): ``flow.yaml`` plus one file per
inline script, as the ``wmill`` CLI writes them.

A rawscript's ``content`` (and a non-empty ``lock``) is stored as the string
``!inline <file>``, naming a file beside ``flow.yaml``; wmill writes it that way, quoted.
An unquoted YAML tag (``content: !inline file.py``) is read too, anywhere in the document.

YAML is read with YAML 1.2's core schema, as wmill writes it: ``yes``/``on``/``no`` stay
strings and dates stay strings (PyYAML's default 1.1 rules would turn them into booleans and
dates); ``0o17`` is an octal int. Written YAML quotes every string either version could
read as something else.
"""

from __future__ import annotations

import copy
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from desktop_app.core.errors import UsageError
from desktop_app.flows.model import iter_modules

__all__ = ["FLOW_FILE", "inline_script_extension", "load_flow_folder", "write_flow_folder"]

FLOW_FILE = "flow.yaml"
INLINE_PREFIX = "!inline "
DEFAULT_TS = "bun"

_EXTENSIONS = {
    "python3": "py", "bun": "bun.ts", "deno": "deno.ts", "go": "go", "bash": "sh",
    "powershell": "ps1", "postgresql": "pg.sql", "mysql": "my.sql", "bigquery": "bq.sql",
    "oracledb": "odb.sql", "snowflake": "sf.sql", "mssql": "ms.sql", "graphql": "gql",
    "nativets": "native.ts", "php": "php", "rust": "rs", "csharp": "cs", "nu": "nu",
    "ansible": "playbook.yml", "java": "java", "duckdb": "duckdb.sql", "ruby": "rb", "rlang": "r",
}
# Characters no file name may hold here (path separators, Windows' reserved ones, controls).
_FORBIDDEN = re.compile(r'[/\\:*?"<>|\x00-\x1f\x7f]')
_WINDOWS_RESERVED = re.compile(r"con|prn|aux|nul|com[0-9]|lpt[0-9]")
_WRITTEN = re.compile(r".+\.inline_script\.[A-Za-z0-9.]+")
# wmill sorts keys by these stand-in names (so `id` comes first and `lock` before
# `language`), the rest by their own name, with JS's localeCompare.
_SORT_AS = {"id": "aa", "type": "ab", "summary": "ad", "name": "ae", "display_name": "af",
            "description": "ag", "value": "ah", "content": "ai", "modules": "aj",
            "failure_module": "ak", "input_transforms": "al", "lock": "az"}


def inline_script_extension(language: str, default_ts: str = DEFAULT_TS) -> str:
    """File extension of an inline script (``ts`` for the default TypeScript runtime)."""
    if language in (default_ts, "bunnative"):
        return "ts"
    return _EXTENSIONS.get(language, "no_ext")


# -- YAML 1.2 core schema --------------------------------------------------------------

_CORE_RESOLVERS: list[tuple[str, str, list[str]]] = [
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$",
     list("-+0123456789")),
    ("tag:yaml.org,2002:float",
     r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
     r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$", list("-+.0123456789")),
]


class _InlineRef(str):
    """The file named by an explicit ``!inline`` tag."""


class _Loader(yaml.SafeLoader):
    pass


_Loader.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in _CORE_RESOLVERS:
    _Loader.add_implicit_resolver(_tag, re.compile(_pattern), _first)


def _construct_int(loader: yaml.SafeLoader, node: yaml.Node) -> int:
    text = str(loader.construct_scalar(node))  # type: ignore[arg-type]
    sign, digits = (-1, text[1:]) if text[0] == "-" else (1, text.lstrip("+"))
    if digits.startswith(("0o", "0x")):
        return sign * int(digits[2:], 8 if digits[1] == "o" else 16)
    return sign * int(digits, 10)


def _construct_inline(loader: yaml.SafeLoader, node: yaml.Node) -> _InlineRef:
    return _InlineRef(loader.construct_scalar(node))  # type: ignore[arg-type]


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_Loader.add_constructor("!inline", _construct_inline)


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # Lists indented under their key, as wmill writes them.
        super().increase_indent(flow, False)


# Quote what either YAML 1.1 (PyYAML, older tools) or 1.2 (wmill) would not read as a string.
for _tag, _pattern, _first in _CORE_RESOLVERS:
    _Dumper.add_implicit_resolver(_tag, re.compile(_pattern), _first)


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    if "\n" in text:
        return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", text)


def _represent_dict(dumper: yaml.SafeDumper, data: dict[Any, Any]) -> yaml.Node:
    keys = sorted(data, key=_sort_key)
    return dumper.represent_mapping("tag:yaml.org,2002:map", [(k, data[k]) for k in keys])


def _sort_key(key: Any) -> tuple[str, str]:
    # localeCompare, roughly: case-insensitive first, then lower case before upper case.
    name = _SORT_AS.get(key, str(key))
    return name.casefold(), name.swapcase()


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(dict, _represent_dict)


# -- load --------------------------------------------------------------------------------


def load_flow_folder(path: Path) -> dict[str, Any]:
    """The OpenFlow in a flow folder (or its ``flow.yaml``), inline files read in.

    Raises UsageError naming the file (and line) for malformed YAML, a missing inline file,
    or an inline reference leaving the folder.
    """
    path = Path(path)
    folder = path.parent if path.is_file() else path
    flow_file = path if path.is_file() else folder / FLOW_FILE
    if not flow_file.is_file():
        json_file = folder / "flow.json"
        if json_file.is_file():
            flow_file = json_file
        else:
            raise UsageError(f"{folder} is not a flow folder: it has no {FLOW_FILE}",
                             hint="a flow folder is named <name>.flow or <name>__flow "
                                  "and holds flow.yaml")
    try:
        text = flow_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"cannot read {flow_file}: {e}") from e
    try:
        flow = yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"{flow_file}, line {mark.line + 1}" if mark else str(flow_file)
        problem = " ".join(p for p in (e.context, e.problem) if p)
        raise UsageError(f"{where}: malformed YAML: {problem}") from e
    except yaml.YAMLError as e:
        raise UsageError(f"{flow_file}: malformed YAML: {e}") from e
    if not isinstance(flow, dict):
        raise UsageError(f"{flow_file}: a flow must be a mapping (summary, value, ...)")
    resolved: dict[str, Any] = _resolve(flow, _InlineReader(folder, flow_file))
    return resolved


class _InlineReader:
    def __init__(self, folder: Path, flow_file: Path) -> None:
        self.folder = folder
        self.root = folder.resolve()
        self.flow_file = flow_file

    def read(self, name: str) -> str:
        name = name.strip()
        relative = Path(name)
        if not name or relative.is_absolute() or ".." in relative.parts:
            raise UsageError(f"{self.flow_file}: !inline {name!r} must name a file inside "
                             f"the flow folder (no absolute path, no '..')")
        target = self.folder / relative
        if not target.resolve().is_relative_to(self.root):
            raise UsageError(f"{self.flow_file}: !inline {name!r} leads outside the flow "
                             f"folder (through a symbolic link)")
        try:
            with open(target, encoding="utf-8", newline="") as f:
                return f.read()
        except FileNotFoundError:
            raise UsageError(f"{self.flow_file}: the inline file {name!r} is missing",
                             hint=f"expected it at {target}") from None
        except (OSError, UnicodeDecodeError) as e:
            raise UsageError(f"{self.flow_file}: cannot read the inline file {name!r}: {e}") from e


def _resolve(node: Any, reader: _InlineReader) -> Any:
    if isinstance(node, _InlineRef):
        return reader.read(str(node))
    if isinstance(node, list):
        return [_resolve(item, reader) for item in node]
    if not isinstance(node, dict):
        return node
    rawscript = node.get("type") == "rawscript"
    return {key: reader.read(item[len(INLINE_PREFIX):])
            if rawscript and key in ("content", "lock") and type(item) is str
            and item.startswith(INLINE_PREFIX) else _resolve(item, reader)
            for key, item in node.items()}


# -- write -------------------------------------------------------------------------------


def write_flow_folder(flow: dict[str, Any], folder: Path, *, default_ts: str = DEFAULT_TS) -> None:
    """Write `flow` as a flow folder: inline scripts to their own files, the rest to
    ``flow.yaml``; ``load_flow_folder(folder) == flow``.

    Inline files are named as wmill names them: the step summary (else the step id)
    lowercased, spaces to ``_``; an empty one gives ``inline_script_N``;
    ``.inline_script.<ext>``; locks ``.inline_script.lock``. A folder written with other
    names (older Tidemill used ``inline_script_N`` for every step without a summary) still
    loads, since flow.yaml names its files; it gets these names when next written.
    Inline script files a previous write left and this flow no longer uses are removed.
    """
    folder = Path(folder)
    flow = copy.deepcopy(flow)
    files: dict[str, str] = {}
    names = _PathAssigner(default_ts)
    value = flow.get("value")
    if isinstance(value, dict):
        for script in _rawscripts(value):
            # wmill names the file after the summary, or the step id when there is none
            # (an empty summary is not none: it gives inline_script_N)
            summary = script.get("summary")
            base, ext = names.assign(script.get("id") if summary is None else summary,
                                     script["value"].get("language"))
            module_value = script["value"]
            if isinstance(module_value.get("content"), str):
                files[base + ext] = module_value["content"]
                module_value["content"] = INLINE_PREFIX + base + ext
            lock = module_value.get("lock")
            if isinstance(lock, str) and lock:
                files[base + "lock"] = lock
                module_value["lock"] = INLINE_PREFIX + base + "lock"
    text = yaml.dump(flow, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                     default_flow_style=False, width=100)
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        _write_atomic(folder / name, content)
    for stale in folder.iterdir():
        if _WRITTEN.fullmatch(stale.name) and stale.name not in files and stale.is_file():
            stale.unlink()
    _write_atomic(folder / FLOW_FILE, text)


class _PathAssigner:
    """wmill's file names for inline scripts, deduplicated in document order."""

    def __init__(self, default_ts: str) -> None:
        self.default_ts = default_ts
        self.counter = 0
        self.seen: set[str] = set()

    def assign(self, summary: Any, language: Any) -> tuple[str, str]:
        name = _sanitize(summary) if isinstance(summary, str) else ""
        original = name
        if not name:
            original, name = "inline_script", "inline_script_0"
        while name.lower() in self.seen:
            self.counter += 1
            name = f"{original}_{self.counter}"
        self.seen.add(name.lower())
        ext = inline_script_extension(language if isinstance(language, str) else "",
                                      self.default_ts)
        return f"{name}.inline_script.", ext


def _sanitize(summary: str) -> str:
    """wmill's sanitizeForFilesystem: spaces to ``_``, forbidden characters dropped, runs of
    ``_`` folded, ``.``/``_`` trimmed at both ends, lower case; Windows device names get ``_``."""
    name = _FORBIDDEN.sub("", summary.replace(" ", "_"))
    name = re.sub(r"_+", "_", name)
    name = re.sub(r"^[._]+|[._]+$", "", name).lower()
    return f"_{name}" if _WINDOWS_RESERVED.fullmatch(name) else name


def _rawscripts(flow_value: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Rawscript modules in wmill's order: modules depth first (loops, branches then
    default, agent tools), then the failure and preprocessor modules."""
    for module, _path in iter_modules(flow_value):
        value = module.get("value")
        if isinstance(value, dict) and value.get("type") == "rawscript":
            yield module  # type: ignore[misc]


def _write_atomic(target: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

