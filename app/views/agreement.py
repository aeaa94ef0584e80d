"""Agreement: human vs Discriminator, per criterion and per reviewer; human vs human."""

from __future__ import annotations

import math

import altair as alt
import pandas as pd
import streamlit as st

from app import data
from pipeline.agreement import Agreement

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


def _summary(a: Agreement, what: str) -> None:
    with st.container(horizontal=True):
        st.metric(what, f"{a.n:,}", border=True)
        st.metric("Agreement", _share(a.observed), border=True)
        st.metric(
            "Cohen's kappa",
            _kappa(a.kappa),
            border=True,
            help="Agreement beyond chance: 1 is perfect, 0 is chance. Undefined (n/a) when "
            "both raters gave one and the same label throughout.",
        )


st.title("Agreement", anchor=False)
st.caption(
    "How often the human reviewers agree with the Discriminator, criterion by criterion, and "
    "with each other. A criterion a reviewer left unflipped counts as their agreement with "
    "the judge's answer; a flip is their disagreement."
)

report = data.agreement()
names = [a.reviewer for a in report.activity]
who = st.selectbox("Human decisions of", [EVERYONE, *names], key="ag_reviewer", width=420)
if who != EVERYONE:
    report = data.agreement(who)

with st.container(border=True):
    st.subheader("Human vs judge", anchor=False)
    _summary(report.overall, "Instances both decided")
    if report.overall.n:
        left, right = st.columns([1, 2], gap="large")
        with left:
            st.altair_chart(
                _matrix_chart(report.overall, "judge", "human", "verdicts"),
                alt="Confusion matrix of judge against human verdicts",
            )
        with right:
            rows = [
                {
                    "criterion": name,
                    "instances": a.n,
                    "agreement": a.observed,
                    "kappa": _kappa(a.kappa),
                    "flipped to pass": a.matrix[1][0],
                    "flipped to fail": a.matrix[0][1],
                }
                for name, a in report.per_criterion.items()
            ]
            st.caption("Per criterion")
            st.dataframe(
                pd.DataFrame(rows),
                hide_index=True,
                column_config={
                    "agreement": st.column_config.ProgressColumn(
                        "agreement", format="percent", min_value=0.0, max_value=1.0
                    ),
                    "kappa": st.column_config.TextColumn("kappa", width="small"),
                    "flipped to pass": st.column_config.NumberColumn(
                        "flipped to pass", help="The judge said fail; the reviewer, pass"
                    ),
                    "flipped to fail": st.column_config.NumberColumn(
                        "flipped to fail", help="The judge said pass; the reviewer, fail"
                    ),
                },
                height=36 * (len(rows) + 1) + 2,  # every criterion, no inner scrolling
                alt="Agreement and kappa between judge and reviewers for each criterion",
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
        _summary(hh, "Reviewer pairs compared")
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
