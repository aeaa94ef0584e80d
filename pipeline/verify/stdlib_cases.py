"""Real functions from the standard library's own source, and planted bugs in them.

Used by the tests and ``benchmarks/verify_stdlib.py`` (never by the stage): reference code comes
from the module's file via ``ast`` (so C accelerators do not hide the Python source), with the
module's top-level import lines.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
from dataclasses import dataclass

_FLIP: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.GtE,
    ast.GtE: ast.Lt,
    ast.Gt: ast.LtE,
    ast.LtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
}
_SWAP: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.FloorDiv,
    ast.FloorDiv: ast.Mult,
    ast.Div: ast.Mult,
}


@dataclass(frozen=True)
class StdlibFunction:
    module: str
    name: str
    code: str
    imports: str


def stdlib_function(module: str, name: str) -> StdlibFunction:
    """The top-level ``def name`` in ``module``'s source file, and that file's import lines."""
    path = inspect.getsourcefile(importlib.import_module(module))
    if path is None:
        raise ValueError(f"{module} has no Python source")
    with open(path, encoding="utf-8") as fh:
        source = fh.read()
    tree = ast.parse(source)
    imports = "\n".join(
        ast.get_source_segment(source, n) or ""
        for n in tree.body
        if isinstance(n, ast.Import | ast.ImportFrom)
    )
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            # module-level helpers the function uses (``_get_sep``, ``_colwidth``) come in by
            # name, as an ingest that keeps its file's context would bring them
            assigned = {
                n.id
                for n in ast.walk(node)
                if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)
            }
            args = {a.arg for a in ast.walk(node.args) if isinstance(a, ast.arg)}
            mod = importlib.import_module(module)
            free = sorted(
                n.id
                for n in ast.walk(node)
                if isinstance(n, ast.Name)
                and isinstance(n.ctx, ast.Load)
                and n.id not in assigned | args | set(dir(builtins))
                and hasattr(mod, n.id)
                and not inspect.ismodule(getattr(mod, n.id))
            )
            if free:
                imports += f"\nfrom {module} import {', '.join(dict.fromkeys(free))}"
            return StdlibFunction(module, name, ast.get_source_segment(source, node) or "", imports)
    raise ValueError(f"{module} has no top-level function {name}")


def top_level_functions(module: str) -> list[StdlibFunction]:
    """Every public top-level function of ``module`` (source order)."""
    path = inspect.getsourcefile(importlib.import_module(module))
    if path is None:
        return []
    with open(path, encoding="utf-8") as fh:
        tree = ast.parse(fh.read())
    names = [
        n.name for n in tree.body if isinstance(n, ast.FunctionDef) and not n.name.startswith("_")
    ]
    return [stdlib_function(module, n) for n in names]


def plant_bug(code: str, nth: int = 0) -> str | None:
    """``code`` with its ``nth`` comparison flipped or arithmetic operator swapped (source order),
    or None when it has fewer than ``nth + 1`` such places."""
    tree = ast.parse(code)
    seen = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and type(node.ops[0]) in _FLIP:
            if seen == nth:
                node.ops[0] = _FLIP[type(node.ops[0])]()
                return ast.unparse(tree)
            seen += 1
        elif isinstance(node, ast.BinOp | ast.AugAssign) and type(node.op) in _SWAP:
            if seen == nth:
                node.op = _SWAP[type(node.op)]()
                return ast.unparse(tree)
            seen += 1
    return None
