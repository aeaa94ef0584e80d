"""Names a piece of Python code uses without importing or defining them.

Samples are functions cut out of their files, so a function that uses a module imported at the top
of its file does not import what it uses. `free_names` finds such names (via `symtable`, which
knows Python's scoping rules); `infer_imports` writes the imports the offline Generator can infer
with certainty: standard-library modules used as `module.attribute`.
"""

from __future__ import annotations

import ast
import builtins
import importlib.util
import symtable
import sys
from dataclasses import dataclass

BUILTIN_NAMES = frozenset(dir(builtins)) | {"__file__", "__class__"}


@dataclass(frozen=True, slots=True)
class FreeName:
    """A name used but never bound: where first used, and whether as `name.attribute`."""

    name: str
    line: int
    as_module: bool


def free_names(source: str) -> list[FreeName] | None:
    """Names `source` uses that it neither binds (assigns, imports, defines) nor gets from builtins.

    Sorted by first use. None when the source does not parse.
    """
    try:
        tree = ast.parse(source)
        top = symtable.symtable(source, "<code>", "exec")
    except (SyntaxError, ValueError):
        return None
    bound_at_top = {s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported()}
    unresolved: set[str] = set()
    tables = [top]
    while tables:
        table = tables.pop()
        for symbol in table.get_symbols():
            name = symbol.get_name()
            if (
                symbol.is_referenced()
                and symbol.is_global()
                and name not in bound_at_top
                and name not in BUILTIN_NAMES
            ):
                unresolved.add(name)
        tables.extend(table.get_children())
    first_line: dict[str, int] = {}
    as_module: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in unresolved:
            first_line[node.id] = min(first_line.get(node.id, node.lineno), node.lineno)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            as_module.add(node.value.id)
    found = [FreeName(n, first_line.get(n, 0), n in as_module) for n in unresolved]
    return sorted(found, key=lambda f: (f.line, f.name))


def _is_stdlib_package(name: str) -> bool:
    spec = importlib.util.find_spec(name)
    return spec is not None and spec.submodule_search_locations is not None


def _module_path(chain: list[str]) -> str:
    """The longest importable standard-library module along `a.b.c` (`xml.dom.minidom`)."""
    path = chain[0]
    if not _is_stdlib_package(path):
        return path
    for part in chain[1:]:
        candidate = f"{path}.{part}"
        try:
            found = importlib.util.find_spec(candidate) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            break
        path = candidate
        if not _is_stdlib_package(path):
            break
    return path


def _attribute_chains(tree: ast.AST, name: str) -> list[list[str]]:
    chains = []
    for node in ast.walk(tree):
        parts: list[str] = []
        current: ast.AST = node
        while isinstance(current, ast.Attribute):
            parts.append(current.attr)
            current = current.value
        if parts and isinstance(current, ast.Name) and current.id == name:
            chains.append([name, *reversed(parts)])
    return chains


def infer_imports(source: str) -> list[str]:
    """`import` lines for the standard-library modules `source` uses as attributes but never
    imports (`math.sqrt` -> `import math`; `xml.dom.minidom.parseString` ->
    `import xml.dom.minidom`). Other free names are left alone: they cannot be inferred."""
    names = free_names(source)
    if not names:
        return []
    tree = ast.parse(source)
    lines: set[str] = set()
    for free in names:
        if not free.as_module or free.name not in sys.stdlib_module_names:
            continue
        chains = _attribute_chains(tree, free.name)
        modules = {_module_path(chain) for chain in chains} or {free.name}
        # `import xml.dom.minidom` covers `xml.dom`; `import os` covers `os.path`
        lines.update(
            f"import {m}" for m in modules if not any(o.startswith(m + ".") for o in modules)
        )
    return sorted(lines)
