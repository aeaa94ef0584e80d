"""Small real functions for the LLM stage tests, a helper that puts them in a workspace as the
coreset, and checks that the samples are what the tests assume."""

from __future__ import annotations

import ast
import hashlib
import re
import textwrap
from collections.abc import Sequence

import numpy as np

from pipeline.records import Sample
from pipeline.store import Workspace
from pipeline.store.samples import insert_samples


def _sample(name: str, code: str, language: str = "python") -> Sample:
    code = textwrap.dedent(code).strip("\n") + "\n"
    docstring = ""
    nodoc = code
    if language == "python":
        fn = ast.parse(code).body[0]
        assert isinstance(fn, ast.FunctionDef)
        docstring = ast.get_docstring(fn) or ""
        first = fn.body[0]
        lines = code.splitlines(keepends=True)
        nodoc = "".join(lines[: first.lineno - 1] + lines[first.end_lineno or 0 :])
    else:
        docstring = "Return the sum of the numbers in `values`."
    return Sample("tree", language, "tests", "funcs.py", name, 1, docstring, code, nodoc)


SAMPLES = [
    _sample(
        "hypotenuse",
        '''
        def hypotenuse(a, b):
            """Return the length of the hypotenuse of a right triangle with legs a and b."""
            return math.sqrt(a * a + b * b)
        ''',
    ),
    _sample(
        "count_words",
        '''
        def count_words(text, min_length=1):
            """Count the words in text that have at least min_length letters."""
            count = 0
            for word in re.findall(r"[A-Za-z]+", text):
                if len(word) >= min_length:
                    count += 1
            return count
        ''',
    ),
    _sample(
        "running_mean",
        '''
        def running_mean(values, window):
            """Return the means of every run of `window` consecutive values."""
            means = []
            for i in range(len(values) - window + 1):
                means.append(sum(values[i : i + window]) / window)
            return means
        ''',
    ),
    _sample(
        "clamp",
        '''
        def clamp(value, low, high):
            """Limit value to the closed range from low to high."""
            if low > high:
                raise ValueError("low must not exceed high")
            return max(low, min(value, high))
        ''',
    ),
    _sample(
        "is_palindrome",
        '''
        def is_palindrome(text):
            """Return True if text reads the same forwards and backwards, ignoring case."""
            letters = [c.lower() for c in text if c.isalnum()]
            return letters == letters[::-1]
        ''',
    ),
    _sample(
        "last_index",
        '''
        def last_index(items, target):
            """Return the index of the last occurrence of target in items, or -1."""
            for i in range(len(items) - 1, -1, -1):
                if items[i] == target:
                    return i
            return -1
        ''',
    ),
    _sample(
        "merge_sorted",
        '''
        def merge_sorted(left, right):
            """Merge two sorted lists into one sorted list."""
            out, i, j = [], 0, 0
            while i < len(left) and j < len(right):
                if left[i] <= right[j]:
                    out.append(left[i])
                    i += 1
                else:
                    out.append(right[j])
                    j += 1
            return out + left[i:] + right[j:]
        ''',
    ),
    _sample(
        "parse_pairs",
        '''
        def parse_pairs(text):
            """Parse 'key=value' pairs separated by semicolons into a dict."""
            result = {}
            for part in text.split(";"):
                if "=" in part:
                    key, value = part.split("=", 1)
                    result[key.strip()] = value.strip()
            return result
        ''',
    ),
    _sample(
        "scaled",
        '''
        def scaled(values, factor):
            """Return a copy of values with every element multiplied by factor."""
            return [_checked(v) * factor for v in values]
        ''',
    ),
    _sample(
        "file_digest",
        '''
        def file_digest(path, block_size=65536):
            """Return the SHA-256 hex digest of the file at path, read in blocks."""
            digest = hashlib.sha256()
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(block_size), b""):
                    digest.update(block)
            return digest.hexdigest()
        ''',
    ),
    _sample(
        "total",
        """
        function total(values) {
          let sum = 0;
          for (const v of values) sum += v;
          return sum;
        }
        """,
        language="javascript",
    ),
    _sample(
        "celsius",
        '''
        def celsius(fahrenheit):
            """Convert a temperature from degrees Fahrenheit to degrees Celsius."""
            return (fahrenheit - 32) * 5 / 9
        ''',
    ),
]


def seed_workspace(ws: Workspace, samples: list[Sample] | None = None) -> list[str]:
    """Insert `samples` (default: SAMPLES) and make them the coreset, in order; return the ids."""
    chosen = SAMPLES if samples is None else samples
    insert_samples(ws, chosen)
    ids = [s.id for s in chosen]
    with ws.write() as db:
        db.executemany(
            "INSERT INTO coreset(rank, sample_id, radius, model_key) VALUES (?, ?, ?, 'test')",
            [(rank, sample_id, 1.0 / (rank + 1)) for rank, sample_id in enumerate(ids)],
        )
    return ids


def test_samples_parse_and_have_their_docstring_removed() -> None:
    for s in SAMPLES:
        if s.language != "python":
            continue
        ast.parse(s.code)
        ast.parse(s.code_nodoc)
        assert s.docstring and s.docstring not in s.code_nodoc


def lexical_embed(texts: Sequence[str]) -> np.ndarray:
    """A small real embedding for tests: hashed bags of lower-cased word pieces (identifiers split
    on `_` and case), L2-normalised float32 rows. Texts sharing words are close."""
    dim = 512
    out = np.zeros((len(texts), dim), dtype=np.float32)
    for row, text in enumerate(texts):
        spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", text).replace("_", " ")
        for word in re.findall(r"[A-Za-z]{2,}", spaced):
            bucket = int(hashlib.md5(word.lower().encode()).hexdigest()[:8], 16) % dim
            out[row, bucket] += 1.0
        norm = float(np.linalg.norm(out[row]))
        if norm:
            out[row] /= norm
    return out
