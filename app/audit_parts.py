"""The audit's numbers: on the Agreement page the calibration estimate, the calibration draw and
judge-vs-people agreement with 95% intervals; on the Review page why an instance ranks where it
does in the risk order. Everything is computed in `pipeline.audit`; this
module only lays it out."""

from __future__ import annotations

import math
import secrets
from collections.abc import Sequence
from typing import Any

import pandas as pd
import streamlit as st

from app.text import plain
from pipeline.audit.intervals import Interval
from pipeline.audit.report import AgreementStats, AuditReport
from pipeline.audit.risk import Ranked

SEED_KEY = "ag_draw_seed"  # the seed the next calibration draw uses (shown, editable)


def pct(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.1%}"


def num(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.2f}"


def span(i: Interval, fmt: Any = pct) -> str:
    """'[low, high]' of an interval, or 'n/a' when it has none."""
    if i.n == 0 or math.isnan(i.low) or math.isnan(i.high):
        return "n/a"
    return f"[{fmt(i.low)}, {fmt(i.high)}]"


def stat_metric(label: str, value: str, *, delta: str, help: str | None = None) -> None:
    """One bordered metric whose delta line is a plain note (grey, no arrow): an interval, n,
    or what the number counts."""
    st.metric(
        label, value, delta=delta, delta_color="off", delta_arrow="off", border=True, help=help
    )


def estimate_metrics(report: AuditReport) -> None:
    """The calibration estimate: the share a person would reject, its interval, n, the
    population, and the draws still needed for ±5 points."""
    e = report.error_rate
    with st.container(horizontal=True):
        stat_metric(
            "Would be rejected",
            pct(e.estimate),
            delta=f"95% interval {span(e)}" if e.n else "no reviewed draw yet",
            help="Estimated share of the accepted, unreviewed instances a person would reject: "
            "rejected draws over reviewed draws, with the exact 95% interval for a finite "
            "population (hypergeometric).",
        )
        stat_metric(
            "Reviewed draws (n)",
            f"{e.n:,}",
            delta=f"of {report.drawn:,} drawn",
        )
        stat_metric(
            "Population",
            f"{report.population:,}",
            delta="accepted, unreviewed",
            help="The frame the calibration draws come from: instances whose final verdict was "
            "accept and that no person had reviewed when the first draw was made.",
        )
        stat_metric(
            "More draws needed",
            f"{report.more_draws_for_5_points:,}",
            delta="for a ±5-point interval",
            help="How many more reviewed draws would narrow the 95% interval to about ±5 "
            "percentage points (worst case the data still allow).",
        )


def stats_frame(rows: Sequence[tuple[str, str, AgreementStats]]) -> pd.DataFrame:
    """One row per comparison: (kind, name, stats) -> scope, n, agreement and kappa with their
    95% intervals, and the criterion flips. Kappa is 'n/a' where it is undefined (one label
    throughout, or the '(unspecified)' row, which holds only disagreements)."""
    out = []
    for kind, name, s in rows:
        m = s.agreement.matrix
        criterion = kind == "criterion"
        out.append(
            {
                "scope": f"{kind} {name}".strip(),
                "n": s.agreement.n,
                "agreement": s.observed.estimate,
                "agreement 95%": span(s.observed),
                "kappa": num(s.kappa.estimate),
                "kappa 95%": span(s.kappa, num),
                "flipped to pass": f"{m[1][0]:,}" if criterion else "",  # blank: not a criterion
                "flipped to fail": f"{m[0][1]:,}" if criterion else "",
            }
        )
    return pd.DataFrame(out)


def stats_table(rows: Sequence[tuple[str, str, AgreementStats]], alt: str) -> None:
    frame = stats_frame(rows)
    st.dataframe(
        frame,
        hide_index=True,
        column_config={
            "agreement": st.column_config.ProgressColumn(
                "agreement", format="percent", min_value=0.0, max_value=1.0
            ),
            "n": st.column_config.NumberColumn("n", help="Instances both decided"),
            "kappa": st.column_config.TextColumn(
                "kappa",
                width="small",
                help="Cohen's kappa: 1 is perfect, 0 is chance; n/a where undefined",
            ),
            "kappa 95%": st.column_config.TextColumn("kappa 95%", help="Cohen's (1960) interval"),
            "agreement 95%": st.column_config.TextColumn("agreement 95%", help="Wilson interval"),
            "flipped to pass": st.column_config.TextColumn(
                "flipped to pass", help="The judge said fail; the reviewer, pass"
            ),
            "flipped to fail": st.column_config.TextColumn(
                "flipped to fail", help="The judge said pass; the reviewer, fail"
            ),
        },
        height=35 * (len(frame) + 1) + 3,  # every row, no inner scrolling
        alt=alt,
    )


def judge_accept_metrics(report: AuditReport) -> None:
    """The judge's precision and recall of accept against people's verdicts, with intervals."""
    p, r = report.precision, report.recall
    with st.container(horizontal=True):
        stat_metric(
            "Precision of accept",
            pct(p.estimate),
            delta=f"95% {span(p)} · n = {p.n:,}",
            help="Of the instances the judge accepted and a person reviewed, the share the "
            "person accepted too (Wilson interval).",
        )
        stat_metric(
            "Recall of accept",
            pct(r.estimate),
            delta=f"95% {span(r)} · n = {r.n:,}",
            help="Of the reviewed instances a person accepted, the share the judge accepted "
            "too (Wilson interval).",
        )
    st.caption(
        "From all reviews, not a random sample: people read what a filter, the map or the risk "
        "order showed them, so these describe what people looked at, not the whole pool."
    )


def next_seed() -> int:
    """The seed the next draw uses: random, shown in the form, recorded with the draw, so a draw
    can be repeated (`wavecurate audit sample N --seed S`)."""
    if SEED_KEY not in st.session_state:
        st.session_state[SEED_KEY] = secrets.randbelow(2**31)
    return int(st.session_state[SEED_KEY])


def new_seed() -> None:
    """A fresh seed for the next draw: the same seed twice would pick related positions."""
    st.session_state[SEED_KEY] = secrets.randbelow(2**31)


def risk_note(ranked: Ranked | None, position: int | None) -> None:
    """Why the current instance stands where it does in the "most likely wrong first" order:
    its place in the ranking, the model's score and its reasons (None: not ranked, i.e.
    reviewed, drawn for calibration or not judged)."""
    if ranked is None or position is None:
        st.caption("Not in the risk ranking: reviewed, drawn for calibration, or not judged.")
        return
    why = "; ".join(ranked.reasons) or "no strong signal (ranked by the learned base rates)"
    st.caption(
        plain(f"Risk rank {position + 1:,} · score {ranked.score:.0%} · {why}"),
        help="The order's score is not a calibrated probability; see Auditing the judge in "
        "the README for the model.",
    )
