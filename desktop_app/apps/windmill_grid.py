"""Windmill's grid apps (`value.grid`, the app builder's format) read as Tidemill apps, to
run them: the stored document is never changed, this builds a Tidemill document from it
each time it is run or shown.

What maps (Windmill type → Tidemill kind): text/markdown/html-less text, containers (their
`subgrids`), tabs, modals, drawers, tables (table, aggrid, dbexplorer-less), buttons (their
own runnable and `recomputeIds`), forms, text/textarea/email/password/number/slider/
currency/date/file inputs, selects, checkboxes, bar/pie charts (`{data, labels}` results),
JSON displays and images. Any other type becomes `windmill:<type>`, which run mode shows as
a labelled placeholder.

Runnables: a component's `componentInput` of type `runnable` (inline `runnableByName` with
its `inlineScript`, or `runnableByPath` script/flow) becomes the runnable `<id>__run`;
`hiddenInlineScripts` become `bg_<n>`. Inputs: `static` → the value, `connected` → the
expression `<component>.<path>`, `eval`/`evalv2` → the expression, `user` → what a form
supplies; an input's `.result` (Windmill's name for every output) is Tidemill's
`.value`. `autoRefresh` runs on load (`change` with `recomputeOnInputChanged`); otherwise
a button or a `recomputeIds` runs it. In expressions `<id>.result`/`.loading` of a
component with a runnable read that runnable.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["is_windmill_grid", "runnable_value", "to_tidemill"]

_TEXT = {"textcomponent", "mardowncomponent", "markdowncomponent"}
_SIMPLE = {
    "textinputcomponent": "textinput", "textareainputcomponent": "textinput",
    "emailinputcomponent": "textinput", "passwordinputcomponent": "textinput",
    "numberinputcomponent": "number", "slidercomponent": "number",
    "currencycomponent": "number", "dateinputcomponent": "date",
    "fileinputcomponent": "fileinput", "selectcomponent": "select",
    "checkboxcomponent": "checkbox", "containercomponent": "container",
    "tabscomponent": "tabs", "modalcomponent": "modal", "drawercomponent": "drawer",
    "tablecomponent": "table", "aggridcomponent": "table", "buttoncomponent": "button",
    "formcomponent": "form", "formbuttoncomponent": "form", "barchartcomponent": "chart",
    "piechartcomponent": "chart", "displaycomponent": "json", "jsoncomponent": "json",
    "imagecomponent": "image",
}
_INPUT_KINDS = {"textinput", "number", "date", "fileinput", "select", "checkbox"}
_IDENT = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")


def is_windmill_grid(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("grid"), list) and \
        "components" not in value


def runnable_value(value: Any) -> Any:
    """The app value to run or show: a Windmill grid read as Tidemill's, else as it is."""
    return to_tidemill(value) if is_windmill_grid(value) else value


def to_tidemill(value: dict[str, Any]) -> dict[str, Any]:
    """The Tidemill app value (`components`, `runnables`) of a Windmill grid app value."""
    return _Converter(value).convert()


class _Converter:
    def __init__(self, value: dict[str, Any]) -> None:
        self.value = value
        self.subgrids: dict[str, Any] = value.get("subgrids") or {}
        self.runnables: list[dict[str, Any]] = []
        self.run_of: dict[str, str] = {}  # component id → its runnable's id
        self.inputs: set[str] = set()  # input components: Windmill's `.result` is `.value`
        self.buttons: list[tuple[dict[str, Any], dict[str, Any]]] = []

    def convert(self) -> dict[str, Any]:
        self._index(self.value.get("grid") or [])
        for items in self.subgrids.values():
            self._index(items if isinstance(items, list) else [])
        components = self._items(self.value.get("grid") or [])
        for i, hidden in enumerate(self.value.get("hiddenInlineScripts") or []):
            if isinstance(hidden, dict):
                r = self._runnable(f"bg_{i}", hidden, hidden.get("autoRefresh", True),
                                   hidden.get("recomputeOnInputChanged", True))
                if r:
                    self.runnables.append(r)
        for comp, data in self.buttons:
            self._wire_button(comp, data)
        return {"components": components, "runnables": self.runnables}

    # -- components ---------------------------------------------------------------------
    def _index(self, items: list[Any]) -> None:
        """Name every component's runnable first, so expressions can point at it."""
        for item in items:
            data = item.get("data") if isinstance(item, dict) else None
            if isinstance(data, dict) and _runnable_input(data) is not None:
                self.run_of[str(item.get("id"))] = f"{item.get('id')}__run"
            if isinstance(data, dict) and _SIMPLE.get(str(data.get("type"))) in _INPUT_KINDS:
                self.inputs.add(str(item.get("id")))

    def _items(self, items: list[Any], tab: int | None = None) -> list[dict[str, Any]]:
        out = []
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("data"), dict):
                comp = self._component(item)
                if tab is not None:
                    comp["tab"] = tab
                out.append(comp)
        return out

    def _component(self, item: dict[str, Any]) -> dict[str, Any]:
        data = item["data"]
        cid = str(item.get("id") or data.get("id"))
        wtype = str(data.get("type") or "")
        by_width: dict[Any, Any] = item  # JSON keys "12"/"3", or ints from YAML
        layout = by_width.get("12") or by_width.get(12) or by_width.get("3") or by_width.get(3)
        layout = layout if isinstance(layout, dict) else {}
        safe = cid if _IDENT.match(cid) else "c_" + re.sub(r"[^A-Za-z0-9_]", "_", cid)
        comp: dict[str, Any] = {"id": safe, "x": min(11, _int(layout.get("x"), 0)),
                                "y": _int(layout.get("y"), 0),
                                "w": max(1, _int(layout.get("w"), 4)),
                                "h": max(1, _int(layout.get("h"), 2))}
        kind = "text" if wtype in _TEXT else _SIMPLE.get(wtype)
        if kind is None:
            comp.update(type=f"windmill:{wtype}", props={})
            return comp
        comp["type"] = kind
        comp["props"] = props = {}
        config = data.get("configuration") or {}
        source = self._source(cid, data)
        if kind == "text":
            props["text"] = source if source is not None else ""
        elif kind in ("table", "json"):
            props["data"] = source if source is not None else ([] if kind == "table" else None)
        elif kind == "chart":
            props.update(kind="pie" if wtype == "piechartcomponent" else "bar", x="label",
                         y="value", data=_chart_data(source))
        elif kind == "image":
            props["source"] = self._config(config, "source") or ""
        elif kind in ("textinput", "number", "date", "checkbox", "select", "fileinput"):
            for theirs, ours in (("label", "label"), ("placeholder", "placeholder"),
                                 ("defaultValue", "default"), ("min", "min"), ("max", "max"),
                                 ("step", "step")):
                v = self._config(config, theirs)
                if v is not None:
                    props[ours] = v
            if kind == "select":
                props["options"] = self._config(config, "items") or []
        elif kind in ("container", "tabs", "modal", "drawer"):
            if kind == "tabs":
                tabs = data.get("tabs") or ["Tab 1"]
                props["tabs"] = tabs
                comp["children"] = [c for i in range(len(tabs))
                                    for c in self._items(self.subgrids.get(f"{cid}-{i}") or [],
                                                         tab=i)]
            else:
                comp["children"] = self._items(self.subgrids.get(f"{cid}-0") or [])
            title = self._config(config, "title")
            if title:
                props["title"] = title
            label = self._config(config, "buttonLabel")
            if label and kind in ("modal", "drawer"):
                props["button_label"] = label
        elif kind == "button":
            props["label"] = self._config(config, "label") or "Run"
            color = self._config(config, "color")
            props["style"] = "danger" if color == "red" else "primary"
            self.buttons.append((comp, data))
        elif kind == "form":
            props["submit_label"] = self._config(config, "label") or "Submit"
            comp["runnable"] = self.run_of.get(cid)
            self.buttons.append((comp, data))  # its recomputeIds refresh after a submit
        return comp

    def _source(self, cid: str, data: dict[str, Any]) -> Any:
        """What a component shows: its runnable's result, or its static/eval input."""
        ci = data.get("componentInput")
        if not isinstance(ci, dict):
            return None
        if ci.get("type") == "runnable":
            kind = _SIMPLE.get(str(data.get("type")))
            trigger_load = ci.get("autoRefresh", True) and kind not in ("button", "form")
            r = self._runnable(self.run_of[cid], ci, trigger_load,
                               ci.get("recomputeOnInputChanged", True))
            if r:
                self.runnables.append(r)
            return {"expr": f"{self.run_of[cid]}.result"}
        return self._input(ci)

    def _config(self, config: dict[str, Any], name: str) -> Any:
        return self._input(config.get(name))

    def _input(self, spec: Any) -> Any:
        """A Windmill input (static, connected, eval, template) as a Tidemill property."""
        if not isinstance(spec, dict):
            return spec
        kind = spec.get("type")
        if kind == "static":
            v = spec.get("value")
            return {"value": v} if isinstance(v, dict) else v
        if kind == "connected" and isinstance(spec.get("connection"), dict):
            c = spec["connection"]
            return {"expr": self._expr(f"{c.get('componentId')}.{c.get('path')}")}
        if kind in ("eval", "evalv2"):
            return {"expr": self._expr(str(spec.get("expr") or "undefined"))}
        if kind in ("template", "templatev2"):
            text = str(spec.get("eval") or "")
            return {"expr": self._expr("`" + text.replace("`", "\\`") + "`")}
        if kind == "oneOf":
            return spec.get("selected")
        return None

    def _expr(self, expr: str) -> str:
        for cid, rid in self.run_of.items():
            expr = re.sub(rf"\b{re.escape(cid)}\.(result|loading)\b", rf"{rid}.\1", expr)
        for cid in self.inputs:
            expr = re.sub(rf"\b{re.escape(cid)}\.result\b", f"{cid}.value", expr)
        return expr

    # -- runnables ----------------------------------------------------------------------
    def _runnable(self, rid: str, ci: dict[str, Any], on_load: bool,
                  on_change: bool) -> dict[str, Any] | None:
        spec = ci.get("runnable") if "runnable" in ci else ci
        if not isinstance(spec, dict):
            return None
        out: dict[str, Any] = {"id": rid}
        if spec.get("type") == "runnableByPath":
            out["type"] = "flow" if spec.get("runType") == "flow" else "script"
            out["path"] = spec.get("path")
        else:
            inline = spec.get("inlineScript") or {}
            out.update(type="inline", language=_language(inline.get("language")),
                       content=inline.get("content") or "")
        inputs = {}
        for name, field in (ci.get("fields") or {}).items():
            if isinstance(field, dict) and field.get("type") != "user":
                inputs[name] = self._input(field)
        if inputs:
            out["inputs"] = inputs
        out["trigger"] = ("change" if on_change else "load") if on_load else "button"
        return out

    def _wire_button(self, comp: dict[str, Any], data: dict[str, Any]) -> None:
        """A button (or form) runs its own runnable, then refreshes `recomputeIds`; a button
        with no runnable of its own reruns the first of them."""
        again = [self.run_of[c] for c in data.get("recomputeIds") or [] if c in self.run_of]
        own = self.run_of.get(comp["id"])
        if own is None and not again:
            if comp["type"] == "button":
                comp["props"]["label"] = f"{comp['props']['label']} (does nothing)"
            return
        comp["runnable"] = own or again[0]
        rest = again if own else again[1:]
        if rest:
            for r in self.runnables:
                if r["id"] == comp["runnable"]:
                    r["on_success"] = {"refresh": rest}


def _int(v: Any, default: int) -> int:
    """A grid number as Windmill wrote it, or `default` for anything else."""
    try:
        return max(0, int(v))
    except (TypeError, ValueError):
        return default


def _runnable_input(data: dict[str, Any]) -> dict[str, Any] | None:
    ci = data.get("componentInput")
    return ci if isinstance(ci, dict) and ci.get("type") == "runnable" else None


def _language(lang: Any) -> str:
    """Windmill's inline languages; TypeScript Tidemill cannot run as written runs on Deno."""
    from desktop_app.core.errors import UsageError
    from desktop_app.core.languages import require_runnable

    name = str(lang or "deno")
    try:
        require_runnable(name)
        return name
    except UsageError:
        return "deno" if name in ("bun", "nativets", "typescript") else name


def _chart_data(source: Any) -> Any:
    """Windmill's chart input `{data: [...], labels: [...]}` as rows {label, value}."""
    if isinstance(source, dict) and "expr" in source:
        return {"expr": "(r => r && Array.isArray(r.labels) ? r.labels.map((l, i) =>"
                        " ({label: l, value: (r.data || [])[i]})) : r)(" + source["expr"] + ")"}
    if isinstance(source, dict) and isinstance(source.get("value"), dict):
        source = source["value"]
    if isinstance(source, dict) and isinstance(source.get("labels"), list):
        data = source.get("data") or []
        return [{"label": lab, "value": data[i] if i < len(data) else None}
                for i, lab in enumerate(source["labels"])]
    return json.loads(json.dumps(source)) if source is not None else []
