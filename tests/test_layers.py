"""No import runs back up the layers: every import under pipeline/ and app/, counted wherever it
stands (module top, inside functions, under TYPE_CHECKING), must name a module of the same or a
lower layer. The layers are listed in the README's architecture section."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# bottom to top; a module belongs to the layer of the longest prefix that names it
LAYERS: list[set[str]] = [
    {
        "pipeline.records",
        "pipeline.config",
        "pipeline.progress",
        "pipeline.version",
        "pipeline.textsafe",
    },
    {"pipeline.store"},
    {
        "pipeline.sources",
        "pipeline.embedding",
        "pipeline.onnx_backend",
        "pipeline.verify",
        "pipeline.prompts",
    },
    {"pipeline.llm"},
    {"pipeline.review", "pipeline.agreement", "pipeline.mapsel", "pipeline.audit"},
    {"pipeline.stages"},
    {"pipeline.cli", "pipeline.__main__"},
    {"app"},
]
# packages that may import only the bottom layer, whatever their place above
BOTTOM_ONLY = {"pipeline.verify"}
TOP = len(LAYERS)  # `pipeline` itself (its __init__ imports only the version)


def layer(module: str) -> int | None:
    """The layer index of `module`, or None for a module outside pipeline/app (stdlib, deps)."""
    if module == "pipeline":
        return 0  # pipeline/__init__.py imports only pipeline.version
    best: tuple[int, int] | None = None
    for i, names in enumerate(LAYERS):
        for name in names:
            inside = module == name or module.startswith(name + ".")
            if inside and (best is None or len(name) > best[1]):
                best = (i, len(name))
    if best is None and (module.startswith("pipeline.") or module.split(".")[0] == "app"):
        raise AssertionError(f"{module}: in no layer; add it to LAYERS and the README")
    return None if best is None else best[0]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in `path`; `from a import b` counts `a.b` when it is a
    module (a submodule import), else `a`."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = (
        module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    )
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*parent, base] if base else parent)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                as_path = ROOT.joinpath(*candidate.split("."))
                is_module = (
                    as_path.with_suffix(".py").exists() or (as_path / "__init__.py").exists()
                )
                out.append((node.lineno, candidate if is_module else base))
    return out


def sources() -> list[Path]:
    return sorted([*(ROOT / "pipeline").rglob("*.py"), *(ROOT / "app").rglob("*.py")])


def violations() -> list[str]:
    found: list[str] = []
    for path in sources():
        name = module_name(path)
        own = TOP if name == "pipeline" else layer(name)
        assert own is not None
        bottom_only = any(name == p or name.startswith(p + ".") for p in BOTTOM_ONLY)
        for line, target in imports(path):
            if target == name or target.startswith(name + "."):
                continue  # a package importing its own submodules
            other = layer(target)
            if other is None:
                continue
            same_package = bottom_only and any(
                target == p or target.startswith(p + ".") for p in BOTTOM_ONLY
            )
            if other > own or (bottom_only and other > 0 and not same_package):
                found.append(f"{path.relative_to(ROOT)}:{line}: {name} imports {target}")
    return found


def test_no_import_runs_up_the_layers() -> None:
    assert violations() == []


def test_the_checker_sees_imports_inside_functions_and_type_checking(tmp_path: Path) -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from pipeline.cli import main\n"
        "def f():\n    import app.data\n    from pipeline import stages\n"
    )
    path = ROOT / "pipeline" / "store" / "_layers_probe.py"
    path.write_text(source, encoding="utf-8")
    try:
        found = [v for v in violations() if "_layers_probe" in v]
    finally:
        path.unlink()
    assert found == [
        "pipeline/store/_layers_probe.py:3: pipeline.store._layers_probe imports pipeline.cli",
        "pipeline/store/_layers_probe.py:5: pipeline.store._layers_probe imports app.data",
        "pipeline/store/_layers_probe.py:6: pipeline.store._layers_probe imports pipeline.stages",
    ]


def test_the_connection_never_leaves_the_store() -> None:
    """`ws.db` (the SQLite connection) is used only inside pipeline/store/."""
    leaks = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in sources()
        if not path.is_relative_to(ROOT / "pipeline" / "store")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute) and node.attr == "db"
    ]
    assert leaks == []
