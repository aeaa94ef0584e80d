"""The stdlib source on the running interpreter's real standard library."""

from __future__ import annotations

import ast
import inspect
import json
import numbers
import pathlib
import platform
import textwrap
import time

import pytest

from pipeline.records import Sample
from pipeline.sources import Tally, collect
from pipeline.sources.stdlib import EXCLUDED_DIRS, iter_stdlib, stdlib_root


@pytest.fixture(scope="module")
def stdlib() -> tuple[list[Sample], Tally, float]:
    """The whole standard library collected once for this module, with the seconds it took."""
    started = time.perf_counter()
    samples, tally = collect(iter_stdlib())
    return samples, tally, time.perf_counter() - started


@pytest.fixture(scope="module")
def by_name(stdlib: tuple[list[Sample], Tally, float]) -> dict[tuple[str, str], Sample]:
    return {(s.path, s.func_name): s for s in stdlib[0]}


def test_thousands_of_functions_and_no_problems(
    stdlib: tuple[list[Sample], Tally, float],
) -> None:
    samples, tally, _seconds = stdlib  # the time is a benchmark's claim, not a test's
    assert len(samples) > 3000
    assert tally.read == len(samples)
    assert tally.problems == []
    assert tally.passed_over["no docstring"] > 1000
    assert {s.source for s in samples} == {"stdlib"}
    assert {s.language for s in samples} == {"python"}
    assert {s.repo for s in samples} == {f"python-stdlib-{platform.python_version()}"}
    assert len({s.id for s in samples}) == len(samples)


def test_tests_and_site_packages_left_out(stdlib: tuple[list[Sample], Tally, float]) -> None:
    for s in stdlib[0]:
        parts = s.path.split("/")
        assert not EXCLUDED_DIRS.intersection(parts[:-1]), s.path
        assert not parts[-1].startswith("test_") and not parts[0].startswith("config-"), s.path
        assert (stdlib_root() / s.path).is_file()


def _expected_code(func: object) -> tuple[str, int]:
    lines, line = inspect.getsourcelines(func)  # type: ignore[arg-type]
    return textwrap.dedent("".join(lines)).rstrip("\n"), line


def test_json_dumps(by_name: dict[tuple[str, str], Sample]) -> None:
    s = by_name[("json/__init__.py", "dumps")]
    assert s.docstring == inspect.getdoc(json.dumps)
    code, line = _expected_code(json.dumps)
    assert (s.code, s.line) == (code, line)
    assert s.code.startswith("def dumps(obj, *, skipkeys=False")
    assert "Serialize ``obj`` to a JSON formatted ``str``." in s.code
    assert "Serialize ``obj``" not in s.code_nodoc
    assert s.code_nodoc.startswith("def dumps(obj, *, skipkeys=False")
    tree = ast.parse(s.code_nodoc)
    assert ast.get_docstring(tree.body[0]) is None  # type: ignore[arg-type]
    assert ast.dump(tree.body[0].body[0]) == ast.dump(ast.parse(s.code).body[0].body[1])  # type: ignore[attr-defined]


def test_textwrap_dedent(by_name: dict[tuple[str, str], Sample]) -> None:
    s = by_name[("textwrap.py", "dedent")]
    assert s.docstring == inspect.getdoc(textwrap.dedent)
    assert (s.code, s.line) == _expected_code(textwrap.dedent)
    doc_lines = [line for line in s.code.split("\n") if "Remove any common leading" in line]
    assert len(doc_lines) == 1
    assert s.code_nodoc == s.code.replace(_docstring_block(s.code), "")


def _docstring_block(code: str) -> str:
    """The docstring statement's lines of `code` (with their newline and blank lines after)."""
    node = ast.parse(code).body[0].body[0]  # type: ignore[attr-defined]
    lines = code.split("\n")
    end = node.end_lineno
    while not lines[end].strip():
        end += 1
    return "\n".join(lines[node.lineno - 1 : end]) + "\n"


def test_method_is_qualified_and_dedented(by_name: dict[tuple[str, str], Sample]) -> None:
    s = by_name[("textwrap.py", "TextWrapper.wrap")]
    assert s.code.startswith("def wrap(self, text):\n    ")
    assert (s.code, s.line) == _expected_code(textwrap.TextWrapper.wrap)
    assert s.docstring == inspect.getdoc(textwrap.TextWrapper.wrap)


def test_decorators_are_part_of_the_code(by_name: dict[tuple[str, str], Sample]) -> None:
    s = by_name[("pathlib.py", "PurePath.parts")]
    assert s.code.startswith("@property\ndef parts(self):")
    assert (s.code, s.line) == _expected_code(pathlib.PurePath.parts.fget)  # type: ignore[attr-defined]


def test_a_body_of_only_a_docstring_becomes_pass(by_name: dict[tuple[str, str], Sample]) -> None:
    s = by_name[("numbers.py", "Complex.__complex__")]
    assert s.docstring == inspect.getdoc(numbers.Complex.__complex__)
    assert s.code_nodoc == "@abstractmethod\ndef __complex__(self):\n    pass"


def test_every_code_nodoc_parses_without_a_docstring(
    stdlib: tuple[list[Sample], Tally, float],
) -> None:
    for s in stdlib[0]:
        node = ast.parse(s.code_nodoc).body[0]
        assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef), s.path
        assert ast.get_docstring(node) is None, (s.path, s.func_name)
        assert s.docstring == s.docstring.strip() != ""


def test_ids_are_stable_across_runs() -> None:
    root = stdlib_root() / "json"
    first, _ = collect(iter_stdlib(root))
    second, _ = collect(iter_stdlib(root))
    assert [s.id for s in first] == [s.id for s in second]
    assert {s.path for s in first} >= {"__init__.py", "decoder.py", "encoder.py"}


def test_imports_are_the_files_lines_and_the_module_helpers_used(
    by_name: dict[tuple[str, str], Sample],
) -> None:
    # dedent reads two module-level regexes: they come in from the module by name
    dedent = by_name[("textwrap.py", "dedent")]
    assert dedent.imports.splitlines() == [
        "import re",
        "from textwrap import _leading_whitespace_re, _whitespace_only_re",
    ]
    # a method gets the file's import lines only (its class is not in the sample)
    assert by_name[("textwrap.py", "TextWrapper.wrap")].imports == "import re"
    # a package's __init__ is the package: `from json import ...`, never `json.__init__`
    assert all("__init__" not in s.imports for s in by_name.values())
    # every line is one statement that parses on its own (the harness runs them line by line)
    for s in by_name.values():
        for line in s.imports.splitlines():
            ast.parse(line)
