"""Pieces of the Review page: the instance's fields, diffs for repairs, the judge's criteria.

Everything shown here is untrusted text: code goes through `st.code`, prose through `st.text`,
names through `plain`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from typing import Literal

import streamlit as st

from app.text import plain
from pipeline.records import CriterionAnswer, Execution

LINE_PX = 21  # one line of st.code
FRAME_PX = 34  # st.code's padding
CODE_LINES = {"input": 9, "output": 12, "source": 30}  # lines shown before a block scrolls


def code_block(text: str, language: str | None, lines: int) -> None:
    """`text` as code that scrolls sideways (never wraps), at most `lines` lines high."""
    n = max(1, text.count("\n") + 1)
    height = None if n <= lines else lines * LINE_PX + FRAME_PX
    st.code(text or "(empty)", language=language, wrap_lines=False, height=height)


def docstring_shown_in(docstring: str, code: str) -> bool:
    """True when the code already shows the docstring (its first line appears in the code), so
    the page shows it once."""
    first = next((line.strip() for line in docstring.splitlines() if line.strip()), "")
    return not first or first in code


def unified_diff(before: str, after: str, a: str, b: str, context: int = 2) -> str:
    """A unified diff of two texts (empty when they are equal)."""
    lines = difflib.unified_diff(
        before.splitlines(), after.splitlines(), fromfile=a, tofile=b, n=context, lineterm=""
    )
    return "\n".join(lines)


def diff_block(before: str, after: str, a: str, b: str, lines: int) -> None:
    """The diff of `before` to `after`, or a note when they are the same."""
    diff = unified_diff(before, after, a, b)
    if diff:
        code_block(diff, "diff", lines)
    else:
        st.caption(plain(f"{b} is the same as {a}."))


def ordered_criteria(
    criteria: Sequence[CriterionAnswer], view: dict[str, bool]
) -> list[CriterionAnswer]:
    """Failed criteria first (as the reviewer sees them now, else as the judge answered), each
    group in the judge's order."""
    return sorted(criteria, key=lambda c: bool(view.get(c.criterion, c.passed)))


def criterion_card(
    c: CriterionAnswer, key: str, on_change: Callable[[], None], box_key: str | None = None
) -> bool:
    """One criterion: name, the judge's answer, the reviewer's toggle, the rationale. Returns
    the reviewer's view (passes). `box_key`: the card's container key (for the browser tests)."""
    with st.container(border=True, key=box_key):
        with st.container(horizontal=True, vertical_alignment="center"):
            st.markdown(f"**{plain(c.criterion)}**")
            st.badge(
                "pass" if c.passed else "fail", color="green" if c.passed else "red",
                icon=":material/smart_toy:",
            )  # fmt: skip
            st.space("stretch")
            passes = st.toggle(
                "Passes", key=key, help="Your view; flip to disagree", on_change=on_change
            )
        st.text(c.rationale)
    return bool(passes)


BadgeColor = Literal["green", "red", "orange", "gray"]
EXECUTION_BADGE: dict[str, tuple[BadgeColor, str, str]] = {
    "pass": ("green", ":material/check:", "execution: pass"),
    "fail": ("red", ":material/close:", "execution: fail"),
    "inconclusive": ("orange", ":material/help:", "execution: inconclusive"),
    "not_applicable": ("gray", ":material/remove:", "execution: not applicable"),
}


def execution_panel(ex: Execution | None, judge_verdict: str | None) -> None:
    """The execution evidence beside the judge: a badge, what was found, and (folded) the inputs
    tried with expected vs got for the failing one. Says so when verify has not run."""
    if ex is None:
        st.caption("Execution: not verified yet (`wavecurate verify`).")
        return
    fallback: tuple[BadgeColor, str, str] = ("gray", ":material/help:", ex.verdict)
    color, icon, label = EXECUTION_BADGE.get(ex.verdict, fallback)
    contradicts = (judge_verdict == "accept" and ex.verdict == "fail") or (
        judge_verdict == "reject" and ex.verdict == "pass"
    )
    st.badge(label + (" · contradicts the judge" if contradicts else ""), icon=icon, color=color)
    st.text(ex.detail)
    if ex.failing_input is not None:
        st.caption("Failing input")
        st.code(ex.failing_input, language="python", wrap_lines=False)
        st.caption("Expected (the reference) vs got (the output)")
        st.code(f"expected: {ex.expected}\ngot:      {ex.got}", language=None, wrap_lines=False)
    if ex.inputs:
        with st.expander(f"Inputs tried ({len(ex.inputs)}, {ex.agreed} agreed)"):
            st.code("\n".join(ex.inputs), language="python", wrap_lines=False)
