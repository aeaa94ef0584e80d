"""The CodeSearchNet source on real files in both field namings, plain, gzipped and parquet."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.sources import collect
from pipeline.sources.codesearchnet import code_without_docstring, iter_codesearchnet

PY_CODE = (
    "def train(train_dir, n_neighbors=None):\n"
    '    """\n'
    "    Trains a k-nearest neighbors classifier.\n"
    "\n"
    "    :param train_dir: directory\n"
    '    """\n'
    "    X = []\n"
    "    return X"
)
PY_DOC = "Trains a k-nearest neighbors classifier.\n\n    :param train_dir: directory"
JAVA_CODE = "public int size() {\n        return count;\n    }"


def original(i: int, **over: Any) -> dict[str, Any]:
    """A record in the original CodeSearchNet field names."""
    row: dict[str, Any] = {
        "repo": "ageitgey/face_recognition",
        "path": "examples/knn.py",
        "func_name": f"train{i}",
        "original_string": PY_CODE.replace("train(", f"train{i}("),
        "language": "python",
        "code": PY_CODE.replace("train(", f"train{i}("),
        "code_tokens": ["def", f"train{i}"],
        "docstring": PY_DOC,
        "docstring_tokens": ["Trains"],
        "sha": "c96b010c",
        "url": f"https://github.com/ageitgey/face_recognition/blob/c96b/examples/knn.py#L{46 + i}-L95",
        "partition": "train",
    }
    row.update(over)
    return row


def hugging_face(i: int) -> dict[str, Any]:
    """A record in the Hugging Face `code_search_net` field names."""
    return {
        "repository_name": "apache/commons",
        "func_path_in_repository": "src/Bag.java",
        "func_name": f"Bag.size{i}",
        "whole_func_string": JAVA_CODE.replace("size(", f"size{i}("),
        "language": "java",
        "func_code_string": JAVA_CODE.replace("size(", f"size{i}("),
        "func_code_tokens": ["public"],
        "func_documentation_string": "Returns the number of items.",
        "func_documentation_tokens": ["Returns"],
        "split_name": "test",
        "func_code_url": f"https://github.com/apache/commons/blob/abc/src/Bag.java#L{10 + i}-L12",
    }


def jsonl(rows: list[Any]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def test_original_naming_plain_and_gzipped(tmp_path: Path) -> None:
    plain = tmp_path / "python_train_0.jsonl"
    plain.write_bytes(jsonl([original(0), original(1)]))
    packed = tmp_path / "python_valid_0.jsonl.gz"
    packed.write_bytes(gzip.compress(jsonl([original(2)])))
    samples, tally = collect(iter_codesearchnet([plain, packed]))
    assert tally.problems == [] and tally.read == 3
    assert [s.func_name for s in samples] == ["train0", "train1", "train2"]
    s = samples[0]
    assert (s.source, s.language, s.repo, s.path, s.partition) == (
        "codesearchnet", "python", "ageitgey/face_recognition", "examples/knn.py", "train",
    )  # fmt: skip
    assert s.line == 46
    assert s.url.endswith("#L46-L95")
    assert (s.docstring, s.code) == (PY_DOC, original(0)["original_string"])
    assert s.code_nodoc == "def train0(train_dir, n_neighbors=None):\n    X = []\n    return X"


def test_hugging_face_naming_jsonl_and_parquet(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    lines = tmp_path / "java.jsonl"
    lines.write_bytes(jsonl([hugging_face(0)]))
    table = tmp_path / "test-00000-of-00001.parquet"
    pq.write_table(pa.Table.from_pylist([hugging_face(1), hugging_face(2)]), table)
    samples, tally = collect(iter_codesearchnet([lines, table]))
    assert tally.problems == []
    assert [(s.func_name, s.line, s.partition) for s in samples] == [
        ("Bag.size0", 10, "test"),
        ("Bag.size1", 11, "test"),
        ("Bag.size2", 12, "test"),
    ]
    s = samples[0]
    assert (s.language, s.repo, s.path) == ("java", "apache/commons", "src/Bag.java")
    assert s.docstring == "Returns the number of items."
    assert s.code == s.code_nodoc == JAVA_CODE.replace("size(", "size0(")


def test_bad_lines_are_reported_and_good_rows_kept(tmp_path: Path) -> None:
    path = tmp_path / "python_train_1.jsonl.gz"
    no_code = original(9)
    del no_code["original_string"], no_code["code"]
    lines = [
        json.dumps(original(0)).encode(),  # 1: good
        b'{"repo": "x", "code": ',  # 2: cut short
        b"[1, 2]",  # 3: not an object
        json.dumps(no_code).encode(),  # 4
        json.dumps(original(5, docstring=42)).encode(),  # 5
        json.dumps(original(6)).encode().replace(b"Trains", b"Tr\xffins"),  # 6
        json.dumps(original(7, docstring="  ")).encode(),  # 7: empty docstring, passed over
        b"",  # 8: blank lines are fine
        json.dumps(original(9, path=None)).encode(),  # 9: good, a null optional field
        json.dumps(original(10, func_name=["a"])).encode(),  # 10
        json.dumps(original(11, docstring="bad \ud800 text")).encode(),  # 11
        json.dumps(original(12)).encode(),  # 12: good
    ]
    path.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    samples, tally = collect(iter_codesearchnet([path]))
    column = lines[5].index(b"\xff") + 1
    assert [p.message for p in tally.problems] == [
        f"{path}:2: malformed JSON (Expecting value at column 23)",
        f"{path}:3: expected a JSON object, got a list",
        f"{path}:4: missing field 'code'",
        f"{path}:5: field 'docstring' is a number, expected a string",
        f"{path}:6: not UTF-8 (byte 0xff at column {column})",
        f"{path}:10: field 'func_name' is a list, expected a string",
        f"{path}:11: invalid Unicode (a lone surrogate)",
    ]
    assert dict(tally.skipped) == {
        "malformed JSON": 2,
        "missing field": 1,
        "wrong field type": 2,
        "not UTF-8": 2,
    }
    assert dict(tally.passed_over) == {"no docstring": 1}
    assert [s.func_name for s in samples] == ["train0", "train9", "train12"]
    assert samples[1].path == ""


def test_hugging_face_missing_fields_name_its_fields(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    row = hugging_face(0)
    broken = {k: v for k, v in row.items() if k != "func_documentation_string"}
    path.write_bytes(jsonl([row, broken, {**row, "whole_func_string": ""}]))
    samples, tally = collect(iter_codesearchnet([path]))
    assert [p.message for p in tally.problems] == [
        f"{path}:2: missing field 'func_documentation_string'",
        f"{path}:3: field 'whole_func_string' is empty",
    ]
    assert len(samples) == 1


def test_bad_files(tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_bytes(b"")
    (tmp_path / "blank.jsonl").write_bytes(b"\n\n")
    (tmp_path / "image.jsonl").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40)
    (tmp_path / "nodata").mkdir()
    (tmp_path / "nodata" / "readme.md").write_text("nothing\n")
    data = gzip.compress(jsonl([original(i) for i in range(2000)]))
    (tmp_path / "cut.jsonl.gz").write_bytes(data[: len(data) // 2])
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 this is not parquet PAR1")
    names = ["empty.jsonl", "blank.jsonl", "image.jsonl", "nodata", "missing.jsonl"]
    names += ["cut.jsonl.gz", "broken.parquet"]
    samples, tally = collect(iter_codesearchnet([tmp_path / n for n in names]))
    messages = [p.message for p in tally.problems]
    assert messages[:5] == [
        f"{tmp_path}/empty.jsonl: empty file",
        f"{tmp_path}/blank.jsonl: empty file",
        f"{tmp_path}/image.jsonl: not a JSON Lines file: the first 20 lines are unreadable "
        "(line 1: not UTF-8 (byte 0x89 at column 1)); skipped",
        f"{tmp_path}/nodata: no .jsonl, .jsonl.gz or .parquet files here",
        f"{tmp_path}/missing.jsonl: no such file or folder",
    ]
    kept = len(samples)
    assert 0 < kept < 2000
    assert messages[5] == (
        f"{tmp_path}/cut.jsonl.gz:{kept + 1}: corrupt gzip (Compressed file ended before the "
        "end-of-stream marker was reached); rows before kept"
    )
    assert messages[6].startswith(f"{tmp_path}/broken.parquet:1: corrupt parquet (")
    assert tally.skipped["corrupt gzip"] == 1


def test_a_folder_means_every_data_file_under_it(tmp_path: Path) -> None:
    (tmp_path / "python" / "final" / "jsonl" / "train").mkdir(parents=True)
    (tmp_path / "python" / "final" / "jsonl" / "train" / "python_train_0.jsonl.gz").write_bytes(
        gzip.compress(jsonl([original(0)]))
    )
    (tmp_path / "python" / "other.jsonl").write_bytes(jsonl([original(1)]))
    (tmp_path / "python" / "notes.txt").write_text("not data\n")
    (tmp_path / ".cache").mkdir()
    (tmp_path / ".cache" / "x.jsonl").write_bytes(jsonl([original(2)]))
    samples, tally = collect(iter_codesearchnet([tmp_path]))
    assert sorted(s.func_name for s in samples) == ["train0", "train1"]
    assert tally.problems == []


def test_language_from_the_file_name_when_a_record_has_none(tmp_path: Path) -> None:
    path = tmp_path / "go_test_0.jsonl"
    row = original(0, language=None, original_string="func F() {}", code="func F() {}")
    path.write_bytes(jsonl([row]))
    samples, _ = collect(iter_codesearchnet([path]))
    assert samples[0].language == "go"


@pytest.mark.parametrize(
    ("code", "docstring", "language", "expected"),
    [
        # Python 2 code does not parse: the docstring text is cut out with its quotes and line
        (
            'def f():\n    """Says hi."""\n    print "hi"',
            "Says hi.",
            "python",
            'def f():\n    print "hi"',
        ),
        (  # a raw docstring
            "def f():\n    r'''Doc\\d.'''\n    print 1",
            "Doc\\d.",
            "python",
            "def f():\n    print 1",
        ),
        (  # a doc comment inside the code of another language
            "/** Returns one. */\nint one() { return 1; }",
            "Returns one.",
            "java",
            "int one() { return 1; }",
        ),
        ("int one() { return 1; }", "Returns one.", "java", "int one() { return 1; }"),
        ('def f():\n    """Doc."""\n    return 1', "Not there", "python", "def f():\n    return 1"),
    ],
)
def test_code_without_docstring(code: str, docstring: str, language: str, expected: str) -> None:
    assert code_without_docstring(code, docstring, language) == expected
