"""An app definition: components on a 12-column grid bound to runnables, as ``app.yaml`` holds it.

The model is a thin view over the document itself (the dict read from YAML or JSON): every
accessor reads and writes that dict, so keys this model does not know stay where they
were and a load → save without edits gives the same text. The document::

    summary: Users admin
    value:
      components:
        - id: users            # a JS identifier, unique in the app
          type: table          # one of kinds.KINDS
          x: 0                 # grid cell (12 columns, rows of ROW_HEIGHT px)
          y: 1
          w: 8
          h: 6
          props:
            data: {expr: list_users.result}   # an expression over the app state
            searchable: true                  # anything else is a static value
          children: [...]      # container, tabs, modal, drawer; a child in tabs has `tab: N`
          runnable: add_user   # button and form: what they run
      runnables:
        - id: list_users
          type: script         # script | flow (deployed, by path) | inline (language+content)
          path: f/admin/list_users
          inputs:
            limit: 50
            name: {expr: search.value}
          trigger: change      # load | change (load + whenever an input changes) | button
          on_success: {refresh: [list_users], message: User added}
          on_error: {message: Could not add the user}
    policy: {execution_mode: viewer}

A property (or input) written ``{expr: "..."}`` is a JavaScript expression, evaluated like a
flow's input transforms; ``{value: ...}`` is an explicit static value (for a static mapping
that would otherwise look like an expression); anything else is static as it is.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from desktop_app.apps.kinds import GRID_COLUMNS, KINDS, RUNNABLE_TYPES, TRIGGERS
from desktop_app.core.errors import UsageError
from desktop_app.flows.folder import _Dumper as _FlowDumper
from desktop_app.flows.folder import _Loader

__all__ = ["AppDefinition", "Component", "Runnable", "dump_app_yaml", "is_expr",
           "load_app_yaml", "static_value"]

APP_FILE = "app.yaml"
ROW_HEIGHT = 40
_IDENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_RESERVED_IDS = frozenset({"ctx", "state", "app", "window", "globalThis", "variable",
                           "resource", "undefined", "null", "true", "false", "this"})


def is_expr(raw: Any) -> bool:
    """Whether a property value is an expression (``{expr: "..."}``)."""
    return isinstance(raw, dict) and len(raw) == 1 and isinstance(raw.get("expr"), str)


def static_value(raw: Any) -> Any:
    """The static value a property holds (``{value: X}`` → X)."""
    if isinstance(raw, dict) and len(raw) == 1 and "value" in raw:
        return raw["value"]
    return raw


# -- YAML ------------------------------------------------------------------------------

class _AppDumper(_FlowDumper):
    """The flow dumper's quoting rules, but keys stay in the document's order (round trip)."""


def _represent_ordered(dumper: yaml.SafeDumper, data: dict[Any, Any]) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", list(data.items()))


_AppDumper.add_representer(dict, _represent_ordered)


def load_app_yaml(text: str, where: str = APP_FILE) -> dict[str, Any]:
    """The document in `text`; UsageError naming `where` and the line when malformed."""
    try:
        data = yaml.load(text, Loader=_Loader)  # a SafeLoader subclass (YAML 1.2 core)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        at = f"{where}, line {mark.line + 1}" if mark else where
        problem = " ".join(p for p in (e.context, e.problem) if p)
        raise UsageError(f"{at}: malformed YAML: {problem}") from e
    except yaml.YAMLError as e:
        raise UsageError(f"{where}: malformed YAML: {e}") from e
    if not isinstance(data, dict):
        raise UsageError(f"{where}: an app must be a mapping (summary, value, policy)",
                         hint="see docs/apps.md for the format")
    return data


def dump_app_yaml(document: dict[str, Any]) -> str:
    return yaml.dump(document, Dumper=_AppDumper, sort_keys=False, allow_unicode=True,
                     default_flow_style=False, width=100)


# -- wrappers ----------------------------------------------------------------------------

@dataclass(eq=False)
class Component:
    """A view over one component's dict inside the document."""

    raw: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.raw.get("id", ""))

    @property
    def type(self) -> str:
        return str(self.raw.get("type", ""))

    @property
    def kind(self) -> Any:
        return KINDS.get(self.type)

    @property
    def geometry(self) -> tuple[int, int, int, int]:
        g = self.raw
        return (int(g.get("x", 0)), int(g.get("y", 0)), int(g.get("w", 1)), int(g.get("h", 1)))

    def set_geometry(self, x: int, y: int, w: int, h: int) -> None:
        for key, value in zip("xywh", (x, y, w, h), strict=True):
            self.raw[key] = value

    @property
    def props(self) -> dict[str, Any]:
        props = self.raw.get("props")
        return props if isinstance(props, dict) else {}

    def prop(self, name: str) -> Any:
        """The raw property (static value or ``{expr}``), else the kind's default."""
        if name in self.props:
            return self.props[name]
        kind = self.kind
        return copy.deepcopy(kind.props.get(name)) if kind else None

    def set_prop(self, name: str, raw: Any) -> None:
        self.raw.setdefault("props", {})[name] = raw

    @property
    def runnable(self) -> str | None:
        r = self.raw.get("runnable")
        return r if isinstance(r, str) and r else None

    @property
    def children(self) -> list[Component]:
        kids = self.raw.get("children")
        return [Component(c) for c in kids if isinstance(c, dict)] if isinstance(kids, list) \
            else []

    @property
    def tab(self) -> int:
        return int(self.raw.get("tab", 0) or 0)


@dataclass(eq=False)
class Runnable:
    """A view over one runnable's dict."""

    raw: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.raw.get("id", ""))

    @property
    def type(self) -> str:
        return str(self.raw.get("type", ""))

    @property
    def path(self) -> str | None:
        return self.raw.get("path")

    @property
    def language(self) -> str | None:
        return self.raw.get("language")

    @property
    def content(self) -> str | None:
        return self.raw.get("content")

    @property
    def inputs(self) -> dict[str, Any]:
        inputs = self.raw.get("inputs")
        return inputs if isinstance(inputs, dict) else {}

    @property
    def trigger(self) -> str:
        return str(self.raw.get("trigger") or "button")

    def follow_up(self, outcome: str) -> dict[str, Any]:
        """`on_success` / `on_error`: {refresh: [ids], message: text}."""
        f = self.raw.get(f"on_{outcome}")
        return f if isinstance(f, dict) else {}

    def static_inputs(self) -> dict[str, Any]:
        """Inputs fixed in the app (not expressions): the server enforces them."""
        return {k: static_value(v) for k, v in self.inputs.items() if not is_expr(v)}


class AppDefinition:
    """An app document (``summary``, ``value: {components, runnables}``, ``policy``)."""

    def __init__(self, document: dict[str, Any] | None = None) -> None:
        self.document: dict[str, Any] = document if document is not None else \
            {"summary": "", "value": {"components": [], "runnables": []}}
        value = self.document.get("value")
        # A document without a mapping `value` is refused by validate(); reading it gives
        # an empty app rather than a changed document.
        self.value: dict[str, Any] = value if isinstance(value, dict) else {}

    # -- io ----------------------------------------------------------------------------
    @classmethod
    def from_yaml(cls, text: str, where: str = APP_FILE) -> AppDefinition:
        return cls(load_app_yaml(text, where))

    def to_yaml(self) -> str:
        return dump_app_yaml(self.document)

    @classmethod
    def from_api(cls, body: dict[str, Any]) -> AppDefinition:
        """From `apps/get/p/{path}`'s answer (the document's keys plus the API's own)."""
        doc: dict[str, Any] = {"summary": body.get("summary") or "",
                               "value": copy.deepcopy(body.get("value") or {})}
        if body.get("policy") is not None:
            doc["policy"] = copy.deepcopy(body["policy"])
        for k, v in (body.get("extra") or {}).items():
            doc[k] = copy.deepcopy(v)
        return cls(doc)

    def to_api(self, path: str) -> dict[str, Any]:
        """The body of `apps/create` or `apps/update`."""
        return {**copy.deepcopy(self.document), "path": path}

    def copy(self) -> AppDefinition:
        return AppDefinition(copy.deepcopy(self.document))

    # -- content ------------------------------------------------------------------------
    @property
    def summary(self) -> str:
        return str(self.document.get("summary") or "")

    def _list(self, key: str, *, create: bool = False) -> list[Any]:
        """value[key]; reading never adds the key (the document must stay as it came)."""
        items = self.value.get(key)
        if not isinstance(items, list):
            items = []
            if create:
                self.value[key] = items
                if not isinstance(self.document.get("value"), dict):
                    self.document["value"] = self.value
        return items

    @property
    def components(self) -> list[Component]:
        """Top-level components."""
        return [Component(c) for c in self._list("components") if isinstance(c, dict)]

    def all_components(self) -> Iterator[tuple[Component, Component | None]]:
        """Every component, depth first, with its parent (None at the top)."""
        def walk(items: list[Component], parent: Component | None
                 ) -> Iterator[tuple[Component, Component | None]]:
            for c in items:
                yield c, parent
                yield from walk(c.children, c)
        yield from walk(self.components, None)

    def component(self, component_id: str) -> Component:
        for c, _parent in self.all_components():
            if c.id == component_id:
                return c
        raise UsageError(f"no component {component_id!r} in this app")

    @property
    def runnables(self) -> list[Runnable]:
        return [Runnable(r) for r in self._list("runnables") if isinstance(r, dict)]

    def runnable(self, runnable_id: str) -> Runnable:
        for r in self.runnables:
            if r.id == runnable_id:
                return r
        raise UsageError(f"no runnable {runnable_id!r} in this app",
                         hint="the app may have changed since it was opened; reload it")

    def ids(self) -> set[str]:
        return {c.id for c, _ in self.all_components()} | {r.id for r in self.runnables}

    def new_id(self, base: str) -> str:
        """A fresh id (``table1``, ``table2``…)."""
        taken = self.ids()
        n = 1
        while f"{base}{n}" in taken:
            n += 1
        return f"{base}{n}"

    def container_list(self, parent_id: str | None) -> list[Any]:
        """The raw list a new component goes in: the top level or a container's children."""
        if parent_id is None:
            return self._list("components", create=True)
        parent = self.component(parent_id)
        if not parent.kind or not parent.kind.container:
            raise UsageError(f"{parent_id} ({parent.type}) cannot hold components",
                             hint="only container, tabs, modal and drawer can")
        kids = parent.raw.get("children")
        if not isinstance(kids, list):
            kids = parent.raw["children"] = []
        return kids

    def foreign_format(self) -> str | None:
        """Why this document cannot be shown (Windmill's own grid format), else None."""
        if "grid" in self.value and "components" not in self.value:
            return ("this is a Windmill app (value.grid); Tidemill shows apps in its own "
                    "format (value.components and value.runnables, see docs/apps.md)")
        return None

    # -- checks -------------------------------------------------------------------------
    def validate(self, *, with_code: bool = True) -> None:
        """UsageError naming the component or runnable and the field that is wrong.
        `with_code=False` accepts inline runnables whose code was withheld (run mode for
        users who may not read it)."""
        seen: set[str] = set()

        def check_id(raw_id: Any, what: str) -> str:
            if not isinstance(raw_id, str) or not _IDENT.fullmatch(raw_id) or \
                    raw_id in _RESERVED_IDS:
                raise UsageError(f"{what} id {raw_id!r} is not usable in expressions",
                                 hint="use letters, digits and _ (e.g. users_table), not "
                                      "starting with a digit")
            if raw_id in seen:
                raise UsageError(f"the id {raw_id!r} is used twice",
                                 hint="every component and runnable needs its own id")
            seen.add(raw_id)
            return raw_id

        if not isinstance(self.document.get("value"), dict):
            raise UsageError("'value' must be a mapping holding components and runnables")
        for key in ("components", "runnables"):
            if key in self.value and not isinstance(self.value[key], list):
                raise UsageError(f"value.{key} must be a list")
        runnable_ids = set()
        for r in self._list("runnables"):
            if not isinstance(r, dict):
                raise UsageError("each runnable must be a mapping (id, type, ...)")
            rid = check_id(r.get("id"), "runnable")
            runnable_ids.add(rid)
            self._check_runnable(Runnable(r), with_code)
        for c, _parent in self.all_components():
            cid = check_id(c.raw.get("id"), "component")
            if c.type not in KINDS:
                raise UsageError(f"component {cid}: unknown type {c.type!r}",
                                 hint=f"one of {', '.join(KINDS)}")
            for key in ("x", "y", "w", "h"):
                v = c.raw.get(key, 0)
                if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                    raise UsageError(f"component {cid}: {key} must be a whole number ≥ 0")
            x, _y, w, h = c.geometry
            if w < 1 or h < 1 or x + w > GRID_COLUMNS:
                raise UsageError(f"component {cid}: it must fit the {GRID_COLUMNS}-column "
                                 f"grid with a size of at least 1x1 (x={x}, w={w}, h={h})")
            if "props" in c.raw and not isinstance(c.raw["props"], dict):
                raise UsageError(f"component {cid}: props must be a mapping")
            for name, raw in c.props.items():
                _check_expr(raw, f"component {cid}, property {name}")
            if c.raw.get("children") is not None and not (c.kind and c.kind.container):
                raise UsageError(f"component {cid}: a {c.type} cannot hold children")
            if c.runnable is not None and c.runnable not in runnable_ids:
                raise UsageError(f"component {cid}: runnable {c.runnable!r} does not exist",
                                 hint=f"runnables: {', '.join(sorted(runnable_ids)) or 'none'}")
        for r in self.runnables:
            for outcome in ("success", "error"):
                for target in r.follow_up(outcome).get("refresh") or []:
                    if target not in runnable_ids:
                        raise UsageError(f"runnable {r.id}: on_{outcome} refreshes "
                                         f"{target!r}, which does not exist")

    @staticmethod
    def _check_runnable(r: Runnable, with_code: bool) -> None:
        where = f"runnable {r.id}"
        if r.type not in RUNNABLE_TYPES:
            raise UsageError(f"{where}: type must be one of {', '.join(RUNNABLE_TYPES)}, "
                             f"not {r.type!r}")
        if r.type in ("script", "flow") and not (isinstance(r.path, str) and
                                                 r.path.startswith(("f/", "u/"))):
            raise UsageError(f"{where}: a {r.type} runnable needs the deployed path "
                             f"(f/folder/name), not {r.path!r}")
        if r.type == "inline" and not (isinstance(r.language, str) and
                                       (isinstance(r.content, str) or not with_code)):
            raise UsageError(f"{where}: an inline runnable needs `language` and `content`")
        if r.trigger not in TRIGGERS:
            raise UsageError(f"{where}: trigger must be one of {', '.join(TRIGGERS)}, "
                             f"not {r.trigger!r}")
        if "inputs" in r.raw and not isinstance(r.raw["inputs"], dict):
            raise UsageError(f"{where}: inputs must be a mapping of argument → value")
        for name, raw in r.inputs.items():
            _check_expr(raw, f"{where}, input {name}")
        for outcome in ("success", "error"):
            f = r.raw.get(f"on_{outcome}")
            if f is None:
                continue
            if not isinstance(f, dict) or not isinstance(f.get("refresh", []), list):
                raise UsageError(f"{where}: on_{outcome} must be a mapping "
                                 "{refresh: [runnable ids], message: text}")


def _check_expr(raw: Any, where: str) -> None:
    if isinstance(raw, dict) and "expr" in raw and len(raw) == 1 and \
            (not isinstance(raw["expr"], str) or not raw["expr"].strip()):
        raise UsageError(f"{where}: expr must be a non-empty JavaScript expression")
