"""Review: a filtered queue, one instance at a time on one screen, beside the judge's answers.

Accept (A), reject (X), previous and next (arrow keys), undo (U). Each decision appends one
review row (reviewer, time, verdict, flipped criteria, edited fields, reason); the latest decides.
Flips, edits and the reason are kept as a draft in the workspace (per instance and reviewer)
until a decision records them or the reviewer discards them. U undoes this reviewer's latest
decision of the session wherever the queue stands; U again undoes the one before.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from app import audit_parts, bulk_parts, data, state
from app.review_parts import (
    CODE_LINES,
    code_block,
    criterion_card,
    diff_block,
    docstring_shown_in,
    execution_panel,
    ordered_criteria,
)
from app.text import plain
from pipeline import review as rq
from pipeline.records import (
    EDITABLE_FIELDS,
    VERDICT_BADGE,
    VERDICTS,
    Instance,
    InstanceStatus,
    Task,
    Verdict,
)

QUEUE_KEY = "review_queue"  # {"key": fingerprint, "ids": [...], "cursor": int, "order": ...}
PIN_KEY = "review_pinned"  # an instance opened by link that is not in the queue
URL_KEY = "review_url_id"  # the id this session last wrote to the URL
FLASH_KEY = "review_flash"
IDS_KEY, IDS_LABEL_KEY = state.REVIEW_IDS, state.REVIEW_IDS_LABEL  # a selection from the map
FLAG_ANY, FLAG_ONLY, FLAG_NONE = "all", "flagged", "not flagged"

data.workspace()  # stops the page with a message when no workspace is open
tasks, criteria_names = data.facets()
me = data.reviewer()
st.session_state.setdefault(state.UNDO_STACK, [])


def _k(kind: str, iid: str, name: str = "") -> str:
    return f"rv_{kind}_{iid}_{name}"


# -- the queue ------------------------------------------------------------------------------
with st.sidebar:
    st.subheader("Queue", anchor=False)
    # the Agreement page may have chosen the source (after a draw): no `default=` to clash with it
    st.session_state.setdefault(state.REVIEW_SOURCE, rq.QueueSource.ALL.value)
    f_source = st.segmented_control(
        "Source",
        list(rq.QueueSource),
        required=True,
        key=state.REVIEW_SOURCE,
        persist_state="session",
        help="The calibration sample: instances drawn at random (Agreement page, or "
        "wavecurate audit sample) whose reviews estimate how many accepts are wrong; reviewed "
        "in draw order. The filters below apply to either source.",
    )
    source = rq.QueueSource(f_source or rq.QueueSource.ALL)
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
    f_sort = st.selectbox(
        "Sort",
        list(rq.SortOrder),
        key="rv_sort",
        persist_state="session",
        disabled=source is rq.QueueSource.CALIBRATION,
        help="The calibration sample is always in draw order. Most likely wrong first: the "
        "audit's risk ranking of unreviewed instances (reviewed ones and calibration draws "
        "after).",
    )
    refresh = st.button("Refresh queue", icon=":material/refresh:", width="stretch")

# a selection from the map limits the whole queue, not the calibration sample
limit_ids: list[str] | None = (
    st.session_state.get(IDS_KEY) if source is rq.QueueSource.ALL else None
)
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
fingerprint = repr((source, qfilter, order, me if order is rq.SortOrder.SHUFFLED else ""))
queue_state: dict[str, Any] | None = st.session_state.get(QUEUE_KEY)
if refresh or queue_state is None or queue_state["key"] != fingerprint:
    if source is rq.QueueSource.CALIBRATION:
        ids = data.calibration_queue(qfilter)
    else:
        ids = data.queue(qfilter, order, seed=me)
    keep = queue_state["ids"][queue_state["cursor"]] if queue_state and queue_state["ids"] else None
    # a new filter keeps your place; a new source or order starts at its top
    if queue_state and queue_state.get("order") != (source, order):
        keep = None
    cursor = ids.index(keep) if keep in ids else 0
    queue_state = {"key": fingerprint, "ids": ids, "cursor": cursor, "order": (source, order)}
    st.session_state[QUEUE_KEY] = queue_state
queue: list[str] = queue_state["ids"]
with st.sidebar:
    bulk_parts.bulk_panel(
        queue,
        f"the {st.session_state.get(IDS_LABEL_KEY) or 'selection from the map'}"
        if limit_ids is not None
        else "the calibration sample"
        if source is rq.QueueSource.CALIBRATION
        else "this queue",
        fingerprint,
        me,
    )

# a deep link (?instance=ID) that this session did not write itself opens that instance
linked = st.query_params.get(state.QUERY_INSTANCE)
if linked and linked != st.session_state.get(URL_KEY):
    if linked in queue:
        queue_state["cursor"] = queue.index(linked)
        st.session_state[PIN_KEY] = None
    else:
        st.session_state[PIN_KEY] = linked
pinned: str | None = st.session_state.get(PIN_KEY)
current: str | None = pinned or (queue[queue_state["cursor"]] if queue else None)


def _open(iid: str) -> None:
    """Show `iid`: its place in the queue, else pinned beside the queue."""
    q = st.session_state[QUEUE_KEY]
    if iid in q["ids"]:
        q["cursor"] = q["ids"].index(iid)
        st.session_state[PIN_KEY] = None
    else:
        st.session_state[PIN_KEY] = iid


def _move(step: int) -> None:
    q = st.session_state[QUEUE_KEY]
    if st.session_state.get(PIN_KEY):
        st.session_state[PIN_KEY] = None
        if step > 0:
            return  # leaving a linked instance: back to where the queue was
    skip: set[str] = set()
    if rq.HumanStatus(st.session_state.get("rv_human", "any")) is rq.HumanStatus.UNREVIEWED:
        skip = data.reviewed_ids()  # finished by others meanwhile
    q["cursor"] = rq.move(q["ids"], q["cursor"], step, skip=skip)


def _forget(iid: str) -> None:
    """Drop the widgets' state of `iid`, so the page shows it afresh from the workspace."""
    for key in [k for k in st.session_state if str(k).startswith("rv_") and f"_{iid}_" in k]:
        del st.session_state[key]


def _view(detail: Instance) -> tuple[dict[str, bool], dict[str, str], str]:
    """The reviewer's flips and edits (what a decision would record) and reason, from the
    widgets' state."""
    iid = detail.id
    latest = detail.latest
    carried_flips = latest.flips if latest else {}
    carried_edits = latest.edits if latest else {}
    view = {
        c.criterion: bool(st.session_state.get(_k("flip", iid, c.criterion), carried_flips.get(c.criterion, c.passed)))
        for c in detail.criteria
    }  # fmt: skip
    original = {name: detail.field(name) for name in EDITABLE_FIELDS}
    edited = {
        name: str(st.session_state.get(_k("edit", iid, name), carried_edits.get(name, text)))
        for name, text in original.items()
    }
    reason = str(st.session_state.get(_k("reason", iid), "")).strip()
    return rq.changed_flips(detail.criteria, view), rq.changed_edits(original, edited), reason


def _save_draft(iid: str) -> None:
    """Keep the reviewer's flips, edits and reason in the workspace (a draft), or drop the draft
    when they match the decision in force and there is no reason."""
    who = data.reviewer()
    detail = data.instance(iid)
    if not who or detail is None:
        return
    flips, edits, reason = _view(detail)
    latest = detail.latest
    in_force = (latest.flips, latest.edits) if latest else ({}, {})
    if (flips, edits) == in_force and not reason:
        data.discard_draft(iid, who)
    else:
        data.save_draft(iid, who, flips=flips, edits=edits, reason=reason)


def _discard_draft(iid: str) -> None:
    data.discard_draft(iid, data.reviewer())
    _forget(iid)
    st.session_state[FLASH_KEY] = ("Draft discarded", ":material/delete:")


def _decide(iid: str, verdict: Verdict) -> None:
    who = data.reviewer()
    if not who:
        st.session_state[FLASH_KEY] = ("Type your name in the sidebar first.", ":material/person:")
        return
    detail = data.instance(iid)
    if detail is None or detail.status != InstanceStatus.OK:
        return
    flips, edits, reason = _view(detail)
    data.decide(iid, who, verdict, flips=flips, edits=edits, reason=reason)
    st.session_state[state.UNDO_STACK].append({"id": iid, "verdict": verdict, "who": who})
    _forget(iid)
    icon = ":material/check:" if verdict == Verdict.ACCEPT else ":material/close:"
    st.session_state[FLASH_KEY] = (f"{verdict.capitalize()}ed {iid}", icon)
    _move(+1)


def _my_undo_stack() -> list[dict[str, str]]:
    return [d for d in st.session_state[state.UNDO_STACK] if d["who"] == data.reviewer()]


def _undo() -> None:
    """Undo this reviewer's latest decision of the session, wherever the queue stands, and open
    the instance it undid."""
    stack: list[dict[str, str]] = st.session_state[state.UNDO_STACK]
    who = data.reviewer()
    for pos in range(len(stack) - 1, -1, -1):
        if stack[pos]["who"] == who:
            entry = stack.pop(pos)
            break
    else:
        st.session_state[FLASH_KEY] = ("Nothing of yours to undo", ":material/undo:")
        return
    iid = entry["id"]
    done = data.undo(iid, who)
    message = f"Undid your {entry['verdict']} of {iid}" if done else f"{iid}: already undone"
    st.session_state[FLASH_KEY] = (message, ":material/undo:")
    _forget(iid)
    _open(iid)


def _clear_ids() -> None:
    st.session_state[IDS_KEY] = None
    st.session_state[IDS_LABEL_KEY] = None


def _leave_link() -> None:
    st.session_state[PIN_KEY] = None
    st.session_state[URL_KEY] = None
    if state.QUERY_INSTANCE in st.query_params:
        del st.query_params[state.QUERY_INSTANCE]


# -- the page -------------------------------------------------------------------------------
st.html(
    "<style>[data-testid='stMainBlockContainer']{padding-top:2.6rem;padding-bottom:2rem}"
    ".st-key-rv_head h3{padding:0}</style>"
)
flash = st.session_state.pop(FLASH_KEY, None)
if flash:
    st.toast(flash[0], icon=flash[1])

reviewed = data.reviewed_ids()
done, total = rq.progress(queue, reviewed)
position = f"{queue_state['cursor'] + 1:,} of {total:,}" if queue else "empty queue"
with st.container(horizontal=True, vertical_alignment="center", key="rv_head"):
    st.subheader("Review", anchor=False, width="content")
    st.caption(f"Instance {position} · {done:,} of {total:,} reviewed")
    if limit_ids is not None:
        label = st.session_state.get(IDS_LABEL_KEY) or "selection"
        st.caption(plain(f"Queue limited to the {label}."))
        st.button("Show every instance", on_click=_clear_ids, type="tertiary")
    elif source is rq.QueueSource.CALIBRATION:
        st.caption("The calibration sample, in draw order.")
if source is rq.QueueSource.ALL and order is rq.SortOrder.MOST_LIKELY_WRONG and current:
    place, ranked = data.risk_ranking().get(current, (None, None))
    audit_parts.risk_note(ranked, place)
if not me:
    st.warning(
        "Type your name under Reviewer in the sidebar: every decision is recorded under it.",
        icon=":material/person:",
    )

detail = data.instance(current) if current else None
if detail is None:
    if pinned:
        st.error(
            plain(f"No instance {pinned} in this workspace: the link is wrong or out of date."),
            icon=":material/link_off:",
        )
        st.button("Back to the queue", on_click=_leave_link, icon=":material/arrow_back:")
    else:
        st.info("No instance matches these filters.", icon=":material/filter_alt_off:")
    st.stop()
iid = detail.id
sample = detail.sample
if sample is None:  # cannot happen: an instance references its sample
    st.error(f"instance {iid} has no source sample")
    st.stop()
st.query_params[state.QUERY_INSTANCE] = iid
st.session_state[URL_KEY] = iid
latest = detail.latest
decidable = detail.status == InstanceStatus.OK
draft = data.draft(iid, me)

# the widgets start from: the reviewer's draft, else the decision in force, else the judge
base_flips = draft.flips if draft else (latest.flips if latest else {})
base_edits = draft.edits if draft else (latest.edits if latest else {})
for c in detail.criteria:
    st.session_state.setdefault(
        _k("flip", iid, c.criterion), bool(base_flips.get(c.criterion, c.passed))
    )
for name in EDITABLE_FIELDS:
    st.session_state.setdefault(_k("edit", iid, name), base_edits.get(name, detail.field(name)))
st.session_state.setdefault(_k("reason", iid), draft.reason if draft else "")
my_stack = _my_undo_stack()

with st.container(horizontal=True, vertical_alignment="center", key="rv_toolbar"):
    st.button(
        "Previous", icon=":material/arrow_back:", shortcut="Left", on_click=_move, args=(-1,),
        key="rv_prev",
    )  # fmt: skip
    st.button(
        "Next", icon=":material/arrow_forward:", shortcut="Right", on_click=_move, args=(1,),
        key="rv_next",
    )  # fmt: skip
    st.text_input(
        "Reason",
        key=_k("reason", iid),
        placeholder="Why (optional): kept as a draft, saved with your decision",
        label_visibility="collapsed",
        on_change=_save_draft,
        args=(iid,),
        disabled=not decidable,
    )
    st.button(
        "Undo", icon=":material/undo:", shortcut="U", on_click=_undo, disabled=not my_stack,
        key="rv_undo",
        help=(f"Undo your {my_stack[-1]['verdict']} of {my_stack[-1]['id']}" if my_stack
              else "Nothing of yours to undo in this session"),
    )  # fmt: skip
    st.button(
        "Reject", icon=":material/close:", shortcut="X", on_click=_decide, args=(iid, Verdict.REJECT),
        disabled=not (me and decidable), key="rv_reject",
    )  # fmt: skip
    st.button(
        "Accept", icon=":material/check:", shortcut="A", on_click=_decide, args=(iid, Verdict.ACCEPT),
        type="primary", disabled=not (me and decidable), key="rv_accept",
    )  # fmt: skip

flags, cleared = data.flags(iid)
with st.container(horizontal=True, vertical_alignment="center", key="rv_badges"):
    st.badge(detail.task.removeprefix("code_"), color="blue")
    st.badge(detail.language, color="gray")
    jv = detail.judgment.verdict if detail.judgment else None
    st.badge(f"judge: {jv or 'not judged'}", color=VERDICT_BADGE.get(jv or "", "gray"))
    if latest is not None:
        st.badge(
            f"human: {latest.verdict} ({latest.reviewer})",
            color=VERDICT_BADGE.get(latest.verdict, "gray"),
            icon=":material/person:",
        )
    else:
        st.badge("human: not reviewed", color="gray", icon=":material/person:")
    if draft is not None:
        parts = [f"{len(draft.flips)} flip(s)" if draft.flips else "",
                 f"{len(draft.edits)} edit(s)" if draft.edits else "",
                 "a reason" if draft.reason else ""]  # fmt: skip
        st.badge(
            "draft: " + ", ".join(p for p in parts if p),
            color="orange",
            icon=":material/edit_note:",
        )
        st.button(
            "Discard draft", on_click=_discard_draft, args=(iid,), type="tertiary",
            icon=":material/delete:", key="rv_discard",
        )  # fmt: skip
    if flags and not cleared:
        st.badge("benchmark overlap", color="orange", icon=":material/flag:")
    if pinned:
        st.badge("opened by link (not in this queue)", color="violet", icon=":material/link:")
    st.caption(plain(f"{detail.provider} · {detail.model} · {iid}"))

if not decidable:
    st.warning(
        plain(
            f"This instance was {detail.status}, not generated: "
            f"{detail.error or 'no reason recorded'}. "
            "It is not in the review queue and cannot be accepted."
        ),
        icon=":material/block:",
    )

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
                why_clear = st.text_input(
                    "Reason to clear", placeholder="Why this is not a leak, e.g. a common idiom"
                )
                if st.form_submit_button("Clear flag", icon=":material/flag:", disabled=not me):
                    try:
                        data.clear_flag(iid, me, why_clear)
                    except ValueError as e:
                        st.error(str(e))
                    else:
                        st.rerun()

gen_col, judge_col = st.columns([3, 2], gap="medium")
code_lang = (detail.target_language or detail.language).lower()
shown = {
    name: str(st.session_state[_k("edit", iid, name)]) for name in EDITABLE_FIELDS
}  # what the reviewer's decision would export
with gen_col:
    tab_instance, tab_source, tab_edit = st.tabs(["Instance", "Source", "Edit fields"])
    with tab_instance:
        edited = [n for n in EDITABLE_FIELDS if shown[n] != detail.field(n)]
        st.caption("Instruction" + (" (edited)" if "instruction" in edited else ""))
        with st.container(border=True, key="rv_instruction"):
            st.text(shown["instruction"] or "(empty)")
        if detail.task == Task.REPAIR:
            with st.container(key="rv_input", gap="xsmall"):
                st.caption("Input: the buggy code, as a diff from the source")
                diff_block(sample.code, shown["input"], "source", "input", CODE_LINES["input"])
            with st.container(key="rv_output", gap="xsmall"):
                st.caption("Output: the fix, as a diff from the input")
                diff_block(shown["input"], shown["output"], "input", "output", CODE_LINES["output"])
        else:
            with st.container(key="rv_input", gap="xsmall"):
                st.caption("Input" + (" (edited)" if "input" in edited else ""))
                in_lang = None if detail.task == Task.GENERATION else detail.language.lower()
                code_block(shown["input"], in_lang, CODE_LINES["input"])
            with st.container(key="rv_output", gap="xsmall"):
                st.caption("Output" + (" (edited)" if "output" in edited else ""))
                if detail.task == Task.SUMMARIZATION:
                    with st.container(border=True):
                        st.text(shown["output"] or "(empty)")
                else:
                    code_block(shown["output"], code_lang, CODE_LINES["output"])
    with tab_source:
        st.caption(plain(f"{sample.func_name} · {sample.repo} {sample.path}:{sample.line}"))
        code_block(sample.code, detail.language.lower(), CODE_LINES["source"])
        if not docstring_shown_in(sample.docstring, sample.code):
            st.caption("Docstring")
            st.text(sample.docstring)
        if detail.task == Task.REPAIR:
            st.caption("Input (the buggy code) in full")
            code_block(shown["input"], detail.language.lower(), CODE_LINES["source"])
            st.caption("Output (the fix) in full")
            code_block(shown["output"], code_lang, CODE_LINES["source"])
    with tab_edit:
        st.caption("Edits are kept as a draft and saved with your next accept or reject.")
        for name in EDITABLE_FIELDS:
            st.text_area(
                name.capitalize(), key=_k("edit", iid, name), on_change=_save_draft,
                args=(iid,), height=120 if name != "instruction" else 80,
                disabled=not decidable,
            )  # fmt: skip

with judge_col:
    view = {
        c.criterion: bool(st.session_state[_k("flip", iid, c.criterion)]) for c in detail.criteria
    }
    # grouped by the judge's answer, so a card stays where it is when the reviewer flips it
    failed = [c for c in ordered_criteria(detail.criteria, {}) if not c.passed]
    passed = [c for c in ordered_criteria(detail.criteria, {}) if c.passed]
    st.caption(
        f"Judge: {len(failed)} failed, {len(passed)} passed"
        + (f" · {detail.judgment.model}" if detail.judgment and detail.judgment.model else "")
        + " · flip a criterion you disagree with"
    )
    if not detail.criteria:
        st.info("Not judged yet.", icon=":material/gavel:")
    for n, c in enumerate(failed):
        criterion_card(c, _k("flip", iid, c.criterion), lambda: _save_draft(iid), f"rv_fail_{n}")
    with st.container(border=True, key="rv_execution"):
        execution_panel(data.execution(iid), detail.judgment.verdict if detail.judgment else None)
    if passed:
        with st.expander(f"Passed ({len(passed)})", icon=":material/check_circle:"):
            for n, c in enumerate(passed):
                criterion_card(
                    c, _k("flip", iid, c.criterion), lambda: _save_draft(iid), f"rv_pass_{n}"
                )
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
