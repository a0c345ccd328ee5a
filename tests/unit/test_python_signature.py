"""parse_python: every rule of WINDMILL_SCHEMA.md §4 (Python) and WINDMILL.md §4.1.

Expected values are what windmill-parser-wasm-py 1.782.0 returns for the same code (the
integration test checks the fixtures against it directly).
"""

from __future__ import annotations

from typing import Any

import pytest

from desktop_app.core.errors import ScriptSyntaxError
from desktop_app.parsing.python_signature import parse_python

STR: dict[str, Any] = {"str": None}


def args_of(code: str) -> dict[str, tuple[Any, Any, bool]]:
    """name → (typ, default, has_default)."""
    return {a["name"]: (a["typ"], a["default"], a["has_default"])
            for a in parse_python(code)["args"]}


def typ_of(annotation: str, prelude: str = "") -> Any:
    return parse_python(f"{prelude}def main(x: {annotation}):\n    pass\n")["args"][0]["typ"]


def test_full_output_shape() -> None:
    assert parse_python("def main(a: int, b: str = 'x'):\n    pass\n") == {
        "star_args": False, "star_kwargs": False,
        "args": [
            {"name": "a", "otyp": None, "typ": "int", "default": None, "has_default": False,
             "oidx": None},
            {"name": "b", "otyp": None, "typ": STR, "default": "x", "has_default": True,
             "oidx": None},
        ],
        "auto_kind": None, "has_preprocessor": False,
    }


@pytest.mark.parametrize(("annotation", "typ"), [
    ("str", STR), ("int", "int"), ("float", "float"), ("bool", "bool"), ("bytes", "bytes"),
    ("dict", {"object": {"name": None, "props": []}}),
    ("list", {"list": STR}),
    ("datetime", "datetime"), ("date", "date"),
    ("datetime.datetime", "datetime"), ("datetime.date", "date"),
    ("datetime.time", {"resource": "datetime.time"}),  # Windmill: a resource named by the path
    ("Sql", "sql"), ("sql", "sql"),
    ("S3Object", {"resource": "s3_object"}), ("wmill.S3Object", {"resource": "s3_object"}),
    ("wmill.Postgresql", {"resource": "Postgresql"}), ("wmill.datetime", "datetime"),
    ("DynSelect_foo", {"dynselect": "foo"}), ("DynMultiselect_bar", {"dynmultiselect": "bar"}),
    ("wmill.DynSelect_foo", {"dynselect": "foo"}),
    ("postgresql", {"resource": "postgresql"}), ("UUID", {"resource": "UUID"}),
    ("Any", {"resource": "Any"}), ("object", {"resource": "object"}),
    ("tuple", {"resource": "tuple"}), ("Dict", {"resource": "Dict"}),
    ("List", {"resource": "List"}), ("Optional", {"resource": "Optional"}),
    ("List[int]", {"list": "int"}), ("list[str]", {"list": STR}),
    ("list[list[float]]", {"list": {"list": "float"}}),
    ("list[bytes]", {"list": "bytes"}), ("list[datetime]", {"list": "datetime"}),
    ("list[dict]", {"list": {"object": {"name": None, "props": []}}}),
    ("list[postgresql]", {"list": {"resource": "postgresql"}}),
    ("List[Optional[int]]", {"list": "int"}), ("list[int | None]", {"list": "int"}),
    ("list[list]", {"list": {"list": "unknown"}}),
    ("list[None]", {"list": STR}), ("list[int, str]", {"list": STR}),
    ("Literal['a', 'b']", {"str": ["a", "b"]}),
    ("Literal['a', 1]", {"str": ["a"]}),
    ("Literal[1, 2]", STR),  # no string entries: a plain string
    ("Literal['a']", STR),  # Windmill: a one-entry Literal is a plain string
    ("list[Literal['a', 'b']]", {"list": {"str": ["a", "b"]}}),
    # Not understood → unknown
    ("typing.List[int]", "unknown"), ("typing.Any", "unknown"), ("typing.Optional[int]", "unknown"),
    ("Annotated[int, 'meta']", "unknown"), ("int | str", "unknown"), ("None | int", "unknown"),
    ("Union[int, None]", "unknown"), ("dict[str, int]", "unknown"), ("Dict[str, int]", "unknown"),
    ("tuple[int]", "unknown"), ("'str'", "unknown"), ("pd.DataFrame", "unknown"),
    ("wmill.foo.Bar", "unknown"), ("None", "unknown"),
])
def test_annotation_types(annotation: str, typ: Any) -> None:
    assert typ_of(annotation) == typ


@pytest.mark.parametrize(("annotation", "typ"), [
    ("Optional[int]", "int"), ("int | None", "int"), ("Optional[str] | None", STR),
    ("Optional[list]", {"list": STR}), ("Optional[Optional[int]]", "int"),
    ("Optional[Foo.Bar]", "unknown"), ("Optional[None]", "unknown"),
])
def test_optional_makes_the_argument_not_required(annotation: str, typ: Any) -> None:
    assert args_of(f"def main(x: {annotation}):\n    pass\n")["x"] == (typ, None, True)


def test_positional_only_keyword_only_and_star_args() -> None:
    sig = parse_python("def main(a, /, b=2, *args, c: int = 3, d, **kwargs):\n    pass\n")
    # Windmill: parameters before "/" and after "*" are not part of the signature.
    assert [a["name"] for a in sig["args"]] == ["b"]
    assert sig["star_args"] and sig["star_kwargs"]


@pytest.mark.parametrize(("default", "typ", "value"), [
    ("1", "int", 1), ("1.5", "float", 1.5), ("1e3", "float", 1000.0), ("0x10", "int", 16),
    ("1_000", "int", 1000), ("'x'", STR, "x"), ("'x' 'y'", STR, "xy"), ("True", "bool", True),
    ("None", "unknown", None), ("[1, 2]", {"list": "int"}, [1, 2]),
    ("[1, 'a']", {"list": "int"}, [1, "a"]),  # the first element decides
    ("[]", {"list": STR}, []), ("[None]", {"list": STR}, [None]),
    ("[[1]]", {"list": {"list": "int"}}, [[1]]),
    ("{}", {"object": {"name": None, "props": []}}, {}),
    ("{'a': 1}", {"object": {"name": None, "props": [{"key": "a", "typ": "int"}]}}, {"a": 1}),
    ("{'a': []}", {"object": {"name": None, "props": [{"key": "a", "typ": {"list": "unknown"}}]}},
     {"a": []}),
    ("{1: 2}", {"object": {"name": None, "props": [{"key": "no_key", "typ": "int"}]}},
     {"no_key": 2}),
    ("b'x'", {"list": "int"}, [120]),  # Windmill: bytes become their list of byte values
    ("1j", {"list": "float"}, [0.0, 1.0]),  # Windmill: complex becomes [real, imag]
    ("...", STR, "..."),
    ("f()", "unknown", "<function call>"), ("a.b()", "unknown", "<function call>"),
    ("[f()]", {"list": STR}, ["<function call>"]),
    ("a.b", STR, "b"),  # an unknown Enum.MEMBER: the member name
    ("[a, -1]", {"list": STR}, [None, None]),  # nested expressions it cannot read: null
    ("9223372036854775807", "int", 9223372036854775807),
    ("9223372036854775808", "float", 9223372036854775808),  # beyond i64: a float type
    ("1e400", "unknown", None),  # infinity has no JSON form
])
def test_defaults_and_types_inferred_from_them(default: str, typ: Any, value: Any) -> None:
    assert args_of(f"def main(x={default}):\n    pass\n")["x"] == (typ, value, True)


@pytest.mark.parametrize("default", ["-1", "-1.5", "+1", "X", "a.b.c", "(1, 2)", "{1, 2}",
                                     "10**9", "f'x{a}'", "lambda: 1", "Color"])
def test_defaults_windmill_cannot_read_are_dropped(default: str) -> None:
    # The argument then has no default at all and becomes required.
    assert args_of(f"def main(x={default}):\n    pass\n")["x"] == ("unknown", None, False)


def test_annotation_wins_over_default_type() -> None:
    found = args_of("def main(a: int = -1, b: str = 5, c: list[str] = [1], d: float = 1,\n"
                    "         e: list = [1, 2], f: list = {}, g: typing.Any = 3,\n"
                    "         h: list = f(), i: int | None = None):\n    pass\n")
    assert found == {
        "a": ("int", None, False),  # a negative default is dropped: required
        "b": (STR, 5, True), "c": ({"list": STR}, [1], True), "d": ("float", 1, True),
        "e": ({"list": "int"}, [1, 2], True),  # a bare list takes its items from the default
        "f": ({"object": {"name": None, "props": []}}, {}, True),
        "g": ("int", 3, True),  # an unknown annotation takes the default's type
        "h": ({"list": STR}, "<function call>", True),  # a call never decides the type
        "i": ("int", None, True),
    }


ENUMS = """\
from enum import Enum
class Color(str, Enum):
    RED = 'red'
    GREEN = 'green'
class Num(Enum):
    ONE = 1
class Mixed(Enum):
    A = 'a'
    B = 2
class Flags(IntFlag):
    X = 'x'
class Dotted(enum.Enum):
    A = 'a'
"""


def test_string_enums_declared_in_the_file() -> None:
    found = args_of(ENUMS + "def main(a: Color, f: Flags, g: Dotted, b: Color = Color.RED,\n"
                    "         c=Color.GREEN, d: Num = Num.ONE, e: Mixed = Mixed.A,\n"
                    "         h: Optional[Color] = None, i: Color | None = None,\n"
                    "         j: list[Color] = [], k=Mixed.B):\n    pass\n")
    colors = {"str": ["red", "green"]}
    assert found == {
        "a": (colors, None, False), "b": (colors, "red", True),
        "c": (STR, "green", True),  # no annotation: a string, with the member's value
        "d": ({"resource": "Num"}, "ONE", True),  # no string members: not an enum
        "e": ({"str": ["a"]}, "a", True),  # only the string members count
        "f": ({"str": ["x"]}, None, False),
        "g": ({"resource": "Dotted"}, None, False),  # Windmill: `enum.Enum` base not seen
        "h": (colors, None, True), "i": (colors, None, True),
        "j": ({"list": {"resource": "Color"}}, [], True),  # Windmill: not resolved in lists
        "k": (STR, "B", True),
    }


def test_enum_declared_after_main_and_duplicates() -> None:
    code = ("def main(a: Late, b: Twice = Twice.X):\n    pass\n"
            "class Late(str, Enum):\n    A = 'a'\n"
            "class Twice(str, Enum):\n    X = 'x'\n"
            "class Twice(str, Enum):\n    X = 'y'\n    X = 'z'\n")
    assert args_of(code) == {"a": ({"str": ["a"]}, None, False),
                             "b": ({"str": ["y", "z"]}, "z", True)}  # the later class wins


MODELS = """\
from pydantic import BaseModel
from dataclasses import dataclass
class User(BaseModel):
    id: int
    name: str = 'x'
    tags: list[str] = []
    email: Optional[str] = None
    kind: Literal['a', 'b']
    meta: dict
    extra: Dict[str, int]
    size: Annotated[int, Field(gt=0)]
    maybe: int | None
    when: datetime
    not_a_field = 3
@dataclass(frozen=True)
class Point:
    x: float
    y: float
class Node(pydantic.BaseModel):
    child: Optional[Node]
class Sub(User):
    z: int
class Row(TypedDict):
    x: int
"""


def test_pydantic_models_and_dataclasses() -> None:
    user = {"object": {"name": "User", "props": [
        {"key": "id", "typ": "int"}, {"key": "name", "typ": STR},
        {"key": "tags", "typ": {"list": STR}}, {"key": "email", "typ": STR},
        {"key": "kind", "typ": "unknown"},  # model fields: a smaller vocabulary
        {"key": "meta", "typ": "unknown"},
        {"key": "extra", "typ": {"object": {"name": None, "props": []}}},
        {"key": "size", "typ": "int"}, {"key": "maybe", "typ": "unknown"},
        {"key": "when", "typ": "datetime"},
    ]}}
    found = args_of(MODELS + "def main(u: User, p: Point, n: Node, s: Sub, r: Row,\n"
                    "         l: list[User], o: Optional[User] = None):\n    pass\n")
    assert found["u"] == (user, None, False)
    assert found["p"][0] == {"object": {"name": "Point", "props": [
        {"key": "x", "typ": "float"}, {"key": "y", "typ": "float"}]}}
    # A model that contains itself stops with props null.
    assert found["n"][0] == {"object": {"name": "Node", "props": [
        {"key": "child", "typ": {"object": {"name": "Node", "props": None}}}]}}
    assert found["s"][0] == {"resource": "Sub"}  # inheriting from a model is not enough
    assert found["r"][0] == {"resource": "Row"}  # TypedDict: a resource type
    assert found["l"][0] == {"list": user}
    assert found["o"] == (user, None, True)


def test_docstring_args_become_otyp() -> None:
    code = '''def main(a: int, b: str, c, d, e):
    """Do a thing.

    Args:
        a (int): the first: really
        b: the second one
            continues here
        c (Optional[int], optional) : spaced
        zz (str): not an argument

    Returns:
        d: not in Args
    """
'''
    otyps = {a["name"]: a["otyp"] for a in parse_python(code)["args"]}
    assert otyps == {"a": "the first: really", "b": "the second one", "c": "spaced",
                     "d": None, "e": None}


@pytest.mark.parametrize(("doc", "otyp"), [
    ('"""Args:\n        x: first line\n    """', "first line"),
    ('"Args:\\n    x: one-line string"', "one-line string"),
    ('"""\n    Args:\n        x:\n    """', ""),
    ('"""\n    Arguments:\n        x: other header\n    """', None),
    # Windmill reads nothing when a later line starts at column 0 (closing quotes included).
    ('"""\n    Args:\n        x: closing at column 0\n"""', None),
    ('"""\n    Args:\n        x: y\nflush left\n    """', None),
    # A less indented line ending with ":" closes the section; others are still entries.
    ('"""\n    Args:\n        a: 1\n    Other:\n        x: no\n    """', None),
    ('"""\n    Args:\n        a: 1\n    Other: text\n        x: yes\n    """', "yes"),
])
def test_docstring_layouts(doc: str, otyp: str | None) -> None:
    code = f"def main(x):\n    {doc}\n"
    assert parse_python(code)["args"][0]["otyp"] == otyp


def test_entry_point_must_start_the_line() -> None:
    assert parse_python("def main (a: int):\n    pass\n")["auto_kind"] == "lib"
    assert parse_python("async  def main(a: int):\n    pass\n")["auto_kind"] == "lib"
    assert parse_python("class X:\n    def main(self, a): pass\n")["auto_kind"] == "lib"
    assert parse_python("if True:\n    def main(a): pass\n")["auto_kind"] == "lib"
    assert parse_python("async def main(a: int):\n    pass\n")["args"][0]["typ"] == "int"
    decorated = parse_python("@decorator\ndef main(a: int):\n    pass\n")
    assert decorated["args"][0]["name"] == "a"
    first = parse_python("def main(a: int): pass\ndef main(b: str): pass\n")
    assert [a["name"] for a in first["args"]] == ["a"]  # the first main wins


def test_no_main_is_a_library() -> None:
    assert parse_python("def helper(x: int):\n    return x\n") == {
        "star_args": False, "star_kwargs": False, "args": [], "auto_kind": "lib",
        "has_preprocessor": False,
    }
    assert parse_python("def main():\n    pass\n")["auto_kind"] is None


def test_main_override() -> None:
    sig = parse_python("def run(a: int):\n    pass\ndef main(b: str):\n    pass\n", "run")
    assert [a["name"] for a in sig["args"]] == ["a"]


@pytest.mark.parametrize(("code", "expected"), [
    ("def preprocessor(event):\n    return {}\ndef main(a): pass\n", True),
    ("async def preprocessor(event):\n    return {}\n", True),
    ("class Foo:\n    def preprocessor(self): pass\ndef main(a): pass\n", False),
    ("def main(a): pass\n", False),
])
def test_preprocessor_detection(code: str, expected: bool) -> None:
    assert parse_python(code)["has_preprocessor"] is expected


@pytest.mark.parametrize(("code", "line"), [
    ("def main(a: int\n", 1),
    ("import os\n\ndef main(a: int):\n    x = (\n", 4),  # in the body: we still report it
    ("def main(a: int):\n    return 1\nx = = 2\n", 3),
    (" def main(a: int):\n    pass\n", 1),
])
def test_syntax_errors_name_the_line(code: str, line: int) -> None:
    with pytest.raises(ScriptSyntaxError) as caught:
        parse_python(code)
    assert caught.value.line == line
    assert caught.value.message.startswith(f"syntax error at line {line}: ")


COLOR = "class Color(str, Enum):\n    RED = 'red'\n"


@pytest.mark.parametrize(("signature", "default"), [
    ("def main(shade=Color.RED):\n    pass\n", "RED"),  # nothing makes Windmill read enums
    ("def main(c: list[Color] = [], shade=Color.RED):\n    pass\n", "RED"),
    ("def main(db: postgresql, shade=Color.RED):\n    pass\n", "red"),  # a resource type
    ("def main(c: Optional[Color] = None, shade=Color.RED):\n    pass\n", "red"),
    ("def main(shade=Color.RED):\n    # Args: anywhere in the text\n    pass\n", "red"),
])
def test_enum_defaults_resolve_only_once_windmill_reads_the_enums(signature: str,
                                                                   default: str) -> None:
    assert parse_python(COLOR + signature)["args"][-1]["default"] == default


@pytest.mark.parametrize("code", [
    "def main(\n    c: Color,\n    shade=Color.RED,\n):\n    '''\n    Args:\n        c: x\n    '''\n",
    "def main(c: Color, shade=Color.RED):\n    '''\n    Args:\n        c: x\n    '''\n"
    "    return [\n1]\n",
    "def main(c: Color, shade=Color.RED):\n# flush-left comment\n    '''\n    Args:\n"
    "        c: x\n    '''\n",
])
def test_main_cut_at_column_zero_that_does_not_parse_reads_only_the_signature(code: str) -> None:
    # Windmill then gives no docstring descriptions and no enums.
    args = parse_python(COLOR + code)["args"]
    assert [(a["typ"], a["default"], a["otyp"]) for a in args] == [
        ({"resource": "Color"}, None, None), (STR, "RED", None)]
