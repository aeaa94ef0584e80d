"""The running interpreter's standard library: every function and method with a docstring."""

from __future__ import annotations

import os
import platform
import sysconfig
from collections.abc import Iterator
from pathlib import Path

from pipeline.records import Sample, Source
from pipeline.sources import IngestProblem, Item, Skipped
from pipeline.sources.guard import Deadline, guard_file, problem_for
from pipeline.sources.pyast import decode_python, parse_functions

# folders that hold tests (`__phello__` is the frozen-module test package), third-party
# packages or caches, never library code; `config-3.11-<platform>` holds build files
EXCLUDED_DIRS = frozenset(
    {"test", "tests", "idle_test", "__phello__", "site-packages", "dist-packages", "__pycache__"}
)


def stdlib_root() -> Path:
    """The folder of the running interpreter's pure-Python standard library."""
    return Path(sysconfig.get_paths()["stdlib"])


def stdlib_repo() -> str:
    """The `repo` of stdlib samples: `python-stdlib-<major.minor.micro>`."""
    return f"python-stdlib-{platform.python_version()}"


def stdlib_files(root: Path | None = None) -> list[Path]:
    """The library's `.py` files under `root` (default: `stdlib_root()`), sorted, tests left out."""
    base = stdlib_root() if root is None else root
    found: list[Path] = []
    for folder, dirs, files in os.walk(base):
        dirs[:] = sorted(
            d for d in dirs if d not in EXCLUDED_DIRS and not d.startswith((".", "config-"))
        )
        found += [Path(folder, f) for f in files if f.endswith(".py") and not f.startswith("test_")]
    return sorted(found)


def module_name(rel: str) -> str | None:
    """The importable module of a library file (`json/decoder.py` -> `json.decoder`,
    `json/__init__.py` -> `json`), or None when the path is not a dotted name."""
    parts = rel.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts) if parts and all(p.isidentifier() for p in parts) else None


def iter_stdlib(root: Path | None = None) -> Iterator[Item]:
    """Yield a `Sample` per documented function of the standard library (or of `root`, laid out
    like it), a `Skipped` per file for functions without a docstring, and an `IngestProblem` per
    file that cannot be read or parsed. `path` is relative to the root, `func_name` qualified
    (`TextWrapper.wrap`), `line` where the code starts, `repo` `python-stdlib-3.11.7`."""
    base = stdlib_root() if root is None else root
    repo = stdlib_repo()
    for file in stdlib_files(base):
        yield from guard_file(str(file), _iter_file(file, file.relative_to(base).as_posix(), repo))


def _iter_file(file: Path, rel: str, repo: str) -> Iterator[Item]:
    """The items of one library file (a file too deeply nested costs only its statements)."""
    try:
        text = decode_python(file.read_bytes())
        parsed = parse_functions(text, rel, Deadline(), module_name(rel))
    except OSError as e:
        yield IngestProblem(str(file), 0, "unreadable", f"cannot read: {e.strerror or e}")
        return
    except UnicodeDecodeError as e:
        yield IngestProblem(str(file), 0, "not UTF-8", f"not UTF-8: {e.reason}")
        return
    except SyntaxError as e:
        yield IngestProblem(str(file), e.lineno or 0, "syntax error", f"syntax error: {e.msg}")
        return
    except ValueError as e:  # null bytes
        yield IngestProblem(str(file), 0, "binary file", f"binary file: {e}")
        return
    for f in parsed.functions:
        yield Sample(
            source=Source.STDLIB.value,
            language="python",
            repo=repo,
            path=rel,
            func_name=f.qualname,
            line=f.line,
            docstring=f.docstring,
            code=f.code,
            code_nodoc=f.code_nodoc,
            imports=f.imports,
        )
    if parsed.undocumented:
        yield Skipped("no docstring", parsed.undocumented)
    for line, error in parsed.failures:
        yield problem_for(str(file), line, error, "statement")
