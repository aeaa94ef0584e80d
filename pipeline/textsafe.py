"""Escaping input text before it reaches a terminal or a Markdown document.

Every input field (file names, languages, function names, code) is hostile: an ANSI escape
sequence printed raw drives the terminal, a newline in a file name forges a line of output, a `|`
breaks a Markdown table. This module is the bottom layer (it imports nothing from `pipeline`):

- `for_terminal(text)`: control characters (C0, DEL, C1, including ESC) and the Unicode line and
  bidirectional-override characters shown as visible escapes (`\\x1b`, `\\n`, `\\u202e`); a
  backslash is doubled so that an escape in the output always means an escape was made. By default
  the result is one line; `multiline=True` keeps newlines (and tabs) for multi-line contexts.
- `md_text(text)`: Markdown inline text: the characters Markdown or HTML give a meaning escaped
  with a backslash or as an entity, newlines made spaces.
- `md_cell(text)`: a Markdown table cell: `md_text` with `|` escaped too.
"""

from __future__ import annotations

import re

__all__ = ["for_terminal", "md_cell", "md_text"]

# C0 controls, DEL, C1 controls; line/paragraph separators; bidi embeddings, overrides, isolates
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\\\\]")
_UNSAFE_MULTILINE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\\\\]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def for_terminal(text: str, *, multiline: bool = False) -> str:
    """`text` safe to print: control and bidi characters (and `\\`) as visible escapes.

    One line unless `multiline` (then `\\n` and `\\t` pass through, `\\r` is still escaped, as it
    would overwrite the line already printed).
    """
    if text.isprintable() and "\\" not in text:
        return text  # the common case, fast (printable excludes every character escaped here)
    pattern = _UNSAFE_MULTILINE if multiline else _UNSAFE
    return pattern.sub(_escape, text)


# characters with a meaning in Markdown (CommonMark's ASCII punctuation that can start or end a
# construct) or HTML; escaped with a backslash, `<` `>` `&` as entities
_MD_SPECIAL = re.compile(r"[\\`*_{}\[\]()#+\-.!~|<>&]")
_ENTITIES = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\u2028\u2029]")


def _md_escape(match: re.Match[str]) -> str:
    char = match.group()
    return _ENTITIES.get(char) or "\\" + char


def md_text(text: str) -> str:
    """`text` as literal Markdown inline text: one line, no markup, no HTML, no control
    characters (those shown as `for_terminal` shows them)."""
    one_line = _LINE_BREAKS.sub(" ", text)
    visible = _UNSAFE.sub(lambda m: "\\" if m.group() == "\\" else _escape(m), one_line)
    return _MD_SPECIAL.sub(_md_escape, visible)


def md_cell(text: str) -> str:
    """`text` as the content of one Markdown table cell (`|` escaped, one line)."""
    return md_text(text)  # md_text escapes `|` already; kept apart for what the call site means
