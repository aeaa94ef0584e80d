"""Overview: the funnel, cost and tokens, stage timings, and the leakage report."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from app import data, figures, widgets
from app.text import plain
from pipeline.records import VERDICTS


def _counts_bar(frame: pd.DataFrame, x: str, empty: str, alt_text: str, **style: str) -> None:
    """A small horizontal bar chart of `frame`'s `count` per `x`; the text `empty` without rows."""
    if frame.empty:
        st.text(empty)
    else:
        st.bar_chart(
            frame, x=x, y="count", horizontal=True, height=160, x_label="", y_label="",
            alt=alt_text, **style,
        )  # fmt: skip


f = data.funnel()

st.title("Overview", anchor=False)
st.caption(
    "From every sample ingested to the curated set: what each filter rule dropped, what the "
    "coreset kept, what the Generator made, what the judge and the reviewers decided."
)
st.info(
    "  \n".join(plain(line) for line in data.provider_lines(f)),
    icon=":material/smart_toy:",
)

with st.container(horizontal=True):
    st.metric("Ingested", f"{f['ingested']:,}", border=True)
    st.metric("Kept", f"{f['kept']:,}", border=True)
    st.metric("Coreset", f"{f['coreset']:,}", border=True)
    st.metric("Generated", f"{f['instances']:,}", border=True)
    st.metric("Reviewed", f"{f['reviewed']:,}", border=True)
    st.metric("Exportable", f"{f['exportable']:,}", border=True)

funnel = data.funnel_frame(f)
bars = alt.Chart(funnel).encode(
    y=alt.Y("stage:N", sort=list(funnel["stage"]), title=None, axis=alt.Axis(labelLimit=220)),
    x=alt.X("count:Q", title=None, axis=alt.Axis(format="~s")),
    tooltip=["stage:N", alt.Tooltip("count:Q", format=",")],
)
chart = (
    bars.mark_bar(cornerRadiusEnd=3).encode(
        color=alt.Color(
            "kind:N",
            scale=alt.Scale(domain=["flow", "loss"], range=["#1f6f8b", "#e07a5f"]),
            legend=None,
        )
    )
    + bars.mark_text(align="left", dx=4, color="#1d2733").encode(
        text=alt.Text("count:Q", format=",")
    )
).properties(height=34 * len(funnel))

parts = data.breakdown_frames(f)
with st.container(border=True):
    st.subheader("Funnel", anchor=False)
    st.altair_chart(chart, alt="How many samples and instances are left after each stage")
    a, b, c = st.columns(3, gap="medium")
    with a:
        st.caption("Dropped, by filter rule")
        _counts_bar(parts["dropped"], "rule", "Nothing dropped.",
                    "Samples each filter rule dropped", color="#e07a5f")  # fmt: skip
    with b:
        st.caption("Generated, by task")
        _counts_bar(parts["tasks"], "task", "Nothing generated yet.",
                    "Instances generated for each task")  # fmt: skip
    with c:
        st.caption("Verdicts: the judge's, and final (latest human review, else the judge)")
        verdict_chart = (
            alt.Chart(parts["verdicts"])
            .mark_bar()
            .encode(
                y=alt.Y("decided by:N", title=None, sort=["judge", "final"]),
                x=alt.X("sum(count):Q", title=None),
                color=alt.Color(
                    "verdict:N",
                    scale=alt.Scale(
                        domain=list(VERDICTS),
                        range=[figures.VERDICT_COLOURS[v] for v in VERDICTS],
                    ),
                    legend=alt.Legend(orient="bottom", title=None),
                ),
                order=alt.Order("verdict:N"),
                tooltip=["decided by:N", "verdict:N", alt.Tooltip("count:Q", format=",")],
            )
            .properties(height=alt.Step(30))
        )
        st.altair_chart(verdict_chart, alt="Judge and final verdicts, accept against reject")
    skipped = data.skipped_frame(f)
    if not skipped.empty:
        st.caption(
            f"Skipped: {int(skipped['count'].sum()):,} instances the provider declined to make, "
            "by task and reason"
        )
        st.dataframe(
            skipped, hide_index=True, width="stretch", key="ov_skipped",
            column_config={"reason": st.column_config.TextColumn(width="large")},
        )  # fmt: skip

    executions = data.execution_frame(f)
    if not executions.empty:
        st.caption(
            "Execution evidence (`wavecurate verify`): generated code run against the sample's own "
            f"code in a sandbox; {f.get('rejected_by_execution', 0):,} final rejects came from a "
            "failed execution"
        )
        st.dataframe(executions, hide_index=True, width="stretch", key="ov_execution")

left, right = st.columns([1, 3], gap="medium")
with left, st.container(border=True, height="stretch"):
    st.subheader("Cost and tokens", anchor=False)
    tokens = f.get("tokens") or {}
    st.metric("Cost", f"${f.get('cost_usd', 0.0):,.2f}")
    with st.container(horizontal=True):
        st.metric("Input tokens", f"{tokens.get('input', 0):,}")
        st.metric("Output tokens", f"{tokens.get('output', 0):,}")
    st.caption(f"{f.get('llm_calls', 0):,} provider calls answered.")
with right, st.container(border=True, height="stretch"):
    st.subheader("Stage timings", anchor=False)
    runs = data.runs()
    if runs.empty:
        st.info("No stage has run yet.", icon=":material/schedule:")
    else:
        st.dataframe(
            runs.drop(columns=["finished"]),
            hide_index=True,
            column_config={
                "stage": st.column_config.TextColumn("stage", width=110),
                "seconds": st.column_config.NumberColumn("seconds", format="%.1f", width="small"),
                "status": st.column_config.TextColumn("status", width="small"),
                "counts": st.column_config.TextColumn("counts", width="large"),
            },
            alt="The latest run of each stage with its duration and counts",
        )

leakage = data.metric("leakage")
with st.container(border=True):
    st.subheader("Benchmark leakage", anchor=False)
    if not isinstance(leakage, dict) or not leakage.get("benchmarks"):
        st.info(
            "No leakage report yet: `wavecurate decontaminate` writes one.",
            icon=":material/policy:",
        )
    else:
        st.caption(
            f"Cosine similarity of each instance to its nearest benchmark item "
            f"(model {leakage.get('model', '?')}); flagged at "
            f"{leakage.get('similarity_threshold', '?')} or above."
        )
        bins = leakage.get("bins") or []
        for name, report in sorted(leakage["benchmarks"].items()):
            table = pd.DataFrame(
                [
                    {
                        "set": which,
                        "instances": part.get("count"),
                        "mean": part.get("mean"),
                        "median": part.get("median"),
                        "max": part.get("max"),
                        "at or above threshold": part.get("above_threshold"),
                    }
                    for which in ("curated", "generated")
                    if isinstance(part := report.get(which), dict)
                ]
            )
            hist = pd.DataFrame(
                [
                    {"cosine": float(bins[i]) if i < len(bins) else i, "set": which, "count": n}
                    for which in ("curated", "generated")
                    for i, n in enumerate((report.get(which) or {}).get("histogram") or [])
                ]
            )
            a, b = st.columns([1, 1], gap="medium")
            with a:
                st.markdown(f"**{name}** · {report.get('items', '?')} items")
                widgets.decimals_table(
                    table,
                    ("mean", "median", "max"),
                    alt=f"Nearest-neighbour cosine to {name}, curated and all generated",
                )
            with b:
                if not hist.empty:
                    st.bar_chart(
                        hist,
                        x="cosine",
                        y="count",
                        color="set",
                        stack=False,
                        height=220,
                        x_label="nearest cosine (bin start)",
                        alt=f"Histogram of nearest-neighbour cosine to {name}",
                    )
