"""Default values of TypeScript parameters, as Windmill reads them (windmill-parser-wasm-ts).

* A lone string, number, boolean or bigint literal is read directly. A number is an ``int``
  when integral (``= 1.0`` → 1, int) — but the integral check is on the 64-bit value, so
  ``= 1e19`` stays a float type with an integer JSON value, as Windmill writes it.
* An object or array literal is first read as JSON (so ``[1.0]`` keeps its float and
  ``{"a": 9007199254740993}`` its exact integer); when the text is not JSON, Windmill evaluates
  it as JavaScript. We evaluate the same literal subset — nested literals, ``undefined``,
  ``NaN``, holes, spreads, computed keys, arithmetic and string concatenation — with
  JavaScript's rules (numbers are doubles; a safe integer becomes an int; NaN and ±Infinity
  become null; integer-like keys come first in an object). What we cannot evaluate (a call,
  a variable…) gives no value: Windmill there either evaluates real JavaScript or fails the
  whole parse.
* Anything else (a variable, ``-1``, a template, ``"a" as const``…) has no value: null.

``infer_typ`` gives the type of a JSON value, used when the parameter has no usable annotation.
"""

from __future__ import annotations

import json
import math
from typing import Any

from desktop_app.parsing.signature import (
    BOOL,
    FLOAT,
    INT,
    UNKNOWN,
    Typ,
    list_typ,
    object_typ,
    str_typ,
)
from desktop_app.parsing.ts_tokenizer import Token

_I64_MIN, _I64_MAX, _U64_MAX = -(2**63), 2**63 - 1, 2**64 - 1
_MAX_SAFE = 2**53 - 1


class _EvalError(Exception):
    """The expression is outside the subset we evaluate."""


class _Unconvertible(Exception):
    """The value exists in JavaScript but has no JSON form (a function, a symbol)."""


class _Undefined:
    def __repr__(self) -> str:
        return "undefined"


UNDEFINED = _Undefined()


class _BigInt(int):
    """A JavaScript bigint (kept apart from numbers, which are doubles)."""


def read_default(tokens: list[Token], code: str) -> tuple[Any, Typ]:
    """The JSON default of the expression ``tokens`` and the type it implies."""
    if not tokens:
        return None, UNKNOWN
    if len(tokens) == 1:
        tok = tokens[0]
        if tok.kind == "string":
            return tok.value, str_typ()
        if tok.kind == "number":
            return _top_level_number(tok.value)
        if tok.kind == "bigint":
            # Windmill serialises swc's bigint as num-bigint does: [sign, base-2^32 digits].
            value = _bigint_serde(tok.value)
            return value, infer_typ(value)
        if tok.kind == "ident" and tok.text in ("true", "false"):
            return tok.text == "true", BOOL
        return None, UNKNOWN
    first = tokens[0]
    if first.text not in ("{", "[") or first.kind != "punct" \
            or _closing_index(tokens, 0) != len(tokens) - 1:
        return None, UNKNOWN
    text = code[first.start:tokens[-1].end]
    try:
        value = _strict_json(text)
    except (ValueError, RecursionError):
        try:
            value = _to_json(_Evaluator(tokens).run())
        except (_EvalError, _Unconvertible, RecursionError, OverflowError):
            return None, UNKNOWN
    return value, infer_typ(value)


def infer_typ(value: Any) -> Typ:
    """The parser type Windmill infers from a JSON default."""
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return INT
    if isinstance(value, float):
        return FLOAT
    if isinstance(value, str):
        return str_typ()
    if isinstance(value, list):
        return list_typ(infer_typ(value[0]) if value else UNKNOWN)
    if isinstance(value, dict):
        return object_typ(None, [{"key": k, "typ": infer_typ(v)} for k, v in value.items()])
    return UNKNOWN


def _top_level_number(value: float) -> tuple[Any, Typ]:
    if not math.isfinite(value):
        return None, UNKNOWN
    if value.is_integer():
        integral = int(value)
        if _I64_MIN <= integral <= _I64_MAX:
            return integral, INT
        if 0 <= integral <= _U64_MAX:
            return integral, FLOAT  # Windmill: a u64 value, typed as a float
    return value, FLOAT


def _bigint_serde(value: int) -> list[Any]:
    sign = 0 if value == 0 else (1 if value > 0 else -1)
    magnitude, digits = abs(value), []
    while magnitude:
        digits.append(magnitude & 0xFFFFFFFF)
        magnitude >>= 32
    return [sign, digits]


def _closing_index(tokens: list[Token], index: int) -> int:
    depth = 0
    for i in range(index, len(tokens)):
        tok = tokens[i]
        if tok.kind == "punct" and tok.text in ("(", "[", "{"):
            depth += 1
        elif tok.kind == "punct" and tok.text in (")", "]", "}"):
            depth -= 1
            if depth == 0:
                return i
    return -1


# --- JSON as serde_json reads it -------------------------------------------------------------


def _strict_json(text: str) -> Any:
    return json.loads(text, parse_int=_json_int, parse_float=_json_float,
                      parse_constant=_reject_constant)


def _json_int(text: str) -> Any:
    if text == "-0":
        return -0.0  # serde_json reads -0 as a float
    negative = text.startswith("-")
    digits = text.lstrip("-")
    significand = 0
    for index, digit in enumerate(digits):
        following = significand * 10 + int(digit)
        if following > _U64_MAX:
            # serde_json: the digits that fit a u64, scaled by a power of ten (not rounded
            # exactly: 123456789012345678901 reads as 1.2345678901234567e20).
            value = float(significand) * float(f"1e{len(digits) - index}")
            if math.isinf(value):
                raise ValueError("number out of range")
            return -value if negative else value
        significand = following
    if not negative:
        return significand
    return -significand if significand <= 2**63 else -float(significand)


def _json_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


def _reject_constant(text: str) -> Any:
    raise ValueError(f"not JSON: {text}")


# --- JavaScript evaluation of literal expressions ---------------------------------------------


class _Evaluator:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    def run(self) -> Any:
        value = self.expression()
        if self.pos != len(self.tokens):
            raise _EvalError
        return value

    def at(self, text: str) -> bool:
        if self.pos >= len(self.tokens):
            return False
        tok = self.tokens[self.pos]
        return tok.text == text and tok.kind in ("punct", "ident")

    def take(self) -> Token:
        if self.pos >= len(self.tokens):
            raise _EvalError
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def expect(self, text: str) -> None:
        if not self.at(text):
            raise _EvalError
        self.pos += 1

    def expression(self) -> Any:
        value = self.term()
        while self.at("+") or self.at("-"):
            op = self.take().text
            value = _add(value, self.term()) if op == "+" else _arith("-", value, self.term())
        return value

    def term(self) -> Any:
        value = self.power()
        while self.at("*") or self.at("/") or self.at("%"):
            op = self.take().text
            value = _arith(op, value, self.power())
        return value

    def power(self) -> Any:
        base = self.unary()
        if self.at("**"):
            self.pos += 1
            return _arith("**", base, self.power())
        return base

    def unary(self) -> Any:
        if self.at("-") or self.at("+") or self.at("!") or self.at("void"):
            op = self.take().text
            value = self.unary()
            if op == "!":
                return not _truthy(value)
            if op == "void":
                return UNDEFINED
            if isinstance(value, _BigInt):
                if op == "+":
                    raise _EvalError  # TypeError in JavaScript
                return _BigInt(-value)
            number = _to_number(value)
            return -number if op == "-" else number
        return self.primary()

    def primary(self) -> Any:
        tok = self.take()
        if tok.kind in ("string", "number"):
            return tok.value
        if tok.kind == "bigint":
            return _BigInt(tok.value)
        if tok.kind == "template":
            if tok.value is None:
                raise _EvalError  # substitutions: not evaluated
            return tok.value
        if tok.kind == "regex":
            return {}  # a RegExp has no own enumerable properties
        if tok.kind == "ident":
            constants = {"true": True, "false": False, "null": None, "undefined": UNDEFINED,
                         "NaN": math.nan, "Infinity": math.inf}
            if tok.text in constants:
                return constants[tok.text]
            if tok.text in ("function", "async") or self.at("=>"):
                raise _Unconvertible
            raise _EvalError
        if tok.text == "(":
            if self._arrow_ahead():
                raise _Unconvertible
            value = self.expression()
            self.expect(")")
            return value
        if tok.text == "[":
            return self.array()
        if tok.text == "{":
            return self.object()
        raise _EvalError

    def _arrow_ahead(self) -> bool:
        depth, index = 1, self.pos
        while index < len(self.tokens) and depth:
            text = self.tokens[index].text
            depth += text in ("(", "[", "{")
            depth -= text in (")", "]", "}")
            index += 1
        return index < len(self.tokens) and self.tokens[index].text == "=>"

    def array(self) -> list[Any]:
        items: list[Any] = []
        while not self.at("]"):
            if self.at(","):
                self.pos += 1
                items.append(UNDEFINED)  # a hole
                continue
            if self.at("..."):
                self.pos += 1
                spread = self.expression()
                if isinstance(spread, str):
                    items.extend(spread)
                elif isinstance(spread, list):
                    items.extend(spread)
                else:
                    raise _EvalError
            else:
                items.append(self.expression())
            if not self.at("]"):
                self.expect(",")
        self.pos += 1
        return items

    def object(self) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        while not self.at("}"):
            if self.at("..."):
                self.pos += 1
                spread = self.expression()
                if isinstance(spread, dict):
                    obj.update(spread)
                elif isinstance(spread, list | str):
                    obj.update({str(i): v for i, v in enumerate(spread)})
            else:
                self._property(obj)
            if not self.at("}"):
                self.expect(",")
        self.pos += 1
        return obj

    def _property(self, obj: dict[str, Any]) -> None:
        tok = self.take()
        computed = False
        if tok.kind == "ident" and tok.text in ("get", "set", "async") \
                and not (self.at(":") or self.at(",") or self.at("}") or self.at("(")):
            raise _Unconvertible if tok.text == "async" else _EvalError
        if tok.kind in ("ident", "string"):
            key = tok.text if tok.kind == "ident" else tok.value
        elif tok.kind == "number":
            key = _js_number_str(tok.value)
        elif tok.kind == "bigint":
            key = str(tok.value)
        elif tok.text == "[":
            key = _js_str(self.expression())
            self.expect("]")
            computed = True
        else:
            raise _EvalError
        if self.at("("):
            raise _Unconvertible  # a method: a function value
        if not self.at(":"):
            raise _EvalError  # shorthand {a}: a ReferenceError in JavaScript
        self.pos += 1
        value = self.expression()
        if key == "__proto__" and not computed:
            return  # sets the prototype: not an own property
        obj[key] = value


def _truthy(value: Any) -> bool:
    if value is UNDEFINED or value is None:
        return False
    if isinstance(value, float):
        return not (value == 0 or math.isnan(value))
    if isinstance(value, bool | int | str):
        return bool(value)
    return True


def _to_number(value: Any) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, float):
        return value
    if value is None:
        return 0.0
    if value is UNDEFINED:
        return math.nan
    raise _EvalError


def _add(left: Any, right: Any) -> Any:
    if isinstance(left, str) or isinstance(right, str):
        return _js_str(left) + _js_str(right)
    return _arith("+", left, right)


def _arith(op: str, left: Any, right: Any) -> Any:
    if isinstance(left, _BigInt) and isinstance(right, _BigInt):
        if op in ("/", "%") and right == 0:
            raise _EvalError
        results = {"+": lambda: left + right, "-": lambda: left - right,
                   "*": lambda: left * right, "/": lambda: int(left / right),
                   "%": lambda: int(math.fmod(left, right)), "**": lambda: left ** right}
        return _BigInt(results[op]())
    if isinstance(left, _BigInt) or isinstance(right, _BigInt):
        raise _EvalError  # mixing bigint and number: a TypeError
    a, b = _to_number(left), _to_number(right)
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        if b == 0:
            return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a) * \
                math.copysign(1, b)
        return a / b
    if op == "%":
        return math.nan if b == 0 or math.isinf(a) else math.fmod(a, b)
    try:
        return math.pow(a, b)
    except OverflowError:
        return math.inf
    except ValueError:
        return math.nan


def _js_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is UNDEFINED:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, _BigInt):
        return str(int(value))
    if isinstance(value, float):
        return _js_number_str(value)
    if isinstance(value, list):
        return ",".join("" if v is None or v is UNDEFINED else _js_str(v) for v in value)
    if isinstance(value, dict):
        return "[object Object]"
    raise _EvalError


def _js_number_str(value: float) -> str:
    """Number.prototype.toString() for a double."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"
    if value < 0:
        return "-" + _js_number_str(-value)
    digits, exponent = _shortest_digits(value)
    k, n = len(digits), exponent
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * -n + digits
    sign = "+" if n - 1 >= 0 else "-"
    mantissa = digits[0] + ("." + digits[1:] if k > 1 else "")
    return f"{mantissa}e{sign}{abs(n - 1)}"


def _shortest_digits(value: float) -> tuple[str, int]:
    """The shortest round-tripping digits of ``value`` and n such that value = 0.d * 10^n."""
    text = repr(value)
    if "e" in text:
        mantissa, _, exp = text.partition("e")
        digits = mantissa.replace(".", "").lstrip("0").rstrip("0") or "0"
        return digits, int(exp) + 1
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0")
    if whole != "0":
        digits = (whole + frac).rstrip("0")
        return digits, len(whole)
    stripped = frac.lstrip("0")
    return stripped.rstrip("0"), -(len(frac) - len(stripped))


def _to_json(value: Any) -> Any:
    """serde_wasm_bindgen's conversion of a JavaScript value to serde_json::Value."""
    if value is UNDEFINED or value is None:
        return None
    if isinstance(value, bool | str):
        return value
    if isinstance(value, _BigInt):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        if value.is_integer() and abs(value) <= _MAX_SAFE:
            return int(value)
        return value
    if isinstance(value, list):
        return [_to_json(v) for v in value]
    if isinstance(value, dict):
        index_keys = sorted((k for k in value if _is_array_index(k)), key=int)
        others = [k for k in value if not _is_array_index(k)]
        return {k: _to_json(value[k]) for k in index_keys + others}
    raise _Unconvertible


def _is_array_index(key: str) -> bool:
    return key.isdigit() and key.isascii() and (key == "0" or not key.startswith("0")) \
        and int(key) < 2**32 - 1
