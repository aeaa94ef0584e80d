"""Functions and their doc comments out of JavaScript, TypeScript, Java, Go, Ruby and PHP through
tree-sitter, with the grammars the per-language pip packages ship.

Languages are data (`LANGUAGES`): which node types are functions, which name their enclosing
scope, which wrap a function (so that its doc comment sits before the wrapper), and which comment
style is a doc comment: `block` (the nearest `/** ... */`, as JSDoc, Javadoc and PHPDoc) or `line`
(the run of comments directly above, as Go and Ruby write them).
"""

from __future__ import annotations

import importlib
import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from pipeline.sources import reindent
from pipeline.sources.guard import Deadline


@dataclass(frozen=True)
class LanguageSpec:
    """How to find documented functions in one language's tree-sitter syntax tree."""

    name: str  # the `language` of the samples
    module: str  # the grammar package
    loader: str  # the function of `module` that returns the grammar
    functions: frozenset[str]  # node types that are a function or method (with a body)
    scopes: frozenset[str]  # node types whose name qualifies the functions inside (classes)
    wrappers: frozenset[str] = frozenset()  # climbed when the function is their first child
    prefixes: frozenset[str] = frozenset()  # siblings between doc comment and function (@dec)
    comments: frozenset[str] = frozenset({"comment"})
    style: Literal["block", "line"] = "block"  # the nearest /** */, or the adjacent comments
    # variable declarations whose value is one of these are functions (`const f = () => {}`)
    bound_values: frozenset[str] = frozenset()


_JS_FUNCTIONS = frozenset(
    {"function_declaration", "generator_function_declaration", "method_definition"}
)
_JS_SCOPES = frozenset({"class_declaration", "class", "abstract_class_declaration"})
_JS_WRAPPERS = frozenset({"export_statement", "lexical_declaration", "variable_declaration"})
_JS_VALUES = frozenset({"arrow_function", "function_expression", "function", "generator_function"})


def _typescript(loader: str) -> LanguageSpec:
    """TypeScript or TSX: the JavaScript node types plus interfaces and namespaces."""
    return LanguageSpec(
        name="typescript",
        module="tree_sitter_typescript",
        loader=loader,
        functions=_JS_FUNCTIONS | {"variable_declarator"},
        scopes=_JS_SCOPES | {"interface_declaration", "internal_module", "module"},
        wrappers=_JS_WRAPPERS,
        prefixes=frozenset({"decorator"}),
        bound_values=_JS_VALUES,
    )


# parser key -> spec; TSX is TypeScript with its own grammar
LANGUAGES: dict[str, LanguageSpec] = {
    "javascript": LanguageSpec(
        name="javascript",
        module="tree_sitter_javascript",
        loader="language",
        functions=_JS_FUNCTIONS | {"variable_declarator"},
        scopes=_JS_SCOPES,
        wrappers=_JS_WRAPPERS,
        prefixes=frozenset({"decorator"}),
        bound_values=_JS_VALUES,
    ),
    "typescript": _typescript("language_typescript"),
    "tsx": _typescript("language_tsx"),
    "java": LanguageSpec(
        name="java",
        module="tree_sitter_java",
        loader="language",
        functions=frozenset({"method_declaration", "constructor_declaration"}),
        scopes=frozenset(
            {
                "class_declaration",
                "interface_declaration",
                "enum_declaration",
                "record_declaration",
            }
        ),
        comments=frozenset({"block_comment", "line_comment"}),
    ),
    "go": LanguageSpec(
        name="go",
        module="tree_sitter_go",
        loader="language",
        functions=frozenset({"function_declaration", "method_declaration"}),
        scopes=frozenset(),
        style="line",
    ),
    "ruby": LanguageSpec(
        name="ruby",
        module="tree_sitter_ruby",
        loader="language",
        functions=frozenset({"method", "singleton_method"}),
        scopes=frozenset({"class", "module", "singleton_class"}),
        wrappers=frozenset({"body_statement"}),
        style="line",
    ),
    "php": LanguageSpec(
        name="php",
        module="tree_sitter_php",
        loader="language_php",
        functions=frozenset({"function_definition", "method_declaration"}),
        scopes=frozenset(
            {
                "class_declaration",
                "interface_declaration",
                "trait_declaration",
                "enum_declaration",
            }
        ),
    ),
}

# file extension -> key of LANGUAGES
EXTENSIONS: dict[str, str] = {
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".java": "java",
    ".go": "go",
    ".rb": "ruby",
    ".php": "php",
}


@dataclass(frozen=True, slots=True)
class TSFunction:
    """A documented function: qualified name (`Class.method`), 1-based line where `code` starts,
    the doc comment's text without comment markers, and the code (dedented) without it."""

    qualname: str
    line: int
    docstring: str
    code: str


@dataclass(frozen=True, slots=True)
class TSResult:
    """What one file held: documented functions, the undocumented count, and the 1-based line
    of the first syntax error (0: none; functions inside broken regions are left out)."""

    functions: list[TSFunction]
    undocumented: int
    error_line: int


@cache
def _parser(key: str) -> Any:
    import tree_sitter

    spec = LANGUAGES[key]
    grammar = getattr(importlib.import_module(spec.module), spec.loader)()
    return tree_sitter.Parser(tree_sitter.Language(grammar))


def treesitter_functions(key: str, data: bytes, deadline: Deadline | None = None) -> TSResult:
    """Parse `data` (UTF-8 source) as language `key` of `LANGUAGES` and cut out its functions.

    Raises `TooSlow` when `deadline` passes (the parser itself is cancelled then too).
    """
    spec = LANGUAGES[key]
    root = _parse(key, data, deadline).root_node
    found: list[TSFunction] = []
    undocumented = 0
    for n, (node, qualname) in enumerate(_walk(spec, root, data)):
        if deadline is not None and n % 256 == 0:
            deadline.check()
        if node.has_error:
            continue
        first, doc = _doc_comment(spec, node, data)
        if not doc:
            undocumented += 1
            continue
        line_start = data.rfind(b"\n", 0, first.start_byte) + 1
        head = data[line_start : first.start_byte]
        indent = len(head) - len(head.lstrip(b" \t"))
        end = node.parent.end_byte if node.type == "variable_declarator" else node.end_byte
        code = data[first.start_byte : end].decode("utf-8", "replace")
        found.append(
            TSFunction(
                qualname=qualname,
                line=first.start_point[0] + 1,
                docstring=doc,
                code=reindent(code.replace("\r\n", "\n"), indent),
            )
        )
    found.sort(key=lambda f: f.line)
    error_line = _first_error_line(root) if root.has_error else 0
    return TSResult(found, undocumented, error_line)


def _parse(key: str, data: bytes, deadline: Deadline | None) -> Any:
    """The syntax tree of `data`; read through a callback so that the parser can be cancelled
    (its progress callback is only called then) when `deadline` passes."""
    parser = _parser(key)
    if deadline is None:
        return parser.parse(data)
    view = memoryview(data)

    def read(offset: int, _point: Any) -> bytes:
        return bytes(view[offset : offset + 65536])

    try:
        tree = parser.parse(read, progress_callback=lambda *_: deadline.passed())
    except ValueError:  # "Parsing failed": cancelled by the callback
        deadline.check()
        raise
    if tree is None:
        deadline.check()
    return tree


def _walk(spec: LanguageSpec, root: Any, data: bytes) -> Iterator[tuple[Any, str]]:
    """Every function node with its qualified name, in source order (iterative: minified code
    nests deeply)."""
    stack: list[tuple[Any, str]] = [(root, "")]
    while stack:
        node, prefix = stack.pop()
        pushed: list[tuple[Any, str]] = []
        for child in node.named_children:
            kind = child.type
            if kind in spec.functions and _is_function(spec, child):
                name = prefix + _name(spec, child, data)
                yield child, name
                pushed.append((child, name + "."))
            elif kind in spec.scopes:
                pushed.append((child, prefix + _name(spec, child, data) + "."))
            else:
                pushed.append((child, prefix))
        stack.extend(reversed(pushed))


def _is_function(spec: LanguageSpec, node: Any) -> bool:
    if node.type == "variable_declarator":
        value = node.child_by_field_name("value")
        return value is not None and value.type in spec.bound_values
    return True


def _name(spec: LanguageSpec, node: Any, data: bytes) -> str:
    """The function's or scope's name; a Go method's is `Receiver.Method`."""
    name = node.child_by_field_name("name")
    text = _text(name, data) if name is not None else "<anonymous>"
    if node.type == "method_declaration" and spec.name == "go":
        receiver = node.child_by_field_name("receiver")
        type_name = _first_of_type(receiver, "type_identifier") if receiver is not None else None
        if type_name is not None:
            return f"{_text(type_name, data)}.{text}"
    if node.type == "singleton_method":
        obj = node.child_by_field_name("object")
        if obj is not None and obj.type != "self":
            return f"{_text(obj, data)}.{text}"
    return text


def _first_of_type(node: Any, kind: str) -> Any:
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type == kind:
            return n
        stack.extend(reversed(n.named_children))
    return None


def _text(node: Any, data: bytes) -> str:
    """The source text of `node` (sliced from `data`: a tree parsed through a callback has no
    text of its own)."""
    return data[node.start_byte : node.end_byte].decode("utf-8", "replace")


def _doc_comment(spec: LanguageSpec, node: Any, data: bytes) -> tuple[Any, str]:
    """(the node where the function's code starts, its doc comment's text or "" when none).

    The code starts at the function, at the declaration of a bound function (`const f = ...`),
    or at the decorators above a method. The doc comment sits directly above that, or above the
    export/declaration/body that wraps the function when the function comes first in it.
    """
    first = node.parent if node.type == "variable_declarator" else node
    anchor = first
    while (
        anchor.parent is not None
        and anchor.parent.type in spec.wrappers
        and anchor.prev_named_sibling is None
    ):
        anchor = anchor.parent
    prev = anchor.prev_named_sibling
    while prev is not None and prev.type in spec.prefixes and _adjacent(prev, anchor):
        anchor = prev
        if first.parent == prev.parent:
            first = prev  # decorators of a method are its siblings: part of its code
        prev = prev.prev_named_sibling
    comments: list[str] = []
    while prev is not None and prev.type in spec.comments and _adjacent(prev, anchor):
        behind = prev.prev_sibling
        if behind is not None and behind.end_point[0] == prev.start_point[0]:
            break  # a trailing comment of the code before, not a doc comment
        text = _text(prev, data)
        if spec.style == "block":
            if text.startswith("/**") and not text.startswith("/**/"):
                comments.append(text)
            break
        comments.insert(0, text)
        anchor, prev = prev, prev.prev_named_sibling
    return first, clean_comment("\n".join(comments))


def _adjacent(above: Any, below: Any) -> bool:
    """Whether `above` ends on the line before `below` starts (no blank line between)."""
    return bool(below.start_point[0] - 1 <= above.end_point[0] <= below.start_point[0])


_BLOCK_LINE = re.compile(r"^\s*\*(?: |$)?")


def clean_comment(text: str) -> str:
    """A doc comment's text without its markers: `/** ... */` with the `*` margin, or `//` and
    `#` line prefixes (one space after them too); surrounding blank lines dropped."""
    text = text.strip()
    if not text:
        return ""
    if text.startswith("/*"):
        body = text[3:] if text.startswith("/**") else text[2:]
        body = body.removesuffix("*/")
        first, *rest = [_BLOCK_LINE.sub("", line, count=1) for line in body.split("\n")]
        lines = [first.strip(), *textwrap.dedent("\n".join(rest)).split("\n")]
    else:
        lines = []
        for line in text.split("\n"):
            line = line.strip()
            for marker in ("//", "#"):
                if line.startswith(marker):
                    line = line[len(marker) :]
                    line = line[1:] if line.startswith(" ") else line
                    break
            lines.append(line.rstrip())
    return "\n".join(line.rstrip() for line in lines).strip("\n").strip()


def _first_error_line(root: Any) -> int:
    """The 1-based line of the first ERROR or missing node under `root`."""
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            return int(node.start_point[0]) + 1
        stack.extend(reversed([c for c in node.children if c.has_error or c.is_missing]))
    return int(root.start_point[0]) + 1
