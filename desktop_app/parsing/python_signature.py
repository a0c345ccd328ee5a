"""Python scripts: the signature of ``main`` as Windmill's parser (windmill-parser-py) sees it.

The rules reproduce what windmill-parser-wasm-py 1.782.0 returns, quirks included, so a script
gets the same form here as in Windmill (tests/integration/test_signature_reference.py runs both
on the same corpus). Quirks we copy on purpose are marked "Windmill:".

Unlike Windmill, which only parses the text up to the signature, we parse the whole file and
report a syntax error anywhere: such a script could not run anyway.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass, field
from typing import Any

from desktop_app.core.errors import ScriptSyntaxError
from desktop_app.parsing.signature import (
    BOOL,
    BYTES,
    DATE,
    DATETIME,
    FLOAT,
    INT,
    SQL,
    UNKNOWN,
    Arg,
    MainArgSignature,
    ObjectProp,
    Typ,
    list_typ,
    make_arg,
    make_signature,
    object_typ,
    resource_typ,
    str_typ,
)

_ENUM_BASES = {"Enum", "StrEnum", "IntEnum", "Flag", "IntFlag"}
_SIMPLE_NAMES: dict[str, Typ] = {
    "int": INT, "float": FLOAT, "bool": BOOL, "bytes": BYTES,
    "datetime": DATETIME, "date": DATE, "Sql": SQL, "sql": SQL,
}
# Field types understood inside pydantic models / dataclasses (a smaller set than for main).
_MODEL_FIELD_NAMES: dict[str, Typ] = {
    "int": INT, "float": FLOAT, "bool": BOOL, "bytes": BYTES, "datetime": DATETIME, "date": DATE,
}
_I64_MIN, _I64_MAX, _U64_MAX = -(2**63), 2**63 - 1, 2**64 - 1
_FUNCTION_CALL = "<function call>"
_NO_VALUE = object()  # a default expression Windmill cannot turn into JSON


def parse_python(code: str, main_name: str = "main") -> MainArgSignature:
    """Parse ``code`` and describe the arguments of its entry function ``main_name``.

    Raises ScriptSyntaxError (with ``.line``) when the code is not valid Python.
    """
    module = _parse_module(code)
    classes = _Classes.collect(module)
    lines = code.split("\n")
    has_preprocessor = any(
        _defined_at_line_start(node, "preprocessor", lines) for node in module.body
    )
    main = next((n for n in module.body if _defined_at_line_start(n, main_name, lines)), None)
    if main is None:
        return make_signature([], auto_kind="lib", has_preprocessor=has_preprocessor)
    assert isinstance(main, ast.FunctionDef | ast.AsyncFunctionDef)
    # Windmill reads main only as far as the first later line that starts at column 0. When
    # that cut does not parse on its own (a ")" closing the signature at column 0, closing
    # quotes flush left, a continuation line…) it falls back to the bare signature: no
    # docstring descriptions and no string enums.
    readable = _main_block_parses(main, lines)
    descriptions = _docstring_arg_descriptions(main) if readable else {}
    enums = classes.enums if readable else {}
    return make_signature(
        _main_args(main.args, classes, enums, descriptions, "Args:" in code),
        star_args=main.args.vararg is not None,
        star_kwargs=main.args.kwarg is not None,
        has_preprocessor=has_preprocessor,
    )


def _parse_module(code: str) -> ast.Module:
    try:
        return ast.parse(code)
    except SyntaxError as exc:
        line = exc.lineno
        where = f" at line {line}" if line else ""
        raise ScriptSyntaxError(f"syntax error{where}: {exc.msg}", line=line) from None
    except ValueError as exc:  # e.g. a NUL byte in the source (Python 3.11)
        raise ScriptSyntaxError(f"syntax error: {exc}") from None
    except (RecursionError, MemoryError):
        raise ScriptSyntaxError("syntax error: the script is nested too deeply to parse") from None


def _main_block_parses(main: ast.FunctionDef | ast.AsyncFunctionDef, lines: list[str]) -> bool:
    start = main.lineno - 1
    end = next((i for i in range(start + 1, len(lines))
                if lines[i] and not lines[i][0].isspace()), len(lines))
    try:
        ast.parse("\n".join(lines[start:end]))
    except (SyntaxError, ValueError, RecursionError):
        return False
    return True


def _defined_at_line_start(node: ast.stmt, name: str, lines: list[str]) -> bool:
    # Windmill: the entry point is found by a line that starts exactly with "def main(" or
    # "async def main(" — "def main (" or "async  def main(" are not seen.
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or node.name != name:
        return False
    text = lines[node.lineno - 1]
    return text.startswith(f"def {name}(") or text.startswith(f"async def {name}(")


# --- classes declared in the file -------------------------------------------------------------


@dataclass
class _Enum:
    values: list[str] = field(default_factory=list)  # string members, in order
    members: dict[str, str] = field(default_factory=dict)  # member name → string value


@dataclass
class _Classes:
    """String enums and pydantic/dataclass models declared at the top level of the file."""

    enums: dict[str, _Enum]
    models: dict[str, list[tuple[str, ast.expr]]]  # class name → annotated fields in order

    @classmethod
    def collect(cls, module: ast.Module) -> _Classes:
        enums: dict[str, _Enum] = {}
        models: dict[str, list[tuple[str, ast.expr]]] = {}
        for node in module.body:
            if not isinstance(node, ast.ClassDef):
                continue
            if any(isinstance(b, ast.Name) and b.id in _ENUM_BASES for b in node.bases):
                enum = _enum_members(node)
                if enum.values:  # Windmill: an enum without string members stays a resource
                    enums[node.name] = enum  # Windmill: a later class of the same name wins
            if _is_model(node) and node.name not in models:  # Windmill: the first model wins
                models[node.name] = [
                    (s.target.id, s.annotation) for s in node.body
                    if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)
                ]
        return cls(enums, models)


def _enum_members(node: ast.ClassDef) -> _Enum:
    enum = _Enum()
    for stmt in node.body:
        # Only `NAME = "text"`; annotated members, tuples and auto() are not read.
        if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)
                and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)):
            enum.values.append(stmt.value.value)
            enum.members[stmt.targets[0].id] = stmt.value.value
    return enum


def _is_model(node: ast.ClassDef) -> bool:
    for base in node.bases:
        if isinstance(base, ast.Name) and base.id == "BaseModel":
            return True
        if (isinstance(base, ast.Attribute) and base.attr == "BaseModel"
                and isinstance(base.value, ast.Name) and base.value.id == "pydantic"):
            return True
    for deco in node.decorator_list:
        target = deco.func if isinstance(deco, ast.Call) else deco
        if isinstance(target, ast.Name) and target.id == "dataclass":
            return True
        if (isinstance(target, ast.Attribute) and target.attr == "dataclass"
                and isinstance(target.value, ast.Name) and target.value.id == "dataclasses"):
            return True
    return False


# --- arguments ---------------------------------------------------------------------------------


def _main_args(args: ast.arguments, classes: _Classes, enums: dict[str, _Enum],
               descriptions: dict[str, str], mentions_args_section: bool) -> list[Arg]:
    # Defaults align with the tail of positional-only + positional-or-keyword parameters.
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    defaults += args.defaults
    # Windmill: positional-only parameters (before "/") and keyword-only ones (after "*") are
    # not part of the signature at all.
    params = list(zip(positional, defaults, strict=True))[len(args.posonlyargs):]
    annotated = [(param, default, *_param_typ(param, classes)) for param, default in params]
    # Windmill (wasm-py 1.782.0, observed) reads the file's enums only when some parameter's
    # type is a resource name or the text contains "Args:" anywhere, even in a comment;
    # otherwise a `Color.RED` default stays the member name "RED", not its value.
    looked_up = mentions_args_section or any(
        isinstance(typ, dict) and "resource" in typ for _, _, typ, _ in annotated)
    enums = enums if looked_up else {}
    return [_one_arg(param, default, typ, optional, enums, descriptions.get(param.arg))
            for param, default, typ, optional in annotated]


def _param_typ(param: ast.arg, classes: _Classes) -> tuple[Typ, bool]:
    if param.annotation is None:
        return UNKNOWN, False
    return _annotation_typ(param.annotation, classes)


def _one_arg(param: ast.arg, default_expr: ast.expr | None, typ: Typ, optional: bool,
             enums: dict[str, _Enum], description: str | None) -> Arg:
    # Windmill resolves string enums only at the top of the annotation: list[Color] stays
    # a list of resources "Color" while Optional[Color] and Color | None become enums.
    if isinstance(typ, dict) and "resource" in typ and typ["resource"] in enums:
        typ = str_typ(list(enums[typ["resource"]].values))

    default: Any = None
    has_value = False
    if default_expr is not None:
        value = _default_json(default_expr, enums, top=True)
        if value is not _NO_VALUE:
            default, has_value = value, True
    # A call's "<function call>" placeholder never decides the type.
    infer_from_default = has_value and not isinstance(default_expr, ast.Call)
    if typ == UNKNOWN and infer_from_default:
        typ = _json_typ(default)
    if typ == list_typ(UNKNOWN) and infer_from_default:
        typ = _json_typ(default)  # Windmill: even from None (`x: list = None` is unknown)
    if typ == list_typ(UNKNOWN):
        typ = list_typ(str_typ())  # a bare `list` (or `= []`) is a list of strings
    return make_arg(param.arg, typ, default=default, has_default=has_value or optional,
                    otyp=description)


def _annotation_typ(expr: ast.expr, classes: _Classes) -> tuple[Typ, bool]:
    """(typ, optional) of a parameter annotation; optional = Optional[T] or T | None."""
    if isinstance(expr, ast.Name):
        return _name_typ(expr.id, classes), False
    if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
        module = expr.value.id
        if module == "wmill":
            return _name_typ(expr.attr, classes), False
        if module == "datetime":
            # Windmill: datetime.datetime/date are known; datetime.time etc. become resources
            # named after the dotted path.
            known = {"datetime": DATETIME, "date": DATE}.get(expr.attr)
            return (known or resource_typ(f"datetime.{expr.attr}")), False
        return UNKNOWN, False
    if isinstance(expr, ast.Subscript) and isinstance(expr.value, ast.Name):
        head = expr.value.id
        if head == "Optional":
            return _annotation_typ(expr.slice, classes)[0], True
        if head in ("List", "list"):
            return list_typ(_annotation_typ(expr.slice, classes)[0]), False
        if head == "Literal":
            return _literal_typ(expr.slice), False
        return UNKNOWN, False
    if (isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.BitOr)
            and isinstance(expr.right, ast.Constant) and expr.right.value is None):
        # Windmill: only `T | None` (None on the right) is optional; `None | T` is unknown.
        return _annotation_typ(expr.left, classes)[0], True
    return UNKNOWN, False


def _literal_typ(slice_: ast.expr) -> Typ:
    # Windmill: only a Literal with several entries becomes an enum (of its string entries);
    # Literal["a"] alone is a plain string.
    if not isinstance(slice_, ast.Tuple):
        return str_typ()
    values = [e.value for e in slice_.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return str_typ(values or None)


def _name_typ(name: str, classes: _Classes) -> Typ:
    if name in _SIMPLE_NAMES:
        return _SIMPLE_NAMES[name]
    if name == "str":
        return str_typ()
    if name == "dict":
        return object_typ(None, [])
    if name == "list":
        return list_typ(UNKNOWN)
    if name == "S3Object":
        return resource_typ("s3_object")
    if name.startswith("DynSelect_"):
        return {"dynselect": name.removeprefix("DynSelect_")}
    if name.startswith("DynMultiselect_"):
        return {"dynmultiselect": name.removeprefix("DynMultiselect_")}
    if name in classes.models:
        return _model_typ(name, classes, ())
    return resource_typ(name)  # TypedDicts, type aliases, Any, UUID…: a resource type name


def _model_typ(name: str, classes: _Classes, ancestors: tuple[str, ...]) -> Typ:
    if name in ancestors:  # a model that contains itself: Windmill stops with props null
        return object_typ(name, None)
    inner = (*ancestors, name)
    props = [ObjectProp(key=key, typ=_model_field_typ(annotation, classes, inner))
             for key, annotation in classes.models[name]]
    return object_typ(name, props)


def _model_field_typ(expr: ast.expr, classes: _Classes, ancestors: tuple[str, ...]) -> Typ:
    # Windmill reads model fields with a smaller vocabulary than main's parameters: no
    # `str | None`, `dict`, `list`, Sql, S3Object or enums; but Dict[...] and Annotated[T, ...].
    if isinstance(expr, ast.Name):
        if expr.id == "str":
            return str_typ()
        if expr.id in classes.models:
            return _model_typ(expr.id, classes, ancestors)
        return _MODEL_FIELD_NAMES.get(expr.id, UNKNOWN)
    if isinstance(expr, ast.Subscript) and isinstance(expr.value, ast.Name):
        head = expr.value.id
        if head in ("List", "list"):
            return list_typ(_model_field_typ(expr.slice, classes, ancestors))
        if head == "Optional":
            return _model_field_typ(expr.slice, classes, ancestors)
        if head in ("Dict", "dict"):
            return object_typ(None, [])
        if head == "Annotated" and isinstance(expr.slice, ast.Tuple) and expr.slice.elts:
            return _model_field_typ(expr.slice.elts[0], classes, ancestors)
    return UNKNOWN


# --- defaults ----------------------------------------------------------------------------------


def _default_json(expr: ast.expr, enums: dict[str, _Enum], *, top: bool) -> Any:
    """The JSON value of a default; _NO_VALUE at the top / None nested when not understood."""
    missing = _NO_VALUE if top else None
    if isinstance(expr, ast.Constant):
        return _constant_json(expr.value)
    if isinstance(expr, ast.List):
        return [_default_json(e, enums, top=False) for e in expr.elts]
    if isinstance(expr, ast.Dict):
        out: dict[str, Any] = {}
        for key, value in zip(expr.keys, expr.values, strict=True):
            # Windmill: non-string keys (and **spreads) are all stored under "no_key".
            name = key.value if isinstance(key, ast.Constant) and isinstance(key.value, str) \
                else "no_key"
            out[name] = _default_json(value, enums, top=False)
        return out
    if isinstance(expr, ast.Call):
        return _FUNCTION_CALL
    if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
        # `Color.RED` → the member's string value, or just "RED" for anything else.
        enum = enums.get(expr.value.id)
        return enum.members.get(expr.attr, expr.attr) if enum else expr.attr
    # Windmill drops names, negative numbers (a unary minus), tuples, sets, f-strings,
    # arithmetic…: the parameter then has no default at all.
    return missing


def _constant_json(value: Any) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        # Windmill keeps integers up to u64 exactly and turns larger ones into floats.
        return value if value <= _U64_MAX else _float_json(value)
    if isinstance(value, float):
        return _float_json(value)
    if isinstance(value, complex):  # Windmill: a complex literal is [real, imag]
        return [_float_json(value.real), _float_json(value.imag)]
    if isinstance(value, bytes):  # Windmill: a bytes literal is its list of byte values
        return list(value)
    if value is Ellipsis:
        return "..."
    return None


def _float_json(value: float | int) -> float | None:
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None  # JSON has no inf/nan: null


def _json_typ(value: Any) -> Typ:
    """The type Windmill infers from a JSON default value."""
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return INT if _I64_MIN <= value <= _I64_MAX else FLOAT  # u64-only ints count as floats
    if isinstance(value, float):
        return FLOAT
    if isinstance(value, str):
        return str_typ()
    if isinstance(value, list):
        # Windmill looks at the first element only.
        return list_typ(_json_typ(value[0]) if value else UNKNOWN)
    if isinstance(value, dict):
        return object_typ(None, [ObjectProp(key=k, typ=_json_typ(v)) for k, v in value.items()])
    return UNKNOWN


# --- docstring ---------------------------------------------------------------------------------


def _docstring_arg_descriptions(main: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, str]:
    """Descriptions from a Google-style ``Args:`` section (``name (type): text``)."""
    doc = ast.get_docstring(main, clean=False)
    if not doc:
        return {}
    out: dict[str, str] = {}
    in_args = False
    entry_indent: int | None = None
    for line in doc.split("\n"):
        text = line.strip()
        if text == "Args:":
            in_args, entry_indent = True, None  # a second Args: section continues the first
            continue
        if not in_args or not text:
            continue
        indent = len(line) - len(line.lstrip())
        if entry_indent is None:
            entry_indent = indent
        elif indent < entry_indent and text.endswith(":"):
            break  # the next section (Returns:, Raises:…): Windmill reads no further
        if ":" in text:
            head, description = text.split(":", 1)
            out[head.split("(", 1)[0].strip()] = description.strip()
    return out
