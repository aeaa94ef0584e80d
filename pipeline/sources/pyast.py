"""Python functions out of source text through `ast`: shared by the stdlib and tree sources.

Code is cut from the text by line and column (computed once per file), never with
`ast.get_source_segment`, which rescans the text for every node and is about ten times slower
over the whole standard library.

`parse_functions` is the guarded entry point the sources use: a file too deeply nested for
CPython's parser (RecursionError, or MemoryError for a parser stack overflow) is parsed again one
top-level statement at a time, so only the statements that cannot be parsed are lost, each named
by its line.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import io
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass, field

from pipeline.sources import reindent
from pipeline.sources.guard import Deadline

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_CONTAINERS = (ast.stmt, ast.excepthandler, ast.match_case)


@dataclass(frozen=True, slots=True)
class PyFunction:
    """A documented Python function or method.

    `qualname` follows `__qualname__` (`Class.method`, `outer.<locals>.inner`); `line` is the
    1-based line where `code` starts (the first decorator, else the `def`); `docstring` is cleaned
    as `inspect.getdoc` would; `code` runs from the first decorator to the end of the body,
    dedented; `code_nodoc` is `code` without the docstring statement (a body that was only the
    docstring becomes `pass`, so that the code still parses).
    """

    qualname: str
    line: int
    docstring: str
    code: str
    code_nodoc: str
    imports: str = ""


def decode_python(data: bytes) -> str:
    """The text of a Python file: its declared encoding (PEP 263; UTF-8 when none), without a
    byte order mark, newlines normalised to `\\n` (as `ast` counts lines).

    Raises UnicodeDecodeError (positions are byte offsets into `data`).
    """
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError:  # an unknown or wrong cookie: read as UTF-8, which says where it fails
        encoding = "utf-8"
    text = data.decode("utf-8-sig" if encoding == "utf-8" else encoding)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def python_functions(
    text: str,
    filename: str = "<unknown>",
    deadline: Deadline | None = None,
    module: str | None = None,
) -> tuple[list[PyFunction], int]:
    """Parse `text` (as `decode_python` returns it) and cut out every function and method.

    Each function's `imports` are the file's absolute import statements, one per line (what the
    verify stage runs before the function), plus, when `module` names an importable module (the
    standard library), `from <module> import <helpers>` for the module-level names the function
    uses (`_get_sep`, `_colwidth`).

    Returns (the documented functions in source order, how many functions have no docstring).
    Raises SyntaxError (or ValueError for null bytes) when `text` is not valid Python,
    RecursionError or MemoryError when it nests too deeply for the parser, `TooSlow` when
    `deadline` passes.
    """
    tree = ast.parse(text, filename)
    lines = text.split("\n")
    found: list[PyFunction] = []
    undocumented = _collect(tree, lines, found, deadline, ModuleContext.of(tree, module))
    found.sort(key=lambda f: f.line)
    return found, undocumented


@dataclass(frozen=True)
class ModuleContext:
    """What a function of a file needs around it to run: the file's import lines and the names
    its module defines at top level (importable from `module` when that is not None)."""

    imports: str = ""
    defined: frozenset[str] = frozenset()
    module: str | None = None

    @classmethod
    def of(cls, tree: ast.Module, module: str | None) -> ModuleContext:
        lines: list[str] = []
        defined: set[str] = set()
        for node in _top_level(tree):
            if isinstance(node, ast.Import):
                lines.append(ast.unparse(node))
            elif isinstance(node, ast.ImportFrom):
                if node.level == 0 and node.module != "__future__":
                    lines.append(ast.unparse(node))
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                defined.add(node.name)
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    defined.update(n.id for n in ast.walk(t) if isinstance(n, ast.Name))
        return cls("\n".join(dict.fromkeys(lines)), frozenset(defined), module)

    def for_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef, qualname: str) -> str:
        """The import lines for the function `node`: the file's, plus `from module import` the
        module-level names a top-level function reads (not its own name)."""
        if self.module is None or "." in qualname or not self.defined:
            return self.imports
        stored = {
            n.id
            for n in ast.walk(node)
            if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)
        }
        args = {a.arg for a in ast.walk(node.args) if isinstance(a, ast.arg)}
        used = [
            n.id
            for n in ast.walk(node)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id in self.defined
        ]
        free = [n for n in dict.fromkeys(used) if n not in stored | args and n != node.name]
        if not free:
            return self.imports
        line = f"from {self.module} import {', '.join(sorted(free))}"
        return f"{self.imports}\n{line}" if self.imports else line


def _top_level(tree: ast.Module) -> Iterator[ast.stmt]:
    """Top-level statements, and those inside top-level `try` and `if` blocks (guarded imports,
    platform-dependent definitions)."""
    stack = list(reversed(tree.body))
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.Try | ast.If):
            inner: list[ast.stmt] = list(node.body)
            if isinstance(node, ast.Try):
                inner += [s for h in node.handlers for s in h.body]
            inner += list(node.orelse)
            stack.extend(reversed(inner))


@dataclass
class PyParse:
    """What `parse_functions` found: the documented functions in source order, how many
    functions have no docstring, and the top-level statements that could not be parsed as
    (1-based first line, the error)."""

    functions: list[PyFunction]
    undocumented: int
    failures: list[tuple[int, BaseException]] = field(default_factory=list)


def parse_functions(
    text: str, filename: str, deadline: Deadline | None = None, module: str | None = None
) -> PyParse:
    """`python_functions`, guarded: when the whole text nests too deeply to parse, each top-level
    statement is parsed on its own and the ones that still fail are listed in `failures`.

    Raises SyntaxError / ValueError as `python_functions` does, the nesting error itself when the
    text cannot even be split into statements, `TooSlow` when `deadline` passes.
    """
    try:
        functions, undocumented = python_functions(text, filename, deadline, module)
        return PyParse(functions, undocumented)
    except (RecursionError, MemoryError) as error:
        whole = error
    try:
        spans = _top_level_spans(text, deadline)
    except (SyntaxError, tokenize.TokenError):
        raise whole from None
    lines = text.split("\n")
    result = PyParse([], 0)
    for first, last in spans:
        if deadline is not None:
            deadline.check()
        try:
            tree = ast.parse("\n".join(lines[first - 1 : last]), filename)
            ast.increment_lineno(tree, first - 1)
            result.undocumented += _collect(tree, lines, result.functions, deadline)
        except (RecursionError, MemoryError, SyntaxError, ValueError) as e:
            result.failures.append((first, e))
    result.functions.sort(key=lambda f: f.line)
    return result


_CONTINUATIONS = frozenset({"else", "elif", "except", "finally"})


def _top_level_spans(text: str, deadline: Deadline | None) -> list[tuple[int, int]]:
    """The (first, last) 1-based lines of each top-level statement of `text` (decorators stay
    with their definition, `else`/`except`... with their statement); through `tokenize`, which
    does not recurse."""
    starts: list[int] = []
    depth = 0
    line_start = True
    after_decorator = False
    for n, tok in enumerate(tokenize.generate_tokens(io.StringIO(text).readline)):
        if deadline is not None and n % 4096 == 0:
            deadline.check()
        kind = tok.type
        if kind == tokenize.INDENT:
            depth += 1
        elif kind == tokenize.DEDENT:
            depth -= 1
        elif kind == tokenize.NEWLINE:
            line_start = True
        elif kind not in (tokenize.NL, tokenize.COMMENT, tokenize.ENDMARKER) and line_start:
            line_start = False
            if depth == 0:
                if not after_decorator and tok.string not in _CONTINUATIONS:
                    starts.append(tok.start[0])
                after_decorator = tok.string == "@"
    total = text.count("\n") + 1
    return [
        (s, (starts[i + 1] - 1 if i + 1 < len(starts) else total)) for i, s in enumerate(starts)
    ]


def _collect(
    tree: ast.Module,
    lines: list[str],
    found: list[PyFunction],
    deadline: Deadline | None,
    context: ModuleContext | None = None,
) -> int:
    """Append the documented functions of `tree` to `found`; return how many had no docstring.
    `context` gives each its import lines (none when the file was parsed statement by
    statement)."""
    undocumented = 0
    for n, (node, qualname) in enumerate(_walk(tree)):
        if deadline is not None and n % 1024 == 0:
            deadline.check()
        function = _cut(lines, node, qualname)
        if function is None:
            undocumented += 1
        elif context is not None:
            found.append(
                dataclasses.replace(function, imports=context.for_function(node, qualname))
            )
        else:
            found.append(function)
    return undocumented


def strip_docstring(code: str) -> str | None:
    """`code` (one function definition) without its docstring, or None when `code` does not
    parse as Python or its first definition has no docstring."""
    text = code.replace("\r\n", "\n").replace("\r", "\n")
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # not Python, or too deep
        return None
    for node in tree.body:
        if isinstance(node, _FUNCTIONS):
            function = _cut(text.split("\n"), node, node.name)
            return None if function is None else function.code_nodoc
    return None


def _walk(tree: ast.Module) -> Iterator[tuple[ast.FunctionDef | ast.AsyncFunctionDef, str]]:
    """Every function definition with its qualified name; iterative (long elif chains nest)."""
    stack: list[tuple[ast.AST, str]] = [(tree, "")]
    while stack:
        node, prefix = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, _FUNCTIONS):
                name = prefix + child.name
                yield child, name
                stack.append((child, name + ".<locals>."))
            elif isinstance(child, ast.ClassDef):
                stack.append((child, prefix + child.name + "."))
            elif isinstance(child, _CONTAINERS):
                stack.append((child, prefix))


def _col(line: str, byte_col: int) -> int:
    """A character column from the UTF-8 byte column `ast` gives."""
    if line.isascii():
        return byte_col
    return len(line.encode("utf-8")[:byte_col].decode("utf-8", "ignore"))


def _span(lines: list[str], l1: int, c1: int, l2: int, c2: int) -> str:
    """Text from (l1, c1) up to (l2, c2): 1-based lines, character columns."""
    if l1 == l2:
        return lines[l1 - 1][c1:c2]
    return "\n".join([lines[l1 - 1][c1:], *lines[l1 : l2 - 1], lines[l2 - 1][:c2]])


def _cut(
    lines: list[str], node: ast.FunctionDef | ast.AsyncFunctionDef, qualname: str
) -> PyFunction | None:
    """The function `node` cut out of `lines`, or None when it has no (non-blank) docstring."""
    first = node.body[0]
    if not (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
        and first.value.value.strip()
    ):
        return None
    docstring = inspect.cleandoc(first.value.value).strip()
    assert node.end_lineno is not None and node.end_col_offset is not None
    assert first.end_lineno is not None and first.end_col_offset is not None

    # a def and its decorators always start their own line, so col_offset is the indentation
    indent = node.col_offset
    start = node.decorator_list[0].lineno if node.decorator_list else node.lineno
    end, end_col = node.end_lineno, _col(lines[node.end_lineno - 1], node.end_col_offset)
    code = _span(lines, start, indent, end, end_col)

    ds, de = first.lineno, first.end_lineno
    ds_col = _col(lines[ds - 1], first.col_offset)
    de_col = _col(lines[de - 1], first.end_col_offset)
    only = len(node.body) == 1
    before, after = lines[ds - 1][:ds_col], lines[de - 1][de_col:].strip()
    if not before.strip() and (not after or after.startswith("#")):
        # the usual case: the docstring has lines of its own; drop them and the blank lines after
        head = _span(lines, start, indent, ds, 0)
        if only:
            nodoc = head + before + "pass"
        else:
            rest = _span(lines, de + 1, 0, end, end_col).split("\n")
            while len(rest) > 1 and not rest[0].strip():
                del rest[0]
            nodoc = head + "\n".join(rest)
    else:
        # `def f(): "doc"; return 1` or `"""doc"""; x = 1`: cut the docstring out of its line
        head = _span(lines, start, indent, ds, ds_col)
        tail = _span(lines, de, de_col, end, end_col)
        if only:
            nodoc = head + "pass" + tail
        else:
            tail = tail.lstrip(" \t")
            nodoc = head + (tail[1:].lstrip(" \t") if tail.startswith(";") else tail)
    return PyFunction(
        qualname=qualname,
        line=start,
        docstring=docstring,
        code=reindent(code, indent),
        code_nodoc=reindent(nodoc, indent),
    )
