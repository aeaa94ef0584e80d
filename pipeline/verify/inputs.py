"""Build call inputs for a function from the sample itself (never from a benchmark's tests).

Sources, in order: doctest examples in the docstring (``>>> f(1, 2)``, with the statements before
them as set-up), other example calls in the docstring whose arguments are literals, then values
drawn for each parameter from its type hint, its default, its name, and the literals in the body.
Drawing is seeded from the code itself, so the same function always gets the same inputs.
"""

from __future__ import annotations

import ast
import doctest
import hashlib
import random
import re
from collections.abc import Callable
from typing import Any

from pipeline.verify.model import CallInput

Draw = Callable[[random.Random], Any]

_INTS = [0, 1, -1, 2, 3, 5, 7, 10, 16, 100]
_FLOATS = [0.0, 1.0, 0.5, -2.25, 3.75, 1e-3, 100.0]
_STRS = ["", "a", "abc", "Hello World", "  two  spaces ", "a,b,c", "line1\nline2", "x_y-z 9"]
_PROFILES = ["int", "float", "str", "list", "bytes"]
_NAME_HINTS: list[tuple[str, str]] = [
    (
        r"^(s|st|text|string|name|line|word|prefix|suffix|sep|char|ch|path|fmt|pattern|key)s?$",
        "str",
    ),
    (r"(text|string|str|name|line|word|path)$", "str"),
    (
        r"^(n|i|j|k|m|count|num|size|length|width|index|idx|start|end|stop|step|base|depth|level)$",
        "int",
    ),
    (r"^(x|y|z|a|b|c|value|val)$", "number"),
    (r"^(lst|items|seq|arr|array|values|nums|numbers|data|xs|elements|iterable|sequence)$", "list"),
    (r"(list|items|values|nums)$", "list"),
    (r"^(flag|strict|reverse|verbose)$", "bool"),
]


def _seed(code: str, func_name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{func_name}\0{code}".encode()).digest()[:8], "big")


def _pick(pool: list[Any]) -> Draw:
    return lambda rng: rng.choice(pool)


def _list_of(item: Draw, kind: type = list) -> Draw:
    def draw(rng: random.Random) -> Any:
        values = [item(rng) for _ in range(rng.choice([0, 1, 2, 3, 4, 5, 6]))]
        return kind(values)

    return draw


def _base(name: str, ints: list[int], strs: list[str], floats: list[float]) -> Draw | None:
    if name == "int":
        return _pick(_INTS + ints)
    if name == "float":
        return _pick(_FLOATS + floats + [float(i) for i in ints[:4]])
    if name == "number":
        return _pick(_INTS + ints + _FLOATS + floats)
    if name == "str":
        return _pick(_STRS + strs)
    if name == "bool":
        return _pick([True, False])
    if name == "bytes":
        return _pick([b"", b"abc", b"\x00\xff", b"hello world"])
    if name == "None":
        return _pick([None])
    if name == "list":
        return _list_of(_pick(_INTS + ints))
    return None


_ALIASES = {
    "List": "list",
    "Sequence": "list",
    "MutableSequence": "list",
    "Iterable": "list",
    "Collection": "list",
    "Tuple": "tuple",
    "Dict": "dict",
    "Mapping": "dict",
    "MutableMapping": "dict",
    "Set": "set",
    "FrozenSet": "frozenset",
    "AbstractSet": "set",
    "Optional": "Optional",
    "Union": "Union",
}


def strategy_for(
    annotation: ast.expr, ints: list[int], strs: list[str], floats: list[float]
) -> Draw | None:
    """A seeded value drawer for a type hint's AST, or None when the type is not one we can build.

    Handles int/float/str/bool/bytes/None, ``list/tuple/set/dict`` (typing aliases too) of those,
    ``Optional[T]``, ``T | None`` and ``Union``.
    """
    node = annotation
    if isinstance(node, ast.Constant) and isinstance(node.value, str):  # "int" as a string
        try:
            node = ast.parse(node.value, mode="eval").body
        except SyntaxError:
            return None
    if isinstance(node, ast.Constant) and node.value is None:
        return _pick([None])
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        parts = [strategy_for(side, ints, strs, floats) for side in (node.left, node.right)]
        good = [p for p in parts if p is not None]
        return (lambda rng: rng.choice(good)(rng)) if good else None
    name = _name(node.value if isinstance(node, ast.Subscript) else node)
    if name is None:
        return None
    name = _ALIASES.get(name, name)
    if not isinstance(node, ast.Subscript):
        if name in ("tuple", "set", "frozenset"):
            kind: type = {"tuple": tuple, "set": set, "frozenset": frozenset}[name]
            return _list_of(_pick(_INTS + ints), kind)
        if name == "dict":
            return lambda rng: {rng.choice(_STRS[1:] + strs): rng.choice(_INTS) for _ in range(3)}
        return _base(name, ints, strs, floats)
    args = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]
    subs = [strategy_for(a, ints, strs, floats) for a in args if not _is_ellipsis(a)]
    if any(s is None for s in subs) or not subs:
        return None
    inner: list[Draw] = [s for s in subs if s is not None]
    if name in ("Optional", "Union"):
        options = [*inner, _pick([None])] if name == "Optional" else inner
        return lambda rng: rng.choice(options)(rng)
    if name in ("list", "set", "frozenset"):
        return _list_of(inner[0], {"list": list, "set": set, "frozenset": frozenset}[name])
    if name == "tuple":
        if any(_is_ellipsis(a) for a in args):
            return _list_of(inner[0], tuple)
        return lambda rng: tuple(d(rng) for d in inner)
    if name == "dict" and len(inner) == 2:
        key, val = inner
        return lambda rng: {key(rng): val(rng) for _ in range(rng.choice([0, 1, 2, 3]))}
    return None


def _is_ellipsis(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is Ellipsis


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):  # typing.List, t.Optional
        return node.attr
    return None


def find_function(
    tree: ast.Module, func_name: str
) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The first ``def func_name`` at any depth (a method inside a class counts)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == func_name:
            return node
    return None


def _literals(func: ast.AST) -> tuple[list[int], list[str], list[float]]:
    ints: list[int] = []
    strs: list[str] = []
    floats: list[float] = []
    for node in ast.walk(func):
        if isinstance(node, ast.Constant) and not isinstance(node.value, bool):
            if isinstance(node.value, int) and abs(node.value) < 10**6:
                ints.append(node.value)
            elif isinstance(node.value, float):
                floats.append(node.value)
            elif isinstance(node.value, str) and len(node.value) <= 40:
                strs.append(node.value)
    return (
        list(dict.fromkeys(ints))[:12],
        list(dict.fromkeys(strs))[:12],
        list(dict.fromkeys(floats))[:12],
    )


def _shown(func_name: str, args_src: list[str], kw_src: list[tuple[str, str]]) -> str:
    parts = [*args_src, *(f"{k}={v}" for k, v in kw_src)]
    return f"{func_name}({', '.join(parts)})"


def _call_text(args_src: list[str], kw_src: list[tuple[str, str]]) -> str:
    args = "".join(f"{a}, " for a in args_src)
    kwargs = ", ".join(f"{k!r}: {v}" for k, v in kw_src)
    return f"(({args}), {{{kwargs}}})"


def _as_call(
    node: ast.expr, func_name: str, source: str
) -> tuple[list[str], list[tuple[str, str]]] | None:
    if not (isinstance(node, ast.Call) and _name(node.func) == func_name):
        return None
    if any(isinstance(a, ast.Starred) for a in node.args) or any(
        k.arg is None for k in node.keywords
    ):
        return None
    args = [ast.get_source_segment(source, a) or ast.unparse(a) for a in node.args]
    kws = [
        (k.arg or "", ast.get_source_segment(source, k.value) or ast.unparse(k.value))
        for k in node.keywords
    ]
    return args, kws


def doctest_inputs(docstring: str, func_name: str) -> list[CallInput]:
    """Calls of ``func_name`` in the docstring's ``>>>`` examples (set-up lines kept) and literal
    example calls elsewhere in it."""
    found: list[CallInput] = []
    setup: list[str] = []
    try:
        examples = doctest.DocTestParser().get_examples(docstring)
    except ValueError:
        examples = []
    for ex in examples:
        src = ex.source
        try:
            tree = ast.parse(src)
        except SyntaxError:
            continue
        if len(tree.body) == 1 and isinstance(tree.body[0], ast.Expr):
            value = tree.body[0].value
            if (
                isinstance(value, ast.Call)
                and _name(value.func) == "print"
                and len(value.args) == 1
            ):
                value = value.args[0]  # >>> print(f(x))
            parts = _as_call(value, func_name, src)
            if parts is not None:
                found.append(
                    CallInput(
                        _call_text(*parts), _shown(func_name, *parts), "doctest", "\n".join(setup)
                    )
                )
                continue
        if all(isinstance(s, ast.Assign | ast.Import | ast.ImportFrom) for s in tree.body):
            setup.append(src.rstrip())
    doctest_lines = {ex.source.strip() for ex in examples}
    for line in docstring.splitlines():
        stripped = line.strip()
        if stripped.startswith(">>>") or stripped in doctest_lines:
            continue
        for match in re.finditer(rf"\b{re.escape(func_name)}\(", line):
            for end in range(len(line), match.start(), -1):
                if line[end - 1] != ")":
                    continue
                try:
                    node = ast.parse(line[match.start() : end], mode="eval").body
                except SyntaxError:
                    continue
                parts = _as_call(node, func_name, line[match.start() : end])
                if parts is not None and _all_literal(node):
                    found.append(
                        CallInput(_call_text(*parts), _shown(func_name, *parts), "docstring")
                    )
                break
    return found


def _all_literal(call: ast.expr) -> bool:
    assert isinstance(call, ast.Call)
    try:
        for a in [*call.args, *(k.value for k in call.keywords)]:
            ast.literal_eval(a)
    except ValueError:
        return False
    return True


def is_method(func: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """True when the first positional parameter is ``self`` or ``cls`` (needs its class)."""
    params = [*func.args.posonlyargs, *func.args.args]
    return bool(params) and params[0].arg in ("self", "cls")


def build_inputs(code: str, func_name: str, max_inputs: int = 10) -> list[CallInput]:
    """Up to ``max_inputs`` distinct calls for ``func_name`` defined in ``code``; [] when the code
    does not parse, does not define it, or it is a method. Deterministic for a given code."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    func = find_function(tree, func_name)
    if func is None or is_method(func):
        return []
    out: list[CallInput] = []
    seen: set[str] = set()

    def add(item: CallInput) -> None:
        key = item.setup + "\0" + item.call
        if key not in seen and len(out) < max_inputs:
            seen.add(key)
            out.append(item)

    for item in doctest_inputs(ast.get_docstring(func) or "", func_name):
        add(item)
    draws = _parameter_draws(func)
    if draws is None:
        return out
    rng = random.Random(_seed(code, func_name))
    required = [(name, d) for name, d, has_default in draws if not has_default]
    for attempt in range(max_inputs * 4):
        if len(out) >= max_inputs:
            break
        # every third draw keeps the defaults; the rest fill every parameter
        chosen = required if attempt % 3 == 2 else [(n, d) for n, d, _ in draws]
        rng.profile = _PROFILES[attempt % len(_PROFILES)]  # type: ignore[attr-defined]
        try:
            args = [repr(d(rng)) for _, d in chosen]
        except (TypeError, ValueError):  # an unhashable key drawn for a dict or set
            continue
        if not all(_round_trips(a) for a in args):
            continue
        add(CallInput(_call_text(args, []), _shown(func_name, args, []), "signature"))
    return out


def _round_trips(text: str) -> bool:
    try:
        ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return False
    return True


def _parameter_draws(
    func: ast.FunctionDef | ast.AsyncFunctionDef,
) -> list[tuple[str, Draw, bool]] | None:
    """(name, drawer, has_default) for each positional parameter; None when one cannot be built."""
    ints, strs, floats = _literals(func)
    positional = [*func.args.posonlyargs, *func.args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(func.args.defaults))
    defaults += list(func.args.defaults)
    result: list[tuple[str, Draw, bool]] = []
    for param, default in zip(positional, defaults, strict=True):
        draw = _param_draw(param, default, ints, strs, floats)
        if draw is None:
            if default is None:
                return None
            continue  # keep its default: stop adding positional arguments here
        result.append((param.arg, draw, default is not None))
    for _param, kw_default in zip(func.args.kwonlyargs, func.args.kw_defaults, strict=True):
        if kw_default is None:
            return None  # a required keyword-only argument: we only pass positionals
    return result


def _param_draw(
    param: ast.arg, default: ast.expr | None, ints: list[int], strs: list[str], floats: list[float]
) -> Draw | None:
    if param.annotation is not None:
        annotated = strategy_for(param.annotation, ints, strs, floats)
        if annotated is not None:
            return annotated
    hinted = _hinted(param.arg, ints, strs, floats)
    if default is not None:
        return _default_draw(default, hinted, ints, strs, floats)
    return _free_draw(hinted, ints, strs, floats)


def _default_draw(
    default: ast.expr, hinted: Draw | None, ints: list[int], strs: list[str], floats: list[float]
) -> Draw | None:
    try:
        value = ast.literal_eval(default)
    except ValueError:
        return None
    if value is None:
        if hinted is None:
            return _pick([None])
        some = hinted
        return lambda rng: rng.choice([None, None, some(rng)])
    kind = {bool: "bool", int: "int", float: "float", str: "str", bytes: "bytes"}.get(type(value))
    base = _base(kind, ints, strs, floats) if kind else None
    if base is None:
        return _pick([value])
    same_type = base
    return lambda rng: value if rng.random() < 0.3 else same_type(rng)


def _free_draw(hinted: Draw | None, ints: list[int], strs: list[str], floats: list[float]) -> Draw:
    profiles: dict[str, Draw] = {}
    for kind in _PROFILES:
        base = _base(kind, ints, strs, floats)
        assert base is not None
        profiles[kind] = base

    def draw(rng: random.Random) -> Any:
        # a name is only a hint: one draw in three ignores it; otherwise every unhinted parameter
        # of one call takes the same type (the call's profile), so f(r, g, b) gets three numbers
        if hinted is not None and rng.random() < 0.67:
            return hinted(rng)
        return profiles[getattr(rng, "profile", "int")](rng)

    return draw


def _hinted(name: str, ints: list[int], strs: list[str], floats: list[float]) -> Draw | None:
    for pattern, kind in _NAME_HINTS:
        if re.search(pattern, name.lower()):
            return _base(kind, ints, strs, floats)
    return None
