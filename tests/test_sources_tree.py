"""The tree source on a small multi-language tree written to disk, and on bad input."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from pipeline.sources import collect
from pipeline.sources.pyast import python_functions
from pipeline.sources.tree import iter_tree

# one documented function, one undocumented function and a documented method per language
TREE: dict[str, str] = {
    "py/geometry.py": '''\
"""Module docstring: not a function."""


def area(width, height):
    """Area of a rectangle.

    Width times height.
    """

    return width * height


def undocumented(x):
    return x


class Circle:
    @property
    def diameter(self):
        """Twice the radius."""
        return 2 * self.radius
''',
    "js/math.js": """\
/**
 * Adds two numbers.
 * @param {number} a
 */
export function add(a, b) {
  return a + b;
}

function undocumented() {}

/** Doubles a number. */
const double = (x) => x * 2;

class Calc {
  /** Multiplies. */
  mul(a, b) {
    return a * b;
  }
}
""",
    "ts/greet.ts": """\
/** Greets someone. */
function greet(name: string): string {
  return `hi ${name}`;
}

// a plain comment is not a doc comment
function undocumented(): void {}

class Greeter {
  /**
   * Says hello.
   */
  @logged()
  hello(): string {
    return "hello";
  }
}
""",
    "ts/view.tsx": """\
/** Renders a label. */
export const Label = (p: { text: string }) => <span>{p.text}</span>;
""",
    "java/Stack.java": """\
class Stack {
    /**
     * Pushes an item.
     * @param x the item
     */
    @Override
    public void push(int x) {
        items.add(x);
    }

    public int undocumented() { return 0; }
}
""",
    "go/server.go": """\
package server

// Sum returns the sum
// of a and b.
func Sum(a, b int) int {
\treturn a + b
}

func undocumented() {}

// Serve serves requests.
func (s *Server) Serve() error {
\treturn nil
}
""",
    "rb/shapes.rb": """\
module Shapes
  class Square
    # The area.
    # Side squared.
    def area
      @side * @side
    end

    def undocumented; end
  end
end

# Builds a square.
def make_square(side)
  Shapes::Square.new(side)
end
""",
    "php/Repo.php": """\
<?php
/** Finds a row. */
function find_row($id) {
    return $id;
}

function undocumented() {}

class Repo {
    /**
     * Saves a row.
     */
    public function save($row) {
        return true;
    }
}
""",
}

# (language, path, func_name) -> (docstring, code)
EXPECTED: dict[tuple[str, str, str], tuple[str, str]] = {
    ("python", "py/geometry.py", "area"): (
        "Area of a rectangle.\n\nWidth times height.",
        'def area(width, height):\n    """Area of a rectangle.\n\n    Width times height.\n'
        '    """\n\n    return width * height',
    ),
    ("python", "py/geometry.py", "Circle.diameter"): (
        "Twice the radius.",
        '@property\ndef diameter(self):\n    """Twice the radius."""\n    return 2 * self.radius',
    ),
    ("javascript", "js/math.js", "add"): (
        "Adds two numbers.\n@param {number} a",
        "function add(a, b) {\n  return a + b;\n}",
    ),
    ("javascript", "js/math.js", "double"): ("Doubles a number.", "const double = (x) => x * 2;"),
    ("javascript", "js/math.js", "Calc.mul"): ("Multiplies.", "mul(a, b) {\n  return a * b;\n}"),
    ("typescript", "ts/greet.ts", "greet"): (
        "Greets someone.",
        "function greet(name: string): string {\n  return `hi ${name}`;\n}",
    ),
    ("typescript", "ts/greet.ts", "Greeter.hello"): (
        "Says hello.",
        '@logged()\nhello(): string {\n  return "hello";\n}',
    ),
    ("typescript", "ts/view.tsx", "Label"): (
        "Renders a label.",
        "const Label = (p: { text: string }) => <span>{p.text}</span>;",
    ),
    ("java", "java/Stack.java", "Stack.push"): (
        "Pushes an item.\n@param x the item",
        "@Override\npublic void push(int x) {\n    items.add(x);\n}",
    ),
    ("go", "go/server.go", "Sum"): (
        "Sum returns the sum\nof a and b.",
        "func Sum(a, b int) int {\n\treturn a + b\n}",
    ),
    ("go", "go/server.go", "Server.Serve"): (
        "Serve serves requests.",
        "func (s *Server) Serve() error {\n\treturn nil\n}",
    ),
    ("ruby", "rb/shapes.rb", "Shapes.Square.area"): (
        "The area.\nSide squared.",
        "def area\n  @side * @side\nend",
    ),
    ("ruby", "rb/shapes.rb", "make_square"): (
        "Builds a square.",
        "def make_square(side)\n  Shapes::Square.new(side)\nend",
    ),
    ("php", "php/Repo.php", "find_row"): (
        "Finds a row.",
        "function find_row($id) {\n    return $id;\n}",
    ),
    ("php", "php/Repo.php", "Repo.save"): (
        "Saves a row.",
        "public function save($row) {\n    return true;\n}",
    ),
}


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write(tmp_path / "project", dict(TREE))


def test_every_language_documented_functions_and_methods(project: Path) -> None:
    samples, tally = collect(iter_tree([project]))
    got = {(s.language, s.path, s.func_name): (s.docstring, s.code) for s in samples}
    assert got == EXPECTED
    assert tally.problems == []
    # one undocumented function per file (two Python ones: the module docstring is no function)
    assert tally.passed_over == {"no doc comment": len(TREE) - 1}
    assert {s.repo for s in samples} == {"project"}
    assert {s.source for s in samples} == {"tree"}


def test_lines_and_code_nodoc(project: Path) -> None:
    samples, _ = collect(iter_tree([project]))
    by_name = {s.func_name: s for s in samples}
    assert by_name["area"].line == 4
    assert by_name["Circle.diameter"].line == 18
    assert by_name["Greeter.hello"].line == 13  # the decorator's line
    assert by_name["Sum"].line == 5
    assert by_name["area"].code_nodoc == "def area(width, height):\n    return width * height"
    assert by_name["Circle.diameter"].code_nodoc == (
        "@property\ndef diameter(self):\n    return 2 * self.radius"
    )
    for s in samples:
        if s.language != "python":
            assert s.code_nodoc == s.code


def test_single_file_argument_and_stable_ids(project: Path) -> None:
    first, _ = collect(iter_tree([project / "go" / "server.go"]))
    assert [(s.repo, s.path, s.func_name) for s in first] == [
        ("go", "server.go", "Sum"),
        ("go", "server.go", "Server.Serve"),
    ]
    again, _ = collect(iter_tree([project / "go" / "server.go"]))
    assert [s.id for s in first] == [s.id for s in again]


def test_hidden_vendored_and_venv_folders_are_not_entered(project: Path) -> None:
    doc = 'def f():\n    """Doc."""\n'
    write(
        project,
        {
            ".git/hooks/hook.py": doc,
            ".hidden/x.py": doc,
            "node_modules/lib/index.js": "/** Doc. */\nfunction f() {}\n",
            "__pycache__/x.py": doc,
            "env/pyvenv.cfg": "home = /usr\n",
            "env/lib/site.py": doc,
            "vendor/pkg/x.go": "package x\n// F does.\nfunc F() {}\n",
            "js/app.min.js": "/** Doc. */\nfunction f() {}\n",
        },
    )
    samples, tally = collect(iter_tree([project]))
    assert {s.path.split("/")[0] for s in samples} == {"py", "js", "ts", "java", "go", "rb", "php"}
    assert "js/app.min.js" not in {s.path for s in samples}
    assert tally.problems == []


def test_bad_input_is_reported_with_file_and_line_and_good_files_kept(
    project: Path, tmp_path: Path
) -> None:
    write(
        project,
        {
            "bad/syntax.py": 'def ok():\n    """Doc."""\n\n\ndef broken(\n    x = \n',
            "bad/latin.py": b'def f():\n    """caf\xe9"""\n',
            "bad/blob.js": b"\x00\x01\x02binary\x00",
            "bad/broken.js": "/** Fine. */\nfunction fine() {}\n\nfunction broken( {\n",
            "bad/empty.py": "",
        },
    )
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "README.txt").write_text("no code here\n")
    (tmp_path / "notes.txt").write_text("text\n")
    paths = [project, tmp_path / "missing", tmp_path / "docs", tmp_path / "notes.txt"]
    samples, tally = collect(iter_tree(paths))
    messages = [p.message for p in tally.problems]
    assert messages == [
        f"{project}/bad/blob.js:1: binary file (a NUL byte), skipped",
        f"{project}/bad/broken.js:4: syntax error; documented functions outside it kept: 1",
        f"{project}/bad/latin.py:2: not UTF-8 (byte 0xe9 at column 11), file skipped",
        f"{project}/bad/syntax.py:5: syntax error: '(' was never closed",
        f"{tmp_path}/missing: no such file or folder",
        f"{tmp_path}/docs: no source files (Python, JavaScript, TypeScript, Java, Go, Ruby, "
        "PHP) in this folder",
        f"{tmp_path}/notes.txt: unsupported file type '.txt'",
    ]
    assert dict(tally.skipped) == {
        "binary file": 1,
        "syntax error": 2,
        "not UTF-8": 1,
        "not found": 1,
        "no source files": 1,
        "unsupported file": 1,
    }
    got = {(s.path, s.func_name) for s in samples}
    assert got == {(p, f) for _, p, f in EXPECTED} | {("bad/broken.js", "fine")}


def test_python_encoding_cookie_is_honoured(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"old.py": '# -*- coding: latin-1 -*-\ndef f():\n    """Caf\xe9."""\n'.encode("latin-1")},
    )
    samples, tally = collect(iter_tree([tmp_path / "old.py"]))
    assert [s.docstring for s in samples] == ["Café."]
    assert tally.problems == []


@pytest.mark.parametrize(
    ("source", "name", "code", "nodoc"),
    [
        (  # a docstring on the def line, alone
            'def f(): "Doc."\n',
            "f",
            'def f(): "Doc."',
            "def f(): pass",
        ),
        (  # a docstring on the def line, then more statements
            'def f(): "Doc."; return 1\n',
            "f",
            'def f(): "Doc."; return 1',
            "def f(): return 1",
        ),
        (  # nested and async, non-ASCII before the end column, a comment after the docstring
            "class K:\n    def outer(self):\n        async def inner():\n"
            '            """Inner doc."""  # note\n            return "é"\n'
            "        return inner\n",
            "K.outer.<locals>.inner",
            'async def inner():\n    """Inner doc."""  # note\n    return "é"',
            'async def inner():\n    return "é"',
        ),
        (  # defined under if/else at module level, with CRLF newlines
            'if X:\r\n    def g():\r\n        """Doc."""\r\n        pass\r\n',
            "g",
            'def g():\n    """Doc."""\n    pass',
            "def g():\n    pass",
        ),
        (  # a string with less indentation than the method inside its body
            'class K:\n    def m(self):\n        """Doc."""\n        s = """a\nb"""\n'
            "        return s\n",
            "K.m",
            'def m(self):\n    """Doc."""\n    s = """a\nb"""\n    return s',
            'def m(self):\n    s = """a\nb"""\n    return s',
        ),
    ],
)
def test_python_cutting(source: str, name: str, code: str, nodoc: str) -> None:
    text = source.replace("\r\n", "\n")
    functions, _ = python_functions(text)
    f = {f.qualname: f for f in functions}[name]
    assert (f.code, f.code_nodoc) == (code, nodoc)
    ast.parse(f.code_nodoc)
