"""Any local source tree: Python through `ast`, other languages through tree-sitter.

Functions without a docstring or doc comment are passed over (counted); hidden and vendored
folders (`.git`, `node_modules`, virtual environments, `__pycache__`, `vendor`) are not entered.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from pipeline.records import Sample, Source
from pipeline.sources import IngestProblem, Item, Skipped
from pipeline.sources.guard import Deadline, guard_file, problem_for
from pipeline.sources.pyast import decode_python, parse_functions
from pipeline.sources.treesitter import EXTENSIONS, LANGUAGES, treesitter_functions

SKIP_DIRS = frozenset(
    {"node_modules", "__pycache__", "site-packages", "vendor", "bower_components"}
)
MAX_BYTES = 1 << 20  # larger files are generated or bundled code, not worth parsing
NO_DOC = "no doc comment"


def language_of(path: Path) -> str | None:
    """The key of the parser for `path` ("python" or a key of `LANGUAGES`), None if unknown."""
    if path.suffix == ".py":
        return "python"
    if path.name.endswith(".min.js"):
        return None
    return EXTENSIONS.get(path.suffix)


def source_files(folder: Path) -> Iterator[Path]:
    """Files under `folder` in a language we read, in sorted order, hidden and vendored folders
    (and virtual environments, which hold a `pyvenv.cfg`) left out."""
    for here, dirs, files in os.walk(folder):
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".")
            and d not in SKIP_DIRS
            and not os.path.exists(os.path.join(here, d, "pyvenv.cfg"))
        )
        for name in sorted(files):
            path = Path(here, name)
            if not name.startswith(".") and language_of(path) is not None:
                yield path


def iter_tree(paths: Iterable[Path | str]) -> Iterator[Item]:
    """Yield a `Sample` per documented function or method in the files and folders `paths`.

    `repo` is the folder's name (for a file named directly: its folder's), `path` relative to it,
    `func_name` qualified (`Class.method`). Functions without documentation are yielded as
    `Skipped`; paths that do not exist, folders without source files, files that are binary, not
    UTF-8, too large or do not parse, as `IngestProblem` (a file that parses in part, through
    tree-sitter, still gives the functions outside its broken part). A file too deeply nested,
    too complex or too slow to parse costs only itself (or, for Python, only its top-level
    statements that cannot be parsed); nothing raises out of this generator for one bad file.
    """
    for given in paths:
        root = Path(given)
        if not root.exists():
            yield IngestProblem(str(root), 0, "not found", "no such file or folder")
        elif root.is_dir():
            repo = root.resolve().name
            n = 0
            for file in source_files(root):
                n += 1
                rel = file.relative_to(root).as_posix()
                yield from guard_file(str(file), _iter_file(file, repo, rel))
            if n == 0:
                yield IngestProblem(
                    str(root), 0, "no source files", "no source files (Python, JavaScript, "
                    "TypeScript, Java, Go, Ruby, PHP) in this folder",
                )  # fmt: skip
        elif language_of(root) is None:
            yield IngestProblem(
                str(root), 0, "unsupported file", f"unsupported file type {root.suffix!r}"
            )
        else:
            yield from guard_file(
                str(root), _iter_file(root, root.resolve().parent.name, root.name)
            )


def _iter_file(file: Path, repo: str, rel: str) -> Iterator[Item]:
    """The items of one source file (its language known from its name)."""
    key = language_of(file)
    assert key is not None
    name = str(file)
    try:
        data = file.read_bytes()
    except OSError as e:
        yield IngestProblem(name, 0, "unreadable", f"cannot read: {e.strerror or e}")
        return
    if not data.strip():
        return  # empty files (an empty __init__.py) hold nothing and are not a problem
    if len(data) > MAX_BYTES:
        yield IngestProblem(name, 0, "too large", f"too large ({len(data):,} bytes), skipped")
        return
    nul = data.find(b"\x00", 0, 8192)
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        yield IngestProblem(name, line, "binary file", "binary file (a NUL byte), skipped")
        return
    deadline = Deadline()
    if key == "python":
        yield from _python_file(name, data, repo, rel, deadline)
        return
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        yield _not_utf8(name, data, e)
        return
    result = treesitter_functions(key, data.replace(b"\r\n", b"\n"), deadline)
    language = LANGUAGES[key].name
    for f in result.functions:
        yield _sample(language, repo, rel, f.qualname, f.line, f.docstring, f.code, f.code)
    if result.undocumented:
        yield Skipped(NO_DOC, result.undocumented)
    if result.error_line:
        yield IngestProblem(
            name,
            result.error_line,
            "syntax error",
            f"syntax error; documented functions outside it kept: {len(result.functions)}",
        )


def _python_file(name: str, data: bytes, repo: str, rel: str, deadline: Deadline) -> Iterator[Item]:
    try:
        text = decode_python(data)
        parsed = parse_functions(text, name, deadline)
    except UnicodeDecodeError as e:
        yield _not_utf8(name, data, e)
        return
    except SyntaxError as e:
        yield IngestProblem(name, e.lineno or 0, "syntax error", f"syntax error: {e.msg}")
        return
    except ValueError as e:
        yield IngestProblem(name, 0, "binary file", f"binary file: {e}")
        return
    for f in parsed.functions:
        yield _sample(
            "python", repo, rel, f.qualname, f.line, f.docstring, f.code, f.code_nodoc, f.imports
        )
    if parsed.undocumented:
        yield Skipped(NO_DOC, parsed.undocumented)
    for line, error in parsed.failures:
        yield problem_for(name, line, error, "statement")


def _not_utf8(name: str, data: bytes, e: UnicodeDecodeError) -> IngestProblem:
    line = data.count(b"\n", 0, e.start) + 1
    column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
    byte = data[e.start : e.start + 1].hex()
    return IngestProblem(
        name, line, "not UTF-8", f"not UTF-8 (byte 0x{byte} at column {column}), file skipped"
    )


def _sample(
    language: str,
    repo: str,
    path: str,
    func_name: str,
    line: int,
    docstring: str,
    code: str,
    code_nodoc: str,
    imports: str = "",
) -> Sample:
    return Sample(
        source=Source.TREE.value,
        language=language,
        repo=repo,
        path=path,
        func_name=func_name,
        line=line,
        docstring=docstring,
        code=code,
        code_nodoc=code_nodoc,
        imports=imports,
    )
