"""Showing text that is not ours: code, docstrings and model output stay text, never markup."""

from __future__ import annotations

import re

_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&])")


def plain(text: str) -> str:
    """`text` escaped for Streamlit Markdown (captions, labels): every character shows as is."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", text)


def short(text: str, limit: int = 80) -> str:
    """The first line of `text`, cut to `limit` characters with an ellipsis."""
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"
