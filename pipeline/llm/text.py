"""Small text measures shared by the rule checks and the offline provider."""

from __future__ import annotations

import re

_CODE_SPAN = re.compile(r"`[^`]*`")
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "vs.", "cf.", "approx.", "resp.", "incl.")
_TERMINATOR = re.compile(r"[.!?]+(?=\s|$)")


def _prose(text: str) -> str:
    """`text` without inline code spans and common abbreviations (they hold dots)."""
    prose = _CODE_SPAN.sub("CODE", text)
    for abbreviation in _ABBREVIATIONS:
        prose = re.sub(re.escape(abbreviation), "ABBR", prose, flags=re.IGNORECASE)
    return " ".join(prose.split())


def count_sentences(text: str) -> int:
    """Sentences in `text`: terminators followed by a space or the end, plus an unterminated tail.

    Dots inside inline code (`os.path`), numbers (3.14) and abbreviations (e.g.) do not count.
    """
    prose = _prose(text)
    if not prose:
        return 0
    count = len(_TERMINATOR.findall(prose))
    return count if prose.endswith((".", "!", "?")) else count + 1


def first_sentence(text: str) -> str:
    """The first sentence of the first paragraph of `text`, whitespace collapsed, without its
    final period (empty when the text is empty)."""
    paragraph = text.strip().split("\n\n", 1)[0]
    flat = " ".join(paragraph.split())
    if not flat:
        return ""
    masked = _CODE_SPAN.sub(lambda m: "x" * len(m.group(0)), flat)
    for abbreviation in _ABBREVIATIONS:
        masked = re.sub(
            re.escape(abbreviation), lambda m: "x" * len(m.group(0)), masked, flags=re.IGNORECASE
        )
    match = _TERMINATOR.search(masked)
    sentence = flat[: match.start()] if match else flat
    return sentence.strip().rstrip(":;,")


def normalise_space(text: str) -> str:
    """`text` with every whitespace run collapsed to one space."""
    return " ".join(text.split())
