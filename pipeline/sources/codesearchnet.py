"""CodeSearchNet files: `.jsonl`, `.jsonl.gz` and `.parquet`, in either field naming.

The original release names its fields `repo, path, func_name, original_string, language, code,
code_tokens, docstring, docstring_tokens, url, partition`; the Hugging Face copy names them
`repository_name, func_path_in_repository, func_name, whole_func_string, language,
func_code_string, func_code_tokens, func_documentation_string, func_documentation_tokens,
split_name, func_code_url`. The naming is recognised per file from its first record. Compression
and parquet are recognised by content (magic bytes), not by name.

In CodeSearchNet the code includes a Python function's docstring; `code_nodoc` removes it (through
`ast`, else by cutting the docstring text out where it appears verbatim). For the other languages
the doc comment sits outside the function, so `code_nodoc` is the code.

A bad line costs only itself: malformed JSON, bytes that are not UTF-8, a NUL byte, JSON nested too
deeply to decode, a line longer than `MAX_LINE_BYTES` are each reported with their line number.
A file whose first `PROBE_LINES` lines are all unreadable is not JSON Lines (a binary file under
a `.jsonl` name): it is reported once, as a file.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.records import Sample, Source
from pipeline.sources import IngestProblem, Item, Skipped
from pipeline.sources.guard import guard_file, problem_for
from pipeline.sources.pyast import strip_docstring

DATA_SUFFIXES = (".jsonl", ".jsonl.gz", ".parquet")
_GZIP_MAGIC = b"\x1f\x8b"
_PARQUET_MAGIC = b"PAR1"
_URL_LINE = re.compile(r"#L(\d+)")
_LANGUAGES = frozenset({"python", "java", "go", "php", "ruby", "javascript"})
MAX_LINE_BYTES = 8 << 20  # a longer line is skipped (read in pieces, never held whole)
MAX_PARSE_CHARS = 1 << 20  # longer code is not parsed to strip its docstring (text cut instead)
PROBE_LINES = 20  # this many unreadable lines before any good one: not a JSON Lines file


@dataclass(frozen=True)
class Naming:
    """Which record fields give each sample field: the first one present wins."""

    name: str
    code: tuple[str, ...]
    docstring: str
    optional: dict[str, str]  # sample field -> record field


ORIGINAL = Naming(
    name="original",
    code=("original_string", "code"),
    docstring="docstring",
    optional={
        "repo": "repo",
        "path": "path",
        "func_name": "func_name",
        "language": "language",
        "url": "url",
        "partition": "partition",
    },
)
HUGGING_FACE = Naming(
    name="hugging face",
    code=("whole_func_string", "func_code_string"),
    docstring="func_documentation_string",
    optional={
        "repo": "repository_name",
        "path": "func_path_in_repository",
        "func_name": "func_name",
        "language": "language",
        "url": "func_code_url",
        "partition": "split_name",
    },
)
_HF_ONLY = frozenset(
    {"repository_name", "func_path_in_repository", "whole_func_string", "func_code_string"}
    | {"func_documentation_string", "split_name", "func_code_url"}
)


def naming_of(record: dict[str, Any]) -> Naming:
    """The field naming a record uses: Hugging Face's when it has any of its own names."""
    return HUGGING_FACE if _HF_ONLY.intersection(record) else ORIGINAL


class RowError(ValueError):
    """A record that cannot become a sample: `reason` is the category, the message the detail."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def sample_from_record(
    record: Any, naming: Naming, default_language: str = "unknown"
) -> Sample | None:
    """The sample a CodeSearchNet record describes; None when its docstring is empty.

    Raises RowError for a record that is not an object, lacks the code or docstring field, or
    has a field of the wrong type.
    """
    if not isinstance(record, dict):
        raise RowError("malformed JSON", f"expected a JSON object, got {_kind(record)}")
    code_field = next((f for f in naming.code if f in record), None)
    if code_field is None:
        raise RowError("missing field", f"missing field {naming.code[-1]!r}")
    if naming.docstring not in record:
        raise RowError("missing field", f"missing field {naming.docstring!r}")
    values: dict[str, str] = {}
    for target, name in (
        ("code", code_field),
        ("docstring", naming.docstring),
        *naming.optional.items(),
    ):
        value = record.get(name)
        if value is None and target not in ("code", "docstring"):
            value = ""
        if not isinstance(value, str):
            raise RowError(
                "wrong field type", f"field {name!r} is {_kind(value)}, expected a string"
            )
        values[target] = value
    code, docstring = values["code"], values["docstring"]
    if not code.strip():
        raise RowError("missing field", f"field {code_field!r} is empty")
    if not docstring.strip():
        return None
    language = values["language"].strip().lower() or default_language
    return Sample(
        source=Source.CODESEARCHNET.value,
        language=language,
        repo=values["repo"],
        path=values["path"],
        func_name=values["func_name"],
        line=_url_line(values["url"]),
        docstring=docstring,
        code=code,
        code_nodoc=code_without_docstring(code, docstring, language),
        url=values["url"],
        partition=values["partition"],
    )


def code_without_docstring(code: str, docstring: str, language: str) -> str:
    """`code` without its docstring: for Python through `ast`, else (and when that fails) by
    cutting out the docstring text with its quotes or comment markers where it appears
    verbatim; `code` itself when the docstring is not in it."""
    if language == "python" and len(code) <= MAX_PARSE_CHARS:
        stripped = strip_docstring(code)
        if stripped is not None:
            return stripped
    i = code.find(docstring) if docstring.strip() else -1
    if i < 0:
        return code
    j = i + len(docstring)
    if language == "python":
        k = i
        while k > 0 and code[k - 1] in "\"'":
            k -= 1
        if k < i:
            while k > 0 and code[k - 1] in "rRuU":
                k -= 1
            i = k
            while j < len(code) and code[j] in "\"'":
                j += 1
    else:
        start, end = code.rfind("/*", 0, i), code.find("*/", j)
        if start >= 0 and end >= 0 and "*/" not in code[start:i]:
            i, j = start, end + 2
    out = code[:i] + code[j:]
    line_start = out.rfind("\n", 0, i) + 1
    line_end = out.find("\n", i)
    line_end = len(out) if line_end < 0 else line_end + 1
    if not out[line_start:line_end].strip():
        out = out[:line_start] + out[line_end:]
    return out


def data_files(folder: Path) -> list[Path]:
    """The `.jsonl`, `.jsonl.gz` and `.parquet` files under `folder`, sorted, hidden ones left
    out."""
    found: list[Path] = []
    for here, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [
            Path(here, f) for f in files if f.endswith(DATA_SUFFIXES) and not f.startswith(".")
        ]
    return sorted(found)


def iter_codesearchnet(paths: Iterable[Path | str]) -> Iterator[Item]:
    """Yield a `Sample` per usable record of the CodeSearchNet files and folders `paths`.

    Files named directly are read whatever their name; folders give their `data_files`.
    Records with an empty docstring are yielded as `Skipped`; bad lines (malformed JSON, not
    UTF-8, a missing field, a field of the wrong type) and bad files (missing, empty, binary,
    corrupt) as `IngestProblem` with the file and 1-based line (the row number for parquet).
    """
    for given in paths:
        path = Path(given)
        if not path.exists():
            yield IngestProblem(str(path), 0, "not found", "no such file or folder")
        elif path.is_dir():
            files = data_files(path)
            if not files:
                yield IngestProblem(
                    str(path), 0, "no data files", "no .jsonl, .jsonl.gz or .parquet files here"
                )
            for file in files:
                yield from guard_file(str(file), _iter_file(file))
        else:
            yield from guard_file(str(path), _iter_file(path))


def _iter_file(path: Path) -> Iterator[Item]:
    name = str(path)
    try:
        with path.open("rb") as f:
            magic = f.read(4)
    except OSError as e:
        yield IngestProblem(name, 0, "unreadable", f"cannot read: {e.strerror or e}")
        return
    if magic == _PARQUET_MAGIC:
        yield from _iter_parquet(path)
        return
    language = _language_from_name(path)
    gzipped = magic.startswith(_GZIP_MAGIC)
    naming: Naming | None = None
    lineno = 0
    empty = True
    read_one = False  # a line has been read as JSON: the file is JSON Lines
    held: list[IngestProblem] = []  # the problems of the first lines, until one line reads
    try:
        with gzip.open(path, "rb") if gzipped else path.open("rb") as f:
            for raw in _lines(f):
                lineno += 1
                if raw is not None and not raw.strip():
                    continue
                empty = False
                got = _line_record(name, lineno, raw)
                if not isinstance(got, IngestProblem):
                    record, escaped = got
                    if naming is None and isinstance(record, dict):
                        naming = naming_of(record)
                    if not read_one:
                        read_one = True
                        yield from held
                        held.clear()
                    yield _item(name, lineno, record, naming or ORIGINAL, language, escaped)
                elif read_one:
                    yield got
                else:
                    held.append(got)
                    if len(held) >= PROBE_LINES:
                        yield IngestProblem(
                            name, 0, "not JSON Lines", f"not a JSON Lines file: the first "
                            f"{PROBE_LINES} lines are unreadable (line {held[0].line}: {held[0].detail}); "
                            "skipped",
                        )  # fmt: skip
                        return
    except (OSError, EOFError, zlib.error) as e:
        yield from held
        reason = "corrupt gzip" if gzipped else "unreadable"
        yield IngestProblem(name, lineno + 1, reason, f"{reason} ({e}); rows before kept")
        return
    yield from held
    if empty:
        yield IngestProblem(name, 0, "empty file", "empty file")


def _lines(f: Any) -> Iterator[bytes | None]:
    """The lines of the binary file `f`; None for a line over `MAX_LINE_BYTES` (its bytes are
    read in pieces and dropped, so a huge line never sits in memory whole)."""
    while True:
        raw = f.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while True:
                rest = f.readline(1 << 20)
                if not rest or rest.endswith(b"\n"):
                    break
            yield None
        else:
            yield raw


def _line_record(name: str, lineno: int, raw: bytes | None) -> tuple[Any, bool] | IngestProblem:
    """(the decoded record, whether its text holds `\\u` escapes) for one line, or the problem
    that makes it unreadable."""
    if raw is None:
        return IngestProblem(
            name, lineno, "line too long", f"line longer than {MAX_LINE_BYTES:,} bytes, skipped"
        )
    nul = raw.find(b"\x00")
    if nul >= 0:
        return IngestProblem(
            name, lineno, "NUL byte", f"a NUL byte at column {nul + 1}, line skipped"
        )
    try:
        text = raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as e:
        byte = raw[e.start : e.start + 1].hex()
        return IngestProblem(
            name, lineno, "not UTF-8", f"not UTF-8 (byte 0x{byte} at column {e.start + 1})"
        )
    try:
        record = json.loads(text)
    except json.JSONDecodeError as e:
        return IngestProblem(
            name, lineno, "malformed JSON", f"malformed JSON ({e.msg} at column {e.colno})"
        )
    except (RecursionError, MemoryError) as e:
        return problem_for(name, lineno, e, "line")
    return record, "\\u" in text


def _iter_parquet(path: Path) -> Iterator[Item]:
    name = str(path)
    try:
        import pyarrow.parquet as pq
    except ImportError:
        yield IngestProblem(name, 0, "unsupported file", "reading parquet needs pyarrow")
        return
    language = _language_from_name(path)
    row = 0
    try:
        parquet = pq.ParquetFile(path)
        naming = naming_of(dict.fromkeys(parquet.schema_arrow.names))
        for batch in parquet.iter_batches(batch_size=2048):
            for record in batch.to_pylist():
                row += 1
                yield _item(name, row, record, naming, language, True)
    except (OSError, ValueError) as e:  # pyarrow's errors derive from these
        yield IngestProblem(name, row + 1, "corrupt parquet", f"corrupt parquet ({e})")
        return
    if row == 0:
        yield IngestProblem(name, 0, "empty file", "empty file (no rows)")


def _item(name: str, line: int, record: Any, naming: Naming, language: str, check: bool) -> Item:
    try:
        sample = sample_from_record(record, naming, language)
    except RowError as e:
        return IngestProblem(name, line, e.reason, str(e))
    except Exception as e:  # anything else about one record costs only that record
        return problem_for(name, line, e, "record")
    if sample is None:
        return Skipped("no docstring")
    if check and not _encodable(sample):
        return IngestProblem(name, line, "not UTF-8", "invalid Unicode (a lone surrogate)")
    return sample


def _encodable(sample: Sample) -> bool:
    """Whether every text field encodes as UTF-8 (JSON `\\ud800` escapes give lone surrogates)."""
    try:
        for text in (
            *(sample.code, sample.docstring, sample.repo, sample.path, sample.func_name),
            *(sample.language, sample.url, sample.partition),
        ):
            text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _language_from_name(path: Path) -> str:
    """CodeSearchNet files are named `python_train_0.jsonl.gz`: the language a record without
    one gets."""
    first = path.name.split("_", 1)[0].split(".", 1)[0].lower()
    return first if first in _LANGUAGES else "unknown"


def _url_line(url: str) -> int:
    """The first line a GitHub blob URL points at (`...py#L12-L30` -> 12), 0 when none."""
    match = _URL_LINE.search(url)
    return int(match.group(1)) if match else 0


def _kind(value: Any) -> str:
    """A JSON-ish name for the type of `value`."""
    if value is None:
        return "null"
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        list: "a list",
        dict: "an object",
        str: "a string",
    }.get(type(value), type(value).__name__)
