"""The offline Discriminator's checks: one deterministic function per criterion id.

Each check returns `(passed, rationale)`; the rationale names what was found ("`math` is used on
line 3 but never imported"). `passed` is None when the criterion cannot be checked honestly
without a model (the judgment is then recorded as failed, with the reason).
"""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePath

from pipeline.llm.offline.imports import free_names
from pipeline.llm.render import Draft, language_name

Result = tuple[bool | None, str]


@dataclass(frozen=True, slots=True)
class CheckEnv:
    """Thresholds (from JudgeConfig) and the similarity of two texts (cosine of embeddings)."""

    similarity: Callable[[str, str], float]
    relevance_threshold: float = 0.25
    max_nesting: int = 4
    documented_lines: int = 20
    max_summary_words: int = 150
    min_fix_similarity: float = 0.75


_FENCE_LINE = re.compile(r"^\s*```")
_COMMENT_PREFIXES = ("#", "//", "/*", "*", "--", ";")
# markers that a text is written in a language (for translations), checked on code lines
_LANGUAGE_MARKERS: dict[str, tuple[str, ...]] = {
    "python": (r"^\s*def \w+\(.*\)\s*(->.*)?:\s*$", r"^\s*import \w+\s*$"),
    "javascript": (r"\bfunction\b", r"=>", r"\b(const|let)\s+\w+\s*="),
    "typescript": (r"\bfunction\b", r"=>", r"\b(const|let)\s+\w+\s*[:=]"),
    "java": (r"\b(public|private|static)\b.*\(", r"\bclass\s+\w+"),
    "go": (r"^\s*func\b", r":="),
    "c++": (r"#include\s*<", r"\bstd::", r"^\s*(int|void|bool|double|auto)\s+\w+\s*\("),
    "rust": (r"^\s*(pub\s+)?fn\s+\w+", r"\blet\s+(mut\s+)?\w+"),
    "ruby": (r"^\s*def \w+", r"^\s*end\s*$"),
    "php": (r"<\?php", r"\$\w+"),
}


def strip_fences(text: str) -> str:
    """`text` without Markdown fence lines (```python ... ```)."""
    return "\n".join(line for line in text.splitlines() if not _FENCE_LINE.match(line))


def _python(text: str) -> ast.Module | None:
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError):
        return None


def _is_python(d: Draft) -> bool:
    return d.language.lower() == "python"


def _not_python(d: Draft, verb: str = "reads") -> Result | None:
    """The undecided result of a check that `verb`s only Python, when `d`'s code is not Python;
    None when it is."""
    if _is_python(d):
        return None
    return None, f"The offline judge {verb} only Python; this code is {language_name(d.language)}."


def _solution_tree(d: Draft, so_what: str) -> ast.Module | Result:
    """The parsed solution of a Python draft; else the check's result: undecided for another
    language, failed (saying `so_what` cannot be judged) when it does not parse."""
    if (not_python := _not_python(d)) is not None:
        return not_python
    tree = _python(d.output)
    if tree is None:
        return False, f"The solution does not parse as Python, so {so_what}."
    return tree


def _first_bad_line(text: str) -> tuple[int, str]:
    """The line where Python parsing fails, and its text."""
    try:
        ast.parse(text)
    except SyntaxError as e:
        lineno = e.lineno or 1
        lines = text.splitlines()
        return lineno, lines[lineno - 1].strip() if 0 < lineno <= len(lines) else ""
    return 0, ""


def _mentions(text: str, name: str) -> bool:
    return re.search(rf"(?<![\w+#]){re.escape(name)}(?![\w+#])", text, re.IGNORECASE) is not None


# -- shared -------------------------------------------------------------------------------------
def names_language(d: Draft, env: CheckEnv) -> Result:
    name = language_name(d.language)
    if _mentions(d.instruction, name):
        return True, f"The instruction names {name}, the language of the code."
    return False, f"The instruction never names {name}, the language of the code."


def names_languages(d: Draft, env: CheckEnv) -> Result:
    source, target = language_name(d.language), d.target_language
    missing = [n for n in (source, target) if not n or not _mentions(d.instruction, n)]
    if not missing:
        return True, f"The instruction names the source ({source}) and target ({target}) languages."
    return False, f"The instruction never names {' or '.join(m or 'the target' for m in missing)}."


def input_is_code(d: Draft, env: CheckEnv) -> Result:
    text = strip_fences(d.input)
    if _is_python(d):
        tree = _python(text)
        if tree is None:
            line, shown = _first_bad_line(text)
            return False, f"The input does not parse as Python (line {line}: `{shown[:60]}`)."
        definitions = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Pass)
        real = [
            s
            for s in ast.walk(tree)
            if isinstance(s, ast.stmt)
            and not isinstance(s, definitions)
            and not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
        ]
        if not real:
            return False, "The input holds no executable statement, only comments or docstrings."
        return True, f"The input is Python code with {len(real)} executable statements."
    code = [
        line
        for line in text.splitlines()
        if line.strip() and not line.strip().startswith(_COMMENT_PREFIXES)
    ]
    if not code:
        return False, "The input holds only comments or blank lines."
    return True, f"The input has {len(code)} lines of code besides comments."


def code_only(d: Draft, env: CheckEnv) -> Result:
    fences = [i for i, line in enumerate(d.output.splitlines(), 1) if _FENCE_LINE.match(line)]
    if fences:
        return False, f"Line {fences[0]} of the output is a Markdown fence, outside the code."
    language = (d.target_language or d.language).lower()
    if language == "python":
        if _python(d.output) is not None:
            return True, "The output parses as Python: it holds only code and comments."
        bad, shown = _first_bad_line(d.output)
        return False, f"Line {bad} of the output is not Python code (`{shown[:60]}`): prose?"
    for i, text in enumerate(d.output.splitlines(), 1):
        stripped = text.strip()
        if (
            stripped
            and not stripped.startswith(_COMMENT_PREFIXES)
            and re.fullmatch(r"[A-Z][A-Za-z']*( [\w',()-]+){3,}[.:!]", stripped)
            and not re.search(r"[;{}=]", stripped)
        ):
            return (
                False,
                f"Line {i} of the output reads as prose outside a comment: `{stripped[:60]}`.",
            )
    return True, "No line of the output reads as prose or Markdown outside the code's comments."


# -- code generation ----------------------------------------------------------------------------
def relevant(d: Draft, env: CheckEnv) -> Result:
    asked = f"{d.instruction}\n{d.input}".strip()
    score = env.similarity(asked, d.output)
    wanted = re.findall(r"`([A-Za-z_]\w*)\(", d.instruction)
    tree = _python(d.output) if _is_python(d) else None
    if tree is not None and wanted:
        defined = {
            n.name
            for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        }
        if wanted[0] not in defined:
            return False, (
                f"The instruction asks for `{wanted[0]}` but the solution defines "
                f"{', '.join(f'`{n}`' for n in sorted(defined)) or 'no function'}."
            )
    if score < env.relevance_threshold:
        return False, (
            f"Instruction and solution are far apart: cosine similarity {score:.2f} "
            f"(at least {env.relevance_threshold:.2f} needed)."
        )
    return True, (
        f"Instruction and solution match: cosine similarity {score:.2f} "
        f"(at least {env.relevance_threshold:.2f})"
        + (f", and the solution defines `{wanted[0]}`." if wanted and tree is not None else ".")
    )


def _depth(node: ast.AST, level: int = 0) -> tuple[int, int]:
    """(deepest block nesting under `node`, line where it is reached)."""
    blocks = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try, ast.Match)
    best, line = level, getattr(node, "lineno", 0)
    for child in ast.iter_child_nodes(node):
        deeper = level + 1 if isinstance(child, blocks) else level
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            deeper = 0  # a nested definition starts its own count
        depth, where = _depth(child, deeper)
        if depth > best:
            best, line = depth, where
    return best, line


def clear_logic(d: Draft, env: CheckEnv) -> Result:
    tree = _solution_tree(d, "its logic cannot be followed")
    if not isinstance(tree, ast.Module):
        return tree
    depth, line = _depth(tree)
    if depth > env.max_nesting:
        return False, (
            f"Blocks nest {depth} levels deep (line {line}), more than {env.max_nesting}: the "
            "logic is buried in nesting."
        )
    lines = [x for x in d.output.splitlines() if x.strip()]
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    documented = any(ast.get_docstring(f) for f in functions) or any(
        x.strip().startswith("#") for x in lines
    )
    if len(lines) > env.documented_lines and not documented:
        return False, (
            f"{len(lines)} lines of code with no docstring and no comment (more than "
            f"{env.documented_lines} need documentation)."
        )
    how = "documented" if documented else "short enough to read without comments"
    return True, f"Blocks nest at most {depth} levels and the code is {how}."


def imports_used(d: Draft, env: CheckEnv) -> Result:
    if (not_python := _not_python(d)) is not None:
        return not_python
    names = free_names(d.output)
    if names is None:
        return False, "The solution does not parse as Python, so its names cannot be resolved."
    if not names:
        return True, "Every name the code uses is imported, defined or built in."
    source = PurePath(d.source_path).name if d.source_path else ""
    from_file = _free_in_source(d) if source else set()
    problems = [
        f"`{n.name}` is used on line {n.line} but never imported"
        if n.as_module
        else f"`{n.name}` (line {n.line}) is defined or imported elsewhere in {source}, not in the solution"
        if n.name in from_file
        else f"`{n.name}` is used on line {n.line} but never defined or imported"
        for n in names[:3]
    ]
    more = f" (and {len(names) - 3} more)" if len(names) > 3 else ""
    return False, "; ".join(problems) + more + "."


def _free_in_source(d: Draft) -> set[str]:
    """Names the source function takes from its file: used there but not defined in it."""
    return {n.name for n in free_names(d.source_code) or ()} if d.source_code.strip() else set()


_TRIVIAL_RETURN = (ast.Attribute, ast.Name, ast.Constant)


def _trivial_statement(stmt: ast.stmt) -> str | None:
    """Why one statement is all a trivial body does (`pass`, `...`, a bare return of an
    attribute, a name or a constant, `raise NotImplementedError`), or None."""
    if isinstance(stmt, ast.Pass):
        return "`pass`"
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
        return "`...`" if stmt.value.value is Ellipsis else "a bare constant"
    if isinstance(stmt, ast.Return):
        value = stmt.value
        if value is None or (isinstance(value, ast.Constant) and value.value is None):
            return "a bare `return`"
        if isinstance(value, ast.Attribute):
            return f"a bare return of an attribute (`{ast.unparse(stmt)}`)"
        if isinstance(value, _TRIVIAL_RETURN):
            return (
                f"a bare return of a {'name' if isinstance(value, ast.Name) else 'constant'} "
                f"(`{ast.unparse(stmt)}`)"
            )
    if isinstance(stmt, ast.Raise) and stmt.exc is not None:
        exc = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
        if isinstance(exc, ast.Name) and exc.id == "NotImplementedError":
            return "`raise NotImplementedError`"
    if (
        isinstance(stmt, ast.Assign)
        and len(stmt.targets) == 1
        and isinstance(stmt.targets[0], ast.Attribute)
        and isinstance(stmt.value, _TRIVIAL_RETURN)
    ):
        return f"one attribute assignment (`{ast.unparse(stmt)}`)"
    return None


def nontrivial(d: Draft, env: CheckEnv) -> Result:
    """Fails a solution whose every function has a body of one trivial statement."""
    tree = _solution_tree(d, "what it does cannot be read")
    if not isinstance(tree, ast.Module):
        return tree
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    if not functions:
        return True, "The solution is top-level code, not a function with a trivial body."
    trivial: list[tuple[str, str]] = []
    for f in functions:
        body = f.body[1:] if ast.get_docstring(f) is not None else f.body
        why = _trivial_statement(body[0]) if len(body) == 1 else None
        if why is None:
            statements = sum(1 for n in ast.walk(f) if isinstance(n, ast.stmt)) - 1
            return True, f"`{f.name}` does real work ({statements} statements in its body)."
        trivial.append((f.name, why))
    name, why = trivial[0]
    return False, (
        f"`{name}` has a body of one statement, {why}: too trivial to teach a model anything."
    )


# -- code summarization -------------------------------------------------------------------------
def faithful(d: Draft, env: CheckEnv) -> Result:
    score = env.similarity(d.output, d.input)
    if score < env.relevance_threshold:
        return False, (
            f"The documentation and the code are far apart: cosine similarity {score:.2f} "
            f"(at least {env.relevance_threshold:.2f} needed)."
        )
    return True, (
        f"The documentation matches the code: cosine similarity {score:.2f} "
        f"(at least {env.relevance_threshold:.2f})."
    )


def concise(d: Draft, env: CheckEnv) -> Result:
    words = len(d.output.split())
    if words > env.max_summary_words:
        return False, f"The documentation runs to {words} words, more than {env.max_summary_words}."
    return True, f"The documentation has {words} words (at most {env.max_summary_words})."


def prose_only(d: Draft, env: CheckEnv) -> Result:
    code_lines = {x.strip() for x in d.input.splitlines() if len(x.strip()) >= 8}
    lines = [x.strip() for x in d.output.splitlines() if x.strip()]
    copied = [x for x in lines if x in code_lines and not x.startswith(">>>")]
    if lines and len(copied) / len(lines) >= 0.3:
        return False, (
            f"{len(copied)} of {len(lines)} lines of the documentation are copied from the "
            f"code (first: `{copied[0][:60]}`)."
        )
    return True, f"The documentation copies {len(copied)} lines of the code verbatim."


# -- code repair --------------------------------------------------------------------------------
def _code_lines(text: str) -> list[str]:
    return [
        x.rstrip()
        for x in strip_fences(text).splitlines()
        if x.strip() and not x.strip().startswith(_COMMENT_PREFIXES)
    ]


def real_error(d: Draft, env: CheckEnv) -> Result:
    before, after = _code_lines(d.input), _code_lines(d.output)
    if before == after:
        return False, "The code in the output is the same as the input: nothing was fixed."
    for i, (a, b) in enumerate(zip(before, after, strict=False), 1):
        if a != b:
            return (
                True,
                f"The output changes code line {i}: `{a.strip()[:50]}` -> `{b.strip()[:50]}`.",
            )
    return True, f"The output has {len(after)} code lines where the input has {len(before)}."


def fix_valid(d: Draft, env: CheckEnv) -> Result:
    if (not_python := _not_python(d, "parses")) is not None:
        return not_python
    code = strip_fences(d.output)
    if _python(code) is None:
        line, shown = _first_bad_line(code)
        return False, f"The corrected code does not parse: line {line} (`{shown[:60]}`)."
    return True, "The corrected code parses as complete Python."


def explains_error(d: Draft, env: CheckEnv) -> Result:
    def comments(text: str) -> list[str]:
        out = []
        for line in text.splitlines():
            found = re.search(r"(#|//)\s*(.*)$", line)
            if found and found.group(2).strip():
                out.append(found.group(2).strip())
        return out

    old = set(comments(d.input))
    text = " ".join(c for c in comments(d.output) if c not in old)
    if len(text.split()) < 5:
        return False, "The output adds no comment or text saying what was wrong."
    where = re.search(r"\bline \d+", text, re.IGNORECASE) or re.search(r"`[^`]+`", text)
    if where is None:
        return False, f"The explanation does not say where the error was: `{text[:80]}`."
    return True, f"The output explains the error and names where ({where.group(0)})."


def minimal_fix(d: Draft, env: CheckEnv) -> Result:
    before, after = "\n".join(_code_lines(d.input)), "\n".join(_code_lines(d.output))
    ratio = difflib.SequenceMatcher(None, before, after, autojunk=False).ratio()
    changed = sum(
        1 for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line[:1] in "+-"
    )
    if ratio < env.min_fix_similarity:
        return False, (
            f"The corrected code is only {ratio:.0%} like the input ({changed} lines added or "
            f"removed): more changed than the error needs (at least {env.min_fix_similarity:.0%})."
        )
    return (
        True,
        f"The corrected code is {ratio:.0%} like the input: {changed} lines added or removed.",
    )


# -- code translation ---------------------------------------------------------------------------
def target_language(d: Draft, env: CheckEnv) -> Result:
    target = d.target_language.lower()
    markers = _LANGUAGE_MARKERS.get(target)
    if not markers:
        return None, f"The offline judge has no markers for {d.target_language or 'no language'}."
    code = "\n".join(_code_lines(d.output))
    found = [m for m in markers if re.search(m, code, re.MULTILINE)]
    python = [m for m in _LANGUAGE_MARKERS["python"] if re.search(m, code, re.MULTILINE)]
    if found and not (python and target != "python"):
        return True, f"The output has {d.target_language} syntax (`{found[0]}` matches)."
    if python:
        return False, "The output still reads as Python (a `def ...:` line)."
    return False, f"The output shows none of {d.target_language}'s syntax markers."


def equivalent(d: Draft, env: CheckEnv) -> Result:
    return None, "The offline judge cannot check that a translation keeps the behaviour."


CHECKS: dict[str, Callable[[Draft, CheckEnv], Result]] = {
    "names_language": names_language,
    "names_languages": names_languages,
    "input_is_code": input_is_code,
    "code_only": code_only,
    "relevant": relevant,
    "clear_logic": clear_logic,
    "imports_used": imports_used,
    "nontrivial": nontrivial,
    "faithful": faithful,
    "concise": concise,
    "prose_only": prose_only,
    "real_error": real_error,
    "fix_valid": fix_valid,
    "explains_error": explains_error,
    "minimal_fix": minimal_fix,
    "target_language": target_language,
    "equivalent": equivalent,
}
