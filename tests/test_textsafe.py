"""Escaping input text for a terminal and for Markdown: table tests over hostile values."""

from __future__ import annotations

import pytest

from pipeline.textsafe import for_terminal, md_cell, md_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain.py", "plain.py"),
        ("ünïcode/名前.py", "ünïcode/名前.py"),
        ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
        ("a\nb.py: forged problem", "a\\nb.py: forged problem"),
        ("a\rb", "a\\rb"),
        ("tab\there", "tab\\there"),
        ("nul\x00", "nul\\x00"),
        ("del\x7f", "del\\x7f"),
        ("c1\x9b31m", "c1\\x9b31m"),  # the 8-bit CSI
        ("evil\u202etxt.py", "evil\\u202etxt.py"),  # right-to-left override
        ("line\u2028sep", "line\\u2028sep"),
        ("back\\slash", "back\\\\slash"),  # an escape in the output always means one was made
        ("", ""),
    ],
)
def test_for_terminal(text: str, expected: str) -> None:
    assert for_terminal(text) == expected
    assert "\n" not in for_terminal(text) and "\x1b" not in for_terminal(text)


def test_for_terminal_multiline_keeps_newlines_and_tabs_only() -> None:
    assert for_terminal("a\n\tb\r\x1b[2J", multiline=True) == "a\n\tb\\r\\x1b[2J"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "plain"),
        ("a|b", "a\\|b"),
        ("`code`", "\\`code\\`"),
        ("<script>alert(1)</script>", "&lt;script&gt;alert\\(1\\)&lt;/script&gt;"),
        ("two\nlines", "two lines"),
        ("crlf\r\nline", "crlf line"),
        ("**bold** _it_", "\\*\\*bold\\*\\* \\_it\\_"),
        ("[link](http://x)", "\\[link\\]\\(http://x\\)"),
        ("# heading", "\\# heading"),
        ("&amp;", "&amp;amp;"),
        ("\x1b[31m", "\\\\x1b\\[31m"),
        ("back\\slash", "back\\\\slash"),
    ],
)
def test_md_cell(text: str, expected: str) -> None:
    assert md_cell(text) == expected
    assert md_text(text) == expected


def test_md_cell_never_splits_a_table_row() -> None:
    hostile = "x | y\n| --- |\n<img src=x onerror=alert(1)>`\x1b[2J"
    cell = md_cell(hostile)
    unescaped_pipes = [i for i, c in enumerate(cell) if c == "|" and cell[i - 1] != "\\"]
    assert unescaped_pipes == [] and "\n" not in cell and "<" not in cell and "\x1b" not in cell
