"""Realistic bug injection into working Python code, for the code repair task.

One mutation per function, chosen deterministically from a seed among the sites the code offers:
a flipped comparison, an off-by-one bound, swapped call arguments, a dropped return, a swapped
boolean or arithmetic operator. The edit is made in the source text at the node's position (not
by unparsing), so the buggy code keeps the original formatting and comments and differs from it
in exactly one place, and the explanation can name the line and both versions.
"""

from __future__ import annotations

import ast
import random
import re
from collections.abc import Callable
from dataclasses import dataclass

_FLIP: dict[type[ast.cmpop], tuple[str, str, str]] = {
    # op type: (regex finding it in the source, its text, the flipped text)
    ast.Lt: (r"(?<![<>=!])<(?![<=])", "<", ">"),
    ast.Gt: (r"(?<![<>=!-])>(?![>=])", ">", "<"),
    ast.LtE: (r"<=", "<=", ">="),
    ast.GtE: (r">=", ">=", "<="),
    ast.Eq: (r"==", "==", "!="),
    ast.NotEq: (r"!=", "!=", "=="),
    ast.NotIn: (r"\bnot\s+in\b", "not in", "in"),
    ast.In: (r"\bin\b", "in", "not in"),
    ast.IsNot: (r"\bis\s+not\b", "is not", "is"),
    ast.Is: (r"\bis\b", "is", "is not"),
}
_COMMUTATIVE_CALLS = {"max", "min", "print", "zip", "set", "frozenset"}
_SIMPLE = (ast.Name, ast.Attribute, ast.Call, ast.Subscript, ast.Constant)


@dataclass(frozen=True, slots=True)
class Mutation:
    """An injected bug: the buggy code and what a correct fix explains."""

    kind: str
    line: int  # 1-based, in the code
    buggy: str  # the changed expression as it reads in the buggy code
    fixed: str  # the same expression as it reads in the original
    buggy_code: str
    explanation: str


@dataclass(frozen=True, slots=True)
class _Site:
    kind: str
    line: int
    node_span: tuple[int, int]  # the expression shown in the explanation
    edit_span: tuple[int, int]  # the text replaced
    replacement: str
    why: str


class _Source:
    """Character offsets for ast positions (which count UTF-8 bytes within a line)."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.lines = code.splitlines(keepends=True)
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))

    def offset(self, lineno: int, col: int) -> int:
        line = self.lines[lineno - 1]
        return self.starts[lineno - 1] + len(line.encode("utf-8")[:col].decode("utf-8", "ignore"))

    def span(self, node: ast.AST) -> tuple[int, int]:
        start = self.offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        end = self.offset(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]
        return start, end

    def text(self, node: ast.AST) -> str:
        start, end = self.span(node)
        return self.code[start:end]


def _between(src: _Source, left: ast.AST, right: ast.AST, pattern: str) -> tuple[int, int] | None:
    start, end = src.span(left)[1], src.span(right)[0]
    match = re.search(pattern, src.code[start:end])
    return None if match is None else (start + match.start(), start + match.end())


def _comparison_sites(src: _Source, node: ast.Compare) -> list[_Site]:
    pattern, text, flipped = _FLIP[type(node.ops[0])]
    edit = _between(src, node.left, node.comparators[0], pattern)
    if edit is None:
        return []
    why = f"`{flipped}` inverts the intended test; the comparison must use `{text}`"
    return [_Site("flipped_comparison", node.lineno, src.span(node), edit, flipped, why)]


def _range_sites(src: _Source, node: ast.Call) -> list[_Site]:
    if not (isinstance(node.func, ast.Name) and node.func.id == "range"):
        return []
    if (
        node.keywords
        or not 1 <= len(node.args) <= 3
        or any(isinstance(a, ast.Starred) for a in node.args)
    ):
        return []
    stop = node.args[0] if len(node.args) == 1 else node.args[1]
    one = isinstance(stop, ast.BinOp) and _is_one(stop.right)
    if one and isinstance(stop, ast.BinOp) and isinstance(stop.op, ast.Add):
        replacement, why = src.text(stop.left), "so the loop stops one step early"
    elif one and isinstance(stop, ast.BinOp) and isinstance(stop.op, ast.Sub):
        replacement, why = src.text(stop.left), "so the loop runs one step too far"
    else:
        inner = src.text(stop) if isinstance(stop, _SIMPLE) else f"({src.text(stop)})"
        replacement, why = f"{inner} - 1", "so the loop stops one step early"
    return [_Site("off_by_one", node.lineno, src.span(node), src.span(stop), replacement, why)]


def _is_one(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value == 1 and not isinstance(node.value, bool)


def _len_minus_one_sites(src: _Source, node: ast.BinOp) -> list[_Site]:
    left = node.left
    if (
        isinstance(node.op, ast.Sub)
        and _is_one(node.right)
        and isinstance(left, ast.Call)
        and isinstance(left.func, ast.Name)
        and left.func.id == "len"
    ):
        why = "so the index reaches one past the last element"
        return [
            _Site("off_by_one", node.lineno, src.span(node), src.span(node), src.text(left), why)
        ]
    return []


def _swap_sites(src: _Source, node: ast.Call) -> list[_Site]:
    if len(node.args) < 2 or any(isinstance(a, ast.Starred) for a in node.args[:2]):
        return []
    func = ast.unparse(node.func)
    first, second = node.args[0], node.args[1]
    a, b = src.text(first), src.text(second)
    if func in _COMMUTATIVE_CALLS or a == b or "\n" in a or "\n" in b or len(func) > 40:
        return []
    start, end = src.span(first)[0], src.span(second)[1]
    middle = src.code[src.span(first)[1] : src.span(second)[0]]
    why = f"the arguments of `{func}` are in the wrong order"
    return [
        _Site("swapped_arguments", node.lineno, src.span(node), (start, end), b + middle + a, why)
    ]


def _return_sites(src: _Source, node: ast.Return) -> list[_Site]:
    value = node.value
    if value is None or (isinstance(value, ast.Constant) and value.value is None):
        return []
    start = src.span(node)[0]
    why = "the value is computed but never returned, so the function returns None"
    return [
        _Site("dropped_return", node.lineno, src.span(node), (start, src.span(value)[0]), "", why)
    ]


def _boolean_sites(src: _Source, node: ast.BoolOp) -> list[_Site]:
    text, other = ("and", "or") if isinstance(node.op, ast.And) else ("or", "and")
    edit = _between(src, node.values[0], node.values[1], rf"\b{text}\b")
    if edit is None:
        return []
    why = f"the conditions must be combined with `{text}`, not `{other}`"
    return [_Site("boolean_operator", node.lineno, src.span(node), edit, other, why)]


def _arithmetic_sites(src: _Source, node: ast.BinOp) -> list[_Site]:
    if not isinstance(node.op, ast.Add | ast.Sub):
        return []
    sequences = (ast.List, ast.Tuple, ast.JoinedStr, ast.ListComp, ast.Dict, ast.Set)
    for side in (node.left, node.right):
        if isinstance(side, sequences) or (
            isinstance(side, ast.Constant) and isinstance(side.value, str | bytes)
        ):
            return []  # concatenation, not arithmetic
    text, other = ("+", "-") if isinstance(node.op, ast.Add) else ("-", "+")
    edit = _between(src, node.left, node.right, re.escape(text))
    if edit is None:
        return []
    why = f"the expression must use `{text}`, not `{other}`"
    return [_Site("arithmetic_operator", node.lineno, src.span(node), edit, other, why)]


def _sites(src: _Source, tree: ast.AST) -> list[_Site]:
    sites: list[_Site] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            sites += _comparison_sites(src, node)
        elif isinstance(node, ast.Call):
            sites += _range_sites(src, node) + _swap_sites(src, node)
        elif isinstance(node, ast.Return):
            sites += _return_sites(src, node)
        elif isinstance(node, ast.BoolOp):
            sites += _boolean_sites(src, node)
        elif isinstance(node, ast.BinOp):
            sites += _len_minus_one_sites(src, node) + _arithmetic_sites(src, node)
    return sites


def _shown(text: str) -> str:
    """An expression as quoted in an explanation: one line, at most 80 characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= 80 else flat[:77] + "..."


def _apply(src: _Source, site: _Site) -> Mutation | None:
    code = src.code
    (e0, e1), (n0, n1) = site.edit_span, site.node_span
    buggy_code = code[:e0] + site.replacement + code[e1:]
    if buggy_code == code:
        return None
    try:
        ast.parse(buggy_code)
    except SyntaxError:
        return None
    fixed = code[n0:n1]
    buggy = code[n0:e0] + site.replacement + code[e1:n1]
    if site.kind == "dropped_return":
        explanation = (
            f"Line {site.line} computed `{_shown(buggy)}` but did not return it, so the function "
            f"returned None; the fix restores `{_shown(fixed)}`."
        )
    else:
        explanation = (
            f"Line {site.line} read `{_shown(buggy)}`, {site.why}; the fix restores "
            f"`{_shown(fixed)}`."
        )
        if site.kind == "off_by_one":
            explanation = (
                f"Line {site.line} used `{_shown(buggy)}`, one off, {site.why}; the fix "
                f"restores `{_shown(fixed)}`."
            )
    return Mutation(site.kind, site.line, buggy, fixed, buggy_code, explanation)


def mutate(
    code: str, seed: str, accept: Callable[[Mutation], bool] | None = None
) -> Mutation | None:
    """Inject one bug into `code` (Python source), chosen by `seed`; None when there is no site
    (or `accept` refuses every one).

    The same code and seed always give the same mutation. The buggy code parses. `accept`
    (the offline generator passes an execution check) may refuse a mutation, for example one
    that changes nothing observable; the next site in the seeded order is tried.
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    src = _Source(code)
    by_kind: dict[str, list[_Site]] = {}
    for site in _sites(src, tree):
        by_kind.setdefault(site.kind, []).append(site)
    rng = random.Random(seed)
    while by_kind:
        kind = rng.choice(sorted(by_kind))
        site = rng.choice(by_kind[kind])
        mutation = _apply(src, site)
        if mutation is not None and (accept is None or accept(mutation)):
            return mutation
        by_kind[kind].remove(site)
        if not by_kind[kind]:
            del by_kind[kind]
    return None
