"""Typed rows and closed vocabularies shared by stages, the store and the app."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum


class Source(StrEnum):
    STDLIB = "stdlib"
    TREE = "tree"
    CODESEARCHNET = "codesearchnet"


class Task(StrEnum):
    GENERATION = "code_generation"
    SUMMARIZATION = "code_summarization"
    REPAIR = "code_repair"
    TRANSLATION = "code_translation"


class Verdict(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"


class InstanceStatus(StrEnum):
    OK = "ok"  # generated and passed the rule checks; ready to judge
    FAILED = "failed"  # the call or the parse failed; raw answer kept; --retry-failed retries
    RULES = "rules"  # generated but broke a rule check (kept, never judged)
    SKIPPED = "skipped"  # the provider said it cannot do this honestly (reason kept)


@dataclass(frozen=True, slots=True)
class Sample:
    """One (docstring, code) pair as collected from a source.

    `code` is the whole function as written; `code_nodoc` is the same with the docstring removed
    (for Python; for other languages the leading doc comment is outside `code` already).
    """

    source: str
    language: str
    repo: str
    path: str
    func_name: str
    line: int
    docstring: str
    code: str
    code_nodoc: str
    url: str = ""
    partition: str = ""

    @property
    def id(self) -> str:
        """Stable id from origin and content: the same input ingested twice maps to one row."""
        h = hashlib.sha256()
        for part in (self.source, self.repo, self.path, self.func_name, self.code):
            h.update(part.encode("utf-8", "surrogatepass"))
            h.update(b"\x00")
        return h.hexdigest()[:20]


def normalised_hash(text: str) -> str:
    """sha256 of `text` with all whitespace runs collapsed: the exact-duplicate key."""
    return hashlib.sha256(" ".join(text.split()).encode("utf-8", "surrogatepass")).hexdigest()
