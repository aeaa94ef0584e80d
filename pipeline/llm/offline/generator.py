"""The offline Generator: instances derived from the source itself, no model involved.

- code generation: the docstring's first sentence and the signature become the instruction, the
  original function (with the standard-library imports it needs) the solution;
- code summarization: the function without its docstring is the input, the human-written
  docstring the output;
- code repair: a realistic bug is injected (`mutate`), the buggy code is the input, the original
  code with a comment saying what was wrong and where is the output; a bug the execution check
  (`pipeline.verify.bug_is_observable`, run in the sandbox on inputs built from the function)
  shows to change nothing is discarded and the next one tried;
- code translation: skipped, with the reason (there is no translation it could stand behind).

Its answers are the same JSON a model would give, so they go through the same parser and checks.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import json
import re
import textwrap
from collections.abc import Iterator, Mapping
from typing import Any

from pipeline.llm.base import Answer, BatchJournal, Request, skipped
from pipeline.llm.offline.imports import infer_imports
from pipeline.llm.offline.mutate import Mutation, mutate
from pipeline.llm.render import language_name
from pipeline.llm.text import first_sentence
from pipeline.records import Task
from pipeline.verify import bug_is_observable

VERSION = "offline-generator-2"  # 2: invisible planted bugs discarded

# imperative verbs that open docstrings ("Return the ..."): turned into "that returns the ..."
_VERBS = {
    "add", "apply", "build", "calculate", "call", "check", "clean", "close", "collect", "compare",
    "compute", "convert", "copy", "count", "create", "decode", "delete", "determine", "emit",
    "encode", "ensure", "escape", "evaluate", "extract", "fetch", "filter", "find", "format",
    "generate", "get", "handle", "initialize", "insert", "join", "load", "look", "make", "map",
    "merge", "normalize", "open", "parse", "perform", "prepare", "print", "process", "quote",
    "read", "register", "remove", "render", "replace", "reset", "resolve", "restore", "return",
    "run", "save", "search", "send", "set", "sort", "split", "start", "stop", "strip", "test",
    "transform", "translate", "try", "unquote", "update", "validate", "wrap", "write", "yield",
}  # fmt: skip


def _third_person(verb: str) -> str:
    if verb.endswith(("s", "sh", "ch", "x", "z")):
        return verb + "es"
    if verb.endswith("y") and verb[-2:-1] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


def _function(code: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            return node
    return None


def generation_instruction(signature: str, docstring: str, language: str) -> str:
    """One sentence asking for the function: `Write a Python function `f(a)` that returns ...`."""
    kind = "method" if re.search(r"\((self|cls)\b", signature) else "function"
    head = f"Write a {language} {kind} `{signature}`"
    sentence = first_sentence(docstring)
    if not sentence:
        return head + "."
    words = sentence.split(maxsplit=1)
    first = words[0]
    rest = words[1] if len(words) > 1 else ""
    if first.lower() in _VERBS and first[:1].isupper():
        return f"{head} that {_third_person(first.lower())} {rest}".rstrip() + "."
    if first.lower().endswith("s") and first.lower()[:-1] in _VERBS:
        return f"{head} that {first.lower()} {rest}".rstrip() + "."
    return f"{head} for this purpose: {sentence[:1].lower()}{sentence[1:]}."


def _answer(task: Task, instruction: str, input_: str, output: str) -> Answer:
    body = {"task": task.value, "instruction": instruction, "input": input_, "output": output}
    return Answer(text=json.dumps(body, ensure_ascii=False), stop_reason="end_turn")


def _repair_output(code: str, explanation: str) -> str:
    comment = textwrap.fill(
        f"Fix: {explanation}", width=96, initial_indent="# ", subsequent_indent="# "
    )
    return f"{code.rstrip()}\n\n{comment}"


class OfflineGenerator:
    """The offline Generator provider (see the module docstring). `seed` picks the bugs."""

    name = "offline"
    base_url = ""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.settings: Mapping[str, Any] = {"generator": VERSION, "seed": seed}

    def answer(
        self, calls: Mapping[str, Request], journal: BatchJournal
    ) -> Iterator[tuple[str, Answer]]:
        for key, request in calls.items():
            try:
                answer = self.generate(request.context)
            except Exception as e:  # a bug on one sample must not stop the run: record it
                answer = Answer(error=f"the offline generator failed on this sample: {e!r}")
            yield key, answer

    def generate(self, context: Mapping[str, Any]) -> Answer:
        """The answer for one sample, from the request's context fields."""
        task = Task(context["task"])
        language = str(context.get("language", "python"))
        code = textwrap.dedent(str(context["code"])).strip("\n") + "\n"
        docstring = inspect.cleandoc(str(context.get("docstring", "")))
        name = str(context.get("func_name", "")).rsplit(".", 1)[-1]
        if task is Task.TRANSLATION:
            target = context.get("target_language") or "another language"
            return skipped(
                f"the offline provider cannot translate {language_name(language)} into {target} "
                "honestly: it has no translator whose output it could check (use --provider "
                "anthropic for translation)"
            )
        if task is Task.SUMMARIZATION:
            return self._summarize(code, docstring, name, language, context)
        if language.lower() != "python":
            return skipped(
                f"the offline provider derives {task.value} instances from Python only (it needs "
                f"Python's ast); this sample is {language_name(language)}"
            )
        function = _function(code)
        if function is None:
            return skipped("the code does not parse as a Python function")
        if task is Task.GENERATION:
            return self._generate(code, docstring, function)
        return self._repair(code, function, str(context.get("imports") or ""))

    def _summarize(
        self, code: str, docstring: str, name: str, language: str, context: Mapping[str, Any]
    ) -> Answer:
        if not docstring:
            return skipped("the sample has no docstring to document it with")
        nodoc = textwrap.dedent(str(context.get("code_nodoc") or "")).strip("\n")
        if not nodoc or docstring in nodoc:
            return skipped("the sample has no code without its docstring")
        display = language_name(language)
        what = "docstring" if language.lower() == "python" else "documentation comment"
        instruction = f"Write a concise {what} for the following {display} function `{name}`."
        return _answer(Task.SUMMARIZATION, instruction, nodoc + "\n", docstring)

    def _generate(
        self, code: str, docstring: str, function: ast.FunctionDef | ast.AsyncFunctionDef
    ) -> Answer:
        docstring = docstring or inspect.cleandoc(ast.get_docstring(function) or "")
        if not first_sentence(docstring):
            return skipped("the function has no docstring to derive the instruction from")
        signature = f"{function.name}({ast.unparse(function.args)})"
        instruction = generation_instruction(signature, docstring, "Python")
        imports = infer_imports(code)
        output = ("\n".join(imports) + "\n\n\n" if imports else "") + code
        return _answer(Task.GENERATION, instruction, "", output)

    def _repair(
        self, code: str, function: ast.FunctionDef | ast.AsyncFunctionDef, imports: str = ""
    ) -> Answer:
        seed = f"{self.seed}:{hashlib.sha256(code.encode('utf-8', 'surrogatepass')).hexdigest()}"
        refused: list[str] = []

        def observable(m: Mutation) -> bool:
            # False only when the sandbox shows the bug changes nothing; None (cannot tell:
            # a method, no inputs) keeps the bug, as before this check
            seen = bug_is_observable(code, m.buggy_code, function.name, imports)
            if seen is False:
                refused.append(m.kind)
            return seen is not False

        mutation = mutate(code, seed, observable)
        if mutation is None and refused:
            return skipped(
                f"every bug it could inject ({len(refused)} tried) changes nothing the function "
                "returns on the inputs built from it (an invisible bug is not a repair task)"
            )
        if mutation is None:
            return skipped(
                "no place to inject a realistic bug (no comparison, range bound, call with two "
                "arguments, returned value, boolean or arithmetic operator)"
            )
        instruction = (
            f"The following Python function `{function.name}` has a bug. "
            "Find and fix it, and explain what was wrong."
        )
        output = _repair_output(code, mutation.explanation)
        return _answer(Task.REPAIR, instruction, mutation.buggy_code, output)
