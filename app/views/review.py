"""Review: a filtered queue, one instance at a time, beside its source and the judge's answers.

Accept (A), reject (X), previous and next (arrow keys), undo (U). Each decision appends one
review row (reviewer, time, verdict, flipped criteria, edited fields, reason); the latest decides.
Flips and edits in force are carried into the next decision, so the latest row is complete.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from app import data
from app.text import plain
from pipeline import review as rq
from pipeline.records import EDITABLE_FIELDS, VERDICT_BADGE, VERDICTS, Task, Verdict
from pipeline.store import queue as store_queue
from pipeline.store import reviews as store
from pipeline.store.flags import clear_flag, clearances_for, flags_for

QUEUE_KEY = "review_queue"  # {"key": filter fingerprint, "ids": [...], "cursor": int}
PIN_KEY = "review_pinned"  # an instance opened by link that is not in the queue
URL_KEY = "review_url_id"  # the id this session last wrote to the URL
FLASH_KEY = "review_flash"
IDS_KEY, IDS_LABEL_KEY = "review_ids", "review_ids_label"  # a selection sent from the map
FLAG_ANY, FLAG_ONLY, FLAG_NONE = "all", "flagged", "not flagged"

ws = data.workspace()
token = data.tokens(ws)
tasks, criteria_names = data.facets(ws, str(ws.root), token)
me = data.reviewer()


def _k(kind: str, iid: str, name: str = "") -> str:
    return f"rv_{kind}_{iid}_{name}"


# -- the queue ------------------------------------------------------------------------------
with st.sidebar:
    st.subheader("Queue", anchor=False)
    f_tasks = st.multiselect("Task", tasks, key="rv_tasks", persist_state="session")
    f_judge = st.pills(
        "Judge verdict",
        [*VERDICTS, rq.NOT_JUDGED],
        selection_mode="multi",
        key="rv_judge",
        persist_state="session",
    )
    f_human = st.selectbox(
        "Human status", list(rq.HumanStatus), key="rv_human", persist_state="session"
    )
    f_failed = st.selectbox(
        "Failed criterion",
        [None, rq.ANY_FAILED, *criteria_names],
        format_func=lambda v: "any or none" if v is None else str(v),
        key="rv_failed",
        persist_state="session",
    )
    f_disagree = st.selectbox(
        "Disagreement", list(rq.Disagreement), key="rv_disagree", persist_state="session"
    )
    f_flagged = st.segmented_control(
        "Benchmark flag",
        [FLAG_ANY, FLAG_ONLY, FLAG_NONE],
        default=FLAG_ANY,
        required=True,
        key="rv_flagged",
        persist_state="session",
    )
    f_sort = st.selectbox("Sort", list(rq.SortOrder), key="rv_sort", persist_state="session")
    refresh = st.button("Refresh queue", icon=":material/refresh:", width="stretch")

limit_ids: list[str] | None = st.session_state.get(IDS_KEY)
qfilter = rq.QueueFilter(
    tasks=frozenset(f_tasks),
    judge_verdicts=frozenset(f_judge or ()),
    human=rq.HumanStatus(f_human or rq.HumanStatus.ANY),
    failed_criterion=f_failed,
    disagreement=rq.Disagreement(f_disagree or rq.Disagreement.ANY),
    flagged={FLAG_ANY: None, FLAG_ONLY: True, FLAG_NONE: False}[str(f_flagged)],
    ids=None if limit_ids is None else frozenset(limit_ids),
)
order = rq.SortOrder(f_sort or rq.SortOrder.INGESTION)
fingerprint = repr((qfilter, order, me if order is rq.SortOrder.SHUFFLED else ""))
queue_state: dict[str, Any] | None = st.session_state.get(QUEUE_KEY)
if refresh or queue_state is None or queue_state["key"] != fingerprint:
    ids = rq.build_queue(store_queue.queue_rows(ws), qfilter, order, seed=me)
    keep = queue_state["ids"][queue_state["cursor"]] if queue_state and queue_state["ids"] else None
    cursor = ids.index(keep) if keep in ids else 0
    queue_state = {"key": fingerprint, "ids": ids, "cursor": cursor}
    st.session_state[QUEUE_KEY] = queue_state
queue: list[str] = queue_state["ids"]

# a deep link (?instance=ID) that this session did not write itself opens that instance
linked = st.query_params.get("instance")
if linked and linked != st.session_state.get(URL_KEY):
    if linked in queue:
        queue_state["cursor"] = queue.index(linked)
        st.session_state[PIN_KEY] = None
    else:
        st.session_state[PIN_KEY] = linked
pinned: str | None = st.session_state.get(PIN_KEY)
current: str | None = pinned or (queue[queue_state["cursor"]] if queue else None)


def _move(step: int) -> None:
    state = st.session_state[QUEUE_KEY]
    if st.session_state.get(PIN_KEY):
        st.session_state[PIN_KEY] = None
        if step > 0:
            return  # leaving a linked instance: back to where the queue was
    skip: set[str] = set()
    if rq.HumanStatus(st.session_state.get("rv_human", "any")) is rq.HumanStatus.UNREVIEWED:
        skip = store_queue.reviewed_instance_ids(data.workspace())  # finished by others meanwhile
    state["cursor"] = rq.move(state["ids"], state["cursor"], step, skip=skip)


def _decide(iid: str, verdict: str) -> None:
    who = data.reviewer()
    if not who:
        st.session_state[FLASH_KEY] = ("Type your name in the sidebar first.", ":material/person:")
        return
    w = data.workspace()
    detail = store_queue.instance_detail(w, iid)
    if detail is None:
        return
    latest = detail.latest
    view = {
        c.criterion: bool(st.session_state.get(_k("flip", iid, c.criterion), c.passed))
        for c in detail.criteria
    }
    original = {name: detail.field(name) for name in EDITABLE_FIELDS}
    carried = latest.edits if latest else {}
    edited = {
        name: str(st.session_state.get(_k("edit", iid, name), carried.get(name, text)))
        for name, text in original.items()
    }
    store.add_review(
        w,
        iid,
        who,
        verdict,
        flips=rq.changed_flips(detail.criteria, view),
        edits=rq.changed_edits(original, edited),
        reason=str(st.session_state.get(_k("reason", iid), "")).strip(),
    )
    icon = ":material/check:" if verdict == Verdict.ACCEPT else ":material/close:"
    st.session_state[FLASH_KEY] = (f"{verdict.capitalize()}ed {iid}", icon)
    _move(+1)


def _undo(iid: str) -> None:
    done = store.undo_review(data.workspace(), iid, data.reviewer())
    message = "Undid your latest review" if done else "Nothing of yours to undo here"
    st.session_state[FLASH_KEY] = (message, ":material/undo:")
    for key in [k for k in st.session_state if str(k).startswith("rv_") and iid in str(k)]:
        del st.session_state[key]


def _clear_ids() -> None:
    st.session_state[IDS_KEY] = None
    st.session_state[IDS_LABEL_KEY] = None


# -- the page -------------------------------------------------------------------------------
flash = st.session_state.pop(FLASH_KEY, None)
if flash:
    st.toast(flash[0], icon=flash[1])

st.title("Review", anchor=False)
if limit_ids is not None:
    with st.container(horizontal=True, vertical_alignment="center"):
        st.caption(f"Queue limited to the {st.session_state.get(IDS_LABEL_KEY) or 'selection'}.")
        st.button("Show every instance", on_click=_clear_ids, type="tertiary")
if not me:
    st.warning(
        "Type your name under Reviewer in the sidebar: every decision is recorded under it.",
        icon=":material/person:",
    )

reviewed = store_queue.reviewed_instance_ids(ws)
done, total = rq.progress(queue, reviewed)
position = f"instance {queue_state['cursor'] + 1:,} of {total:,}" if queue else "empty queue"
st.progress(done / total if total else 0.0, text=f"{done:,} of {total:,} reviewed · {position}")

detail = store_queue.instance_detail(ws, current) if current else None
if detail is None:
    st.info("No instance matches these filters.", icon=":material/filter_alt_off:")
    st.stop()
iid = detail.id
sample = detail.sample
if sample is None:  # cannot happen: an instance references its sample
    st.error(f"instance {iid} has no source sample")
    st.stop()
st.query_params["instance"] = iid
st.session_state[URL_KEY] = iid
latest = detail.latest
mine = store.latest_review(ws, iid, me) if me else None

with st.container(horizontal=True, vertical_alignment="center", key="rv_toolbar"):
    st.button(
        "Previous", icon=":material/arrow_back:", shortcut="Left", on_click=_move, args=(-1,),
        key="rv_prev",
    )  # fmt: skip
    st.button(
        "Next", icon=":material/arrow_forward:", shortcut="Right", on_click=_move, args=(1,),
        key="rv_next",
    )  # fmt: skip
    st.space("stretch")
    st.button(
        "Undo", icon=":material/undo:", shortcut="U", on_click=_undo, args=(iid,),
        disabled=mine is None, key="rv_undo", help="Cancel your latest review of this instance",
    )  # fmt: skip
    st.button(
        "Reject", icon=":material/close:", shortcut="X", on_click=_decide, args=(iid, Verdict.REJECT),
        disabled=not me, key="rv_reject",
    )  # fmt: skip
    st.button(
        "Accept", icon=":material/check:", shortcut="A", on_click=_decide, args=(iid, Verdict.ACCEPT),
        type="primary", disabled=not me, key="rv_accept",
    )  # fmt: skip

reason_key = _k("reason", iid)
st.text_input(
    "Reason",
    key=reason_key,
    placeholder="Why (optional): saved with your next decision",
    label_visibility="collapsed",
)

flags = flags_for(ws, iid)
cleared = clearances_for(ws, iid) if flags else []
with st.container(horizontal=True, vertical_alignment="center"):
    st.badge(detail.task, color="blue")
    st.badge(detail.language, color="gray")
    jv = detail.judgment.verdict if detail.judgment else None
    st.badge(
        f"judge: {jv or 'not judged'}",
        color=VERDICT_BADGE.get(jv or "", "gray"),
    )
    if latest is not None:
        st.badge(
            f"human: {latest.verdict} ({latest.reviewer})",
            color=VERDICT_BADGE.get(latest.verdict, "gray"),
            icon=":material/person:",
        )
    else:
        st.badge("human: not reviewed", color="gray", icon=":material/person:")
    if flags and not cleared:
        st.badge("benchmark overlap", color="orange", icon=":material/flag:")
    if pinned:
        st.badge("opened by link (not in this queue)", color="violet", icon=":material/link:")
    st.caption(f"`{iid}`")

if flags:
    flag_box = (
        st.expander("Benchmark overlap: cleared", icon=":material/flag:")
        if cleared
        else st.container(border=True, key="rv_flags")
    )
    with flag_box:
        if not cleared:
            st.markdown("**:orange[:material/flag:] Overlaps a benchmark item**")
        st.dataframe(
            pd.DataFrame(
                [(f.benchmark, f.item_id, f.signal, f.score) for f in flags],
                columns=["benchmark", "item", "signal", "score"],
            ),
            hide_index=True,
            alt="Benchmark items this instance overlaps",
        )
        for clearance in cleared:
            st.caption(
                plain(
                    f"Cleared by {clearance.reviewer} at {clearance.created_at[:19]}: "
                    f"{clearance.reason}"
                )
            )
        if not cleared:
            with (
                st.form("rv_clear_flag", border=False),
                st.container(horizontal=True, vertical_alignment="bottom"),
            ):
                why = st.text_input(
                    "Reason to clear", placeholder="Why this is not a leak, e.g. a common idiom"
                )
                if st.form_submit_button("Clear flag", icon=":material/flag:", disabled=not me):
                    try:
                        clear_flag(ws, iid, me, why)
                    except ValueError as e:
                        st.error(str(e))
                    else:
                        st.rerun()

src_col, gen_col, judge_col = st.columns([1.05, 1.05, 0.9], gap="medium")
with src_col:
    st.subheader("Source", anchor=False)
    st.caption(plain(f"{sample.func_name} · {sample.repo} {sample.path}:{sample.line}"))
    st.code(sample.code, language=detail.language.lower(), line_numbers=True, wrap_lines=True)
    st.caption("Docstring")
    st.text(sample.docstring or "(none)")

with gen_col:
    st.subheader("Generator", anchor=False)
    carried = latest.edits if latest else {}
    code_lang = (detail.target_language or detail.language).lower()
    for name in EDITABLE_FIELDS:
        text = carried.get(name, detail.field(name))
        label = name.capitalize() + (" (edited)" if name in carried else "")
        st.caption(label)
        if name == "instruction" or (name == "output" and detail.task == Task.SUMMARIZATION):
            with st.container(border=True):
                st.text(text or "(empty)")
        else:
            st.code(text or "(empty)", language=code_lang if name == "output" else None,
                    wrap_lines=True)  # fmt: skip
    with st.expander("Edit a field", icon=":material/edit:"):
        st.caption("Edits are saved with your next accept or reject.")
        for name in EDITABLE_FIELDS:
            key = _k("edit", iid, name)
            if key not in st.session_state:
                st.session_state[key] = carried.get(name, detail.field(name))
            st.text_area(name.capitalize(), key=key, height=120 if name != "instruction" else 80)

with judge_col:
    st.subheader("Discriminator", anchor=False)
    st.caption("Flip a criterion you disagree with; flips are saved with your next decision.")
    if not detail.criteria:
        st.info("Not judged yet.", icon=":material/gavel:")
    flips_in_force = latest.flips if latest else {}
    view: dict[str, bool] = {}
    for c in detail.criteria:
        key = _k("flip", iid, c.criterion)
        if key not in st.session_state:
            st.session_state[key] = bool(flips_in_force.get(c.criterion, c.passed))
        with st.container(border=True):
            with st.container(horizontal=True, vertical_alignment="center"):
                st.markdown(f"**{plain(c.criterion)}**")
                st.badge(
                    "pass" if c.passed else "fail", color="green" if c.passed else "red",
                    icon=":material/smart_toy:",
                )  # fmt: skip
                view[c.criterion] = st.toggle("Passes", key=key, help="Your view; flip to disagree")
            st.text(c.rationale)
    flips = rq.changed_flips(detail.criteria, view)
    if flips:
        computed = rq.criteria_verdict(detail.criteria, flips)
        st.caption(f"With your flips the criteria give **{computed}**.")

with st.expander(f"History ({len(detail.history)})", icon=":material/history:"):
    if not detail.history:
        st.caption("No review yet.")
    else:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "id": r.id,
                        "time": r.created_at,
                        "reviewer": r.reviewer,
                        "verdict": r.verdict if r.undoes is None else f"undo #{r.undoes}",
                        "flips": ", ".join(
                            f"{k}: {'pass' if v else 'fail'}" for k, v in r.flips.items()
                        ),
                        "edits": ", ".join(r.edits),
                        "reason": r.reason,
                    }
                    for r in detail.history
                ]
            ),
            hide_index=True,
            alt="Every review of this instance, oldest first",
        )
        if latest and latest.edits:
            st.caption("The Generator's text of edited fields")
            for name in latest.edits:
                st.code(detail.field(name), language=None, wrap_lines=True)
