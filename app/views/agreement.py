"""Agreement: can the unread rest be trusted (the calibration estimate), human vs Discriminator
with 95% intervals, per task, per criterion and per reviewer; human vs human."""

from __future__ import annotations

import math

import altair as alt
import pandas as pd
import streamlit as st

from app import audit_parts, data, state
from pipeline.agreement import Agreement
from pipeline.audit.report import agreement_stats, criterion_stats
from pipeline.review import QueueSource

EVERYONE = "everyone (latest review per instance)"

data.workspace()  # stops the page with a message when no workspace is open


def _kappa(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.2f}"


def _share(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.0%}"


def _matrix_chart(a: Agreement, rater_a: str, rater_b: str, title: str) -> alt.LayerChart:
    cells = pd.DataFrame(
        [
            {rater_a: la, rater_b: lb, "count": a.matrix[i][j]}
            for i, la in enumerate(a.labels)
            for j, lb in enumerate(a.labels)
        ]
    )
    base = alt.Chart(cells).encode(
        x=alt.X(f"{rater_b}:N", sort=list(a.labels), axis=alt.Axis(orient="top", labelAngle=0)),
        y=alt.Y(f"{rater_a}:N", sort=list(a.labels)),
    )
    rect = base.mark_rect().encode(
        color=alt.Color("count:Q", scale=alt.Scale(scheme="blues"), legend=None)
    )
    text = base.mark_text(fontSize=16).encode(
        text="count:Q",
        color=alt.condition(
            alt.datum.count > max(max(row) for row in a.matrix) / 2,
            alt.value("white"),
            alt.value("#1d2733"),
        ),
    )
    chart: alt.LayerChart = (rect + text).properties(height=180, title=title)
    return chart


def _summary(a: Agreement, what: str, between: str) -> None:
    """n (`what`, decided by `between`), the agreed share and Cohen's kappa, each with its 95% interval."""
    s = agreement_stats(a)
    with st.container(horizontal=True):
        audit_parts.stat_metric(
            what,
            f"{a.n:,}",
            delta=between,
        )
        audit_parts.stat_metric(
            "Agreement",
            _share(a.observed),
            delta=f"95% {audit_parts.span(s.observed)}",
            help="Share of instances with the same verdict (Wilson interval).",
        )
        audit_parts.stat_metric(
            "Cohen's kappa",
            _kappa(a.kappa),
            delta=f"95% {audit_parts.span(s.kappa, audit_parts.num)} · n = {a.n:,}",
            help="Agreement beyond chance: 1 is perfect, 0 is chance. Undefined (n/a) when "
            "both raters gave one and the same label throughout; 0 when one of them did (a "
            "calibration sample alone holds only the judge's accepts). Interval: Cohen (1960).",
        )


def _draw(n: int, seed: int) -> None:
    data.draw_calibration(n, seed)
    audit_parts.new_seed()
    st.session_state[state.REVIEW_SOURCE] = QueueSource.CALIBRATION.value


def _to_review() -> None:
    """Open the Review page; the name travels as ?reviewer= (a page switch can lose the
    sidebar's name on a first visit, before the browser has its cookie)."""
    me = data.reviewer()
    st.switch_page("views/review.py", query_params={state.QUERY_REVIEWER: me} if me else None)


st.title("Agreement", anchor=False)
st.caption(
    "How far the unread rest can be trusted, how often the human reviewers agree with the "
    "Discriminator (verdict by verdict, task by task, criterion by criterion) and with each "
    "other. A criterion a reviewer flipped is their disagreement on it; a verdict overridden "
    'without a flipped criterion counts as a disagreement on "(unspecified)", never as '
    "agreement on every criterion."
)

audit = data.audit_report()

with st.container(border=True):
    st.subheader("Can the unread rest be trusted?", anchor=False)
    audit_parts.estimate_metrics(audit)
    st.caption(
        "Only the calibration draws feed this estimate: a uniform random sample of the accepted "
        "instances nobody had reviewed. Reviews made in the risk order, through a filter or a map "
        "selection seek out likely errors and are not a random sample, so they never count here. "
        "Review every draw: skipping the hard ones would bias it."
    )
    waiting = audit.drawn - audit.error_rate.n
    with (
        st.form("ag_draw_form", border=False, enter_to_submit=False),
        st.container(horizontal=True, vertical_alignment="bottom"),
    ):
        how_many = st.number_input(
            "Draw more",
            min_value=1,
            max_value=max(1, audit.population),
            value=30,
            step=10,
            key="ag_draw_n",
            width=160,
            help="Instances drawn uniformly at random, without replacement, from the accepted "
            "ones nobody has reviewed.",
        )
        seed = st.number_input(
            "Seed",
            min_value=0,
            max_value=2**31 - 1,
            value=audit_parts.next_seed(),
            step=1,
            width=180,
            help="Recorded with the draw; the same seed on the same workspace draws the "
            "same instances (wavecurate audit sample N --seed S).",
        )
        drew = st.form_submit_button(
            "Draw and review them", icon=":material/casino:", type="primary"
        )
    if drew:
        _draw(int(how_many), int(seed))
        _to_review()
    if waiting > 0:
        st.info(
            f"{waiting:,} drawn instances are waiting for a review.",
            icon=":material/pending_actions:",
        )
        if st.button("Review the calibration sample", icon=":material/rate_review:"):
            st.session_state[state.REVIEW_SOURCE] = QueueSource.CALIBRATION.value
            _to_review()

report = data.agreement()
names = [a.reviewer for a in report.activity]
who = st.selectbox("Human decisions of", [EVERYONE, *names], key="ag_reviewer", width=420)
if who != EVERYONE:
    report = data.agreement(who)

with st.container(border=True):
    st.subheader("Human vs judge", anchor=False)
    _summary(report.overall, "Instances both decided", "by the judge and a person")
    if report.overall.n:
        left, right = st.columns([1, 2], gap="large")
        with left:
            st.altair_chart(
                _matrix_chart(report.overall, "judge", "human", "verdicts"),
                alt="Confusion matrix of judge against human verdicts",
            )
        with right:
            if who == EVERYONE:
                audit_parts.judge_accept_metrics(audit)
            else:
                st.caption(
                    "The judge's precision and recall of accept are shown for everyone's "
                    "decisions together."
                )
        if who == EVERYONE:  # the audit report: per task too
            rows = [
                ("verdict", "", audit.overall),
                *(("task", t, s) for t, s in audit.per_task.items()),
                *(("criterion", c, s) for c, s in audit.per_criterion.items()),
            ]
        else:
            rows = [
                ("verdict", "", agreement_stats(report.overall)),
                *(("criterion", c, criterion_stats(c, a)) for c, a in report.per_criterion.items()),
            ]
        st.caption("Per task and per criterion, with 95% intervals")
        audit_parts.stats_table(
            rows, "Agreement and kappa between judge and reviewers with 95% intervals"
        )
    else:
        st.info(
            "No instance has both a judge verdict and a human review yet.", icon=":material/info:"
        )

with st.container(border=True):
    st.subheader("Reviewers", anchor=False)
    if not report.activity:
        st.info("No review yet.", icon=":material/group:")
    else:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "reviewer": a.reviewer,
                        "instances": a.instances,
                        "accepted": a.accepted,
                        "rejected": a.rejected,
                        "with flips": a.with_flips,
                        "with edits": a.with_edits,
                        "undone": a.undone,
                        "last active (UTC)": a.last_at[:19].replace("T", " "),
                    }
                    for a in report.activity
                ]
            ),
            hide_index=True,
            alt="Counts of decisions per reviewer",
        )

with st.container(border=True):
    st.subheader("Human vs human", anchor=False)
    hh = report.human_human
    st.caption(
        f"{report.twice_reviewed:,} instances were decided by two or more reviewers; each pair "
        "of reviewers on each of them counts once."
    )
    if hh.n:
        _summary(hh, "Reviewer pairs compared", "on the same instance")
        left, right = st.columns([1, 2], gap="large")
        with left:
            st.altair_chart(
                _matrix_chart(hh, "first reviewer", "second reviewer", "verdicts"),
                alt="Confusion matrix between pairs of reviewers",
            )
        with right:
            st.caption("Per pair of reviewers")
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            "reviewers": f"{p.reviewer_a} · {p.reviewer_b}",
                            "instances": p.agreement.n,
                            "agreement": p.agreement.observed,
                            "kappa": _kappa(p.agreement.kappa),
                        }
                        for p in report.pairs
                    ]
                ),
                hide_index=True,
                column_config={
                    "agreement": st.column_config.ProgressColumn(
                        "agreement", format="percent", min_value=0.0, max_value=1.0
                    ),
                    "kappa": st.column_config.TextColumn("kappa", width="small"),
                },
                alt="Agreement between each pair of reviewers",
            )
    else:
        st.info(
            "No instance has been decided by two reviewers yet: filter the Review queue by "
            "human status to find ones someone else reviewed.",
            icon=":material/group:",
        )
