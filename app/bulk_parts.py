"""Bulk decisions on the Review page: accept, reject or flag every instance of the current queue
(a filtered queue, the calibration sample, a selection from the map) with one reason and one
confirmation that shows the count, and take the last batch back in one undo.

Each instance gets its own review (or flag) row, all sharing one batch id
(`pipeline.store.audit.bulk_review`); the undo writes one undo row per row still in force
(`undo_batch`). The writes go through `app.data`."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import streamlit as st

from app import data
from app.text import plain

ACTIONS = ("accept", "reject", "flag")  # the verdicts, and FLAG (pipeline.store.audit)
_PAST = {"accept": "accepted", "reject": "rejected", "flag": "flagged"}


def _sure_key(queue_key: str, action: str, count: int) -> str:
    """The confirmation box's key: a new queue, action or count asks again."""
    digest = hashlib.sha256(f"{queue_key}|{action}|{count}".encode()).hexdigest()[:12]
    return f"rv_bulk_sure_{digest}"


def _apply(ids: list[str], action: str, reviewer: str, reason: str, sure_key: str) -> None:
    try:
        batch = data.bulk_decide(ids, action, reviewer, reason)
    except ValueError as e:
        st.toast(plain(str(e)), icon=":material/error:")
        return
    st.session_state[sure_key] = False
    st.session_state["rv_bulk_reason"] = ""
    st.toast(
        f"{_PAST[action].capitalize()} {len(set(ids)):,} instances (batch {batch}).",
        icon=":material/done_all:",
    )


def _undo(batch_id: str, reviewer: str) -> None:
    n = data.undo_batch(batch_id, reviewer)
    st.toast(f"Took back {n:,} rows of batch {batch_id}.", icon=":material/undo:")


def bulk_panel(queue: Sequence[str], what: str, queue_key: str, reviewer: str) -> None:
    """The panel (in the sidebar): `queue` the instance ids in the current queue, `what` names
    it ("this queue", "the selection from the map"), `queue_key` identifies it (the filter
    fingerprint), `reviewer` the name the rows carry."""
    count = len(dict.fromkeys(queue))
    with st.expander(f"Decide all {count:,} at once", icon=":material/done_all:"):
        action = str(
            st.segmented_control(
                "Action",
                ACTIONS,
                default="reject",
                required=True,
                key="rv_bulk_action",
                help="Flag marks instances for a second look; it is not a verdict.",
            )
            or "reject"
        )
        reason = st.text_input(
            "Reason for all",
            key="rv_bulk_reason",
            placeholder="Recorded on every row of the batch",
        ).strip()
        sure_key = _sure_key(queue_key, action, count)
        sure = st.checkbox(
            plain(f"Yes, {action} all {count:,} instances of {what}"),
            key=sure_key,
            disabled=not count,
        )
        missing = (
            "Type your name under Reviewer first."
            if not reviewer
            else "Give one reason for the whole batch."
            if not reason
            else ""
        )
        st.button(
            f"{action.capitalize()} {count:,} instances",
            key="rv_bulk_go",
            type="primary",
            icon=":material/done_all:",
            disabled=not (sure and count and reviewer and reason),
            on_click=_apply,
            args=(list(dict.fromkeys(queue)), action, reviewer, reason, sure_key),
            help=missing or None,
            width="stretch",
        )
        last = data.last_batch(reviewer) if reviewer else None
        if last is not None and last.in_force:
            st.caption(
                plain(
                    f"Your last batch: {last.action} × {last.in_force:,}"
                    + (f" — {last.reason}" if last.reason else "")
                )
            )
            st.button(
                "Undo last batch",
                key="rv_bulk_undo",
                icon=":material/undo:",
                on_click=_undo,
                args=(last.batch_id, reviewer),
                width="stretch",
            )
