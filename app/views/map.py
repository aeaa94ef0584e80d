"""Map: the 2-D projection, coreset highlighted; select, open samples, send them to review."""

from __future__ import annotations

import json
import zlib
from typing import Any

import streamlit as st

from app import data, figures, state, widgets
from app.review_parts import code_block, docstring_shown_in
from app.text import plain, short
from pipeline.mapsel import picked_ids, select_points, selection_is_empty
from pipeline.records import VERDICT_BADGE

SEL_KEY = "map_selection"  # {"box": [...], "lasso": [...], "points": [{"customdata": id}]}
OPEN_KEY = "map_open"  # the sample id shown in detail
GEN_KEY = "map_chart_gen"  # bumped to remount the chart (clears the browser's selection)
COLOURS = {
    "language": "language",
    "task": "task",
    "verdict": "verdict",
    "distance": "distance to the coreset",
}

data.workspace()  # stops the page with a message when no workspace is open
st.session_state.setdefault(SEL_KEY, {})
st.session_state.setdefault(GEN_KEY, 0)
chart_key = f"map_chart_{st.session_state[GEN_KEY]}"


def _on_chart_select() -> None:
    event: Any = st.session_state.get(chart_key) or {}
    sel = event.get("selection") or {}
    points = [{"customdata": i} for i in picked_ids(sel)]
    selection = {"box": list(sel.get("box") or []), "lasso": list(sel.get("lasso") or [])}
    selection["points"] = points
    st.session_state[SEL_KEY] = selection
    if not selection["box"] and not selection["lasso"] and len(points) == 1:
        st.session_state[OPEN_KEY] = points[0]["customdata"]


def _review_button(
    label: str, sample_ids: list[str], n_inst: int, what: str, *, key: str, primary: bool = False
) -> None:
    """A button that opens Review on the instances of `sample_ids` (`n_inst` of them; disabled
    when none), labelled there as `what`."""
    if st.button(
        label,
        type="primary" if primary else "secondary",
        icon=":material/rate_review:",
        disabled=n_inst == 0,
        key=key,
    ):
        st.session_state[state.REVIEW_IDS] = data.instance_ids_of_samples(sample_ids)
        st.session_state[state.REVIEW_IDS_LABEL] = what
        st.switch_page("views/review.py")


def _clear_selection() -> None:
    st.session_state[SEL_KEY] = {}
    st.session_state[GEN_KEY] += 1


st.title("Map", anchor=False)
st.caption(
    "Every kept sample, embedded and projected to 2-D. Shading is the density of the pool; "
    f"coloured points are the coreset, small grey points the rest of the pool (every sample is "
    f"a point up to {figures.MAX_POINTS:,} samples; above that, a spread of them). Click a "
    "point to open it; pick the lasso or box tool in the chart's toolbar to select a region "
    "(a region takes every sample under it, not only the points drawn). Colour by distance to "
    "the coreset to see where coverage is thin."
)

with st.spinner("Loading the map…"):
    md = data.map_data()
if md.frame.empty:
    st.info(
        "Nothing projected yet: run `wavecurate embed`, `select` and `project`.",
        icon=":material/scatter_plot:",
    )
    st.stop()

with st.container(horizontal=True, vertical_alignment="bottom"):
    colour_by = st.segmented_control(
        "Colour by",
        list(COLOURS),
        format_func=COLOURS.__getitem__,
        default="language",
        required=True,
        key="map_colour",
    )  # the selection is kept: it lives in SEL_KEY, not in the chart
    scope = st.segmented_control(
        "A selection takes",
        ["all samples", "coreset only"],
        default="all samples",
        required=True,
        key="map_scope",
    )
    st.button("Clear selection", icon=":material/deselect:", on_click=_clear_selection)
    query = st.text_input(
        "Search",
        key="map_search",
        placeholder="function name or text",
        icon=":material/search:",
        help="Rings the samples whose function name, docstring or code contains this text.",
    )

frame = md.frame
if colour_by == "distance":
    with st.spinner("Measuring each sample's distance to the coreset (once per coreset)…"):
        frame = frame.assign(distance=data.distances())
matches = data.search_ids(str(query or ""))
chart_col, side_col = st.columns([5, 4], gap="medium")
with chart_col:
    fig = figures.map_figure(
        frame,
        str(colour_by or "language"),
        opened=st.session_state.get(OPEN_KEY),
        matches=matches,
    )
    st.plotly_chart(
        fig,
        key=chart_key,
        on_select=_on_chart_select,
        selection_mode=("points", "box", "lasso"),
        config={"displaylogo": False, "scrollZoom": True},
        alt="Projection of the sample pool with the coreset as points",
    )
    n_core = int((frame["rank"] >= 0).sum())
    st.caption(
        f"{len(frame):,} samples projected · {n_core:,} in the coreset · "
        f"{min(len(frame), figures.MAX_POINTS):,} drawn as points"
    )

selection = st.session_state[SEL_KEY]
mask = select_points(md.x, md.y, selection, ids=md.ids)
if scope == "coreset only":
    mask &= frame["rank"].to_numpy() >= 0
selected = frame[mask]

with side_col:
    open_id = st.session_state.get(OPEN_KEY)
    sample = data.sample(open_id) if open_id else None
    if sample is not None:
        with st.container(border=True, key="map_sample"):
            st.markdown(f"**{plain(sample.func_name)}** · {plain(sample.language)}")
            st.caption(plain(f"{sample.repo} {sample.path}:{sample.line}".strip()))
            code_block(sample.code, sample.language.lower(), 12)
            if not docstring_shown_in(sample.docstring, sample.code):
                st.text(sample.docstring)
            instances = data.instances_of_sample(sample.id)
            if not instances:
                st.caption("No instance generated from this sample.")
            for inst in instances:
                with st.container(horizontal=True, vertical_alignment="center"):
                    st.badge(inst.task, color="blue")
                    verdict = inst.verdict or inst.status
                    st.badge(
                        f"{verdict} ({inst.verdict_source or 'no verdict'})",
                        color=VERDICT_BADGE.get(verdict, "gray"),
                    )
                    if inst.status == "ok" and st.button(
                        "Review", key=f"open_{inst.id}", icon=":material/open_in_new:"
                    ):
                        st.switch_page(
                            "views/review.py", query_params={state.QUERY_INSTANCE: inst.id}
                        )
                st.text(short(inst.instruction, 160))

    if matches:
        hit = frame[frame["id"].isin(matches)]
        n_inst = int((hit["task"] != "no instance").sum())
        with st.container(horizontal=True, vertical_alignment="center"):
            st.markdown(f"**{len(hit):,}** samples match · **{n_inst:,}** with an instance")
            _review_button(
                f"Review matches ({n_inst:,})",
                hit["id"].tolist(),
                n_inst,
                f"search for {query.strip()!r}",
                key="map_review_matches",
            )
    if not selection_is_empty(selection) and selected.empty:
        st.info("No sample lies inside this selection.", icon=":material/block:")
    elif selection_is_empty(selection):
        st.info(
            "Nothing selected. Click a point to open it, or pick the lasso or box tool in the "
            "chart's toolbar (top right of the map) and draw around a region.",
            icon=":material/touch_app:",
        )
    else:
        with_instances = int((selected["task"] != "no instance").sum())
        in_core = int((selected["rank"] >= 0).sum())
        st.markdown(
            f"**{len(selected):,}** samples selected · **{in_core:,}** in the coreset · "
            f"**{with_instances:,}** with an instance"
        )
        _review_button(
            f"Review these ({with_instances:,})",
            selected["id"].tolist(),
            with_instances,
            f"map selection of {len(selected):,} samples",
            key="map_review",
            primary=True,
        )
        shown = selected.assign(core=selected["rank"] < 0).sort_values(["core", "rank"]).head(2000)
        table = shown.assign(
            coreset=shown["rank"].where(shown["rank"] >= 0).astype("Int64"),
            task=shown["task"].str.removeprefix("code_"),
        )[["func_name", "task", "verdict", "coreset"]]
        event: Any = st.dataframe(
            table,
            hide_index=True,
            height=300,
            on_select="rerun",
            selection_mode="single-row",
            key=f"map_table_{zlib.crc32(json.dumps(selection, sort_keys=True).encode())}",
            column_config={
                "func_name": st.column_config.TextColumn("function", width=150),
                "task": st.column_config.TextColumn("task", width=95),
                "verdict": st.column_config.TextColumn("verdict", width=70),
                "coreset": st.column_config.NumberColumn("rank", format="%d", width=50),
            },
            alt="The selected samples",
        )
        rows = event.selection.rows if event is not None else []
        if rows and st.session_state.get(OPEN_KEY) != str(shown.iloc[rows[0]]["id"]):
            st.session_state[OPEN_KEY] = str(shown.iloc[rows[0]]["id"])
            st.rerun()  # to ring it on the map and show it at the top of this column
        if len(selected) > len(shown):
            st.caption(f"Showing {len(shown):,} of {len(selected):,}.")


st.divider()
st.subheader("Coverage", anchor=False)
cov = data.metric("coverage")
measure = st.segmented_control(
    "Curve",
    list(data.COVERAGE_MEASURES),
    format_func=lambda m: data.COVERAGE_MEASURES[m],
    default="radius",
    required=True,
    key="map_coverage_measure",
)
curves = data.coverage_frame(cov, str(measure))
if curves.empty:
    st.info(
        "No coverage curves yet: `wavecurate select` records them.", icon=":material/show_chart:"
    )
else:
    delta = cov.get("delta", "?")
    st.caption(
        "How well the selection covers the pool as it grows, against a random sample and "
        "k-means++ seeding of the same size. Distances are euclidean between unit vectors "
        f"(0 to 2); δ is cosine {delta}. Lower radius and mean, higher share: better coverage."
    )
    chart_side, table_side = st.columns([3, 2], gap="medium")
    with chart_side:
        st.plotly_chart(
            figures.coverage_figure(curves, data.COVERAGE_MEASURES[str(measure)]),
            key="coverage_chart",
            alt="Coverage curves of k-center greedy, random and k-means++ selections",
        )
    with table_side:
        summary = data.coverage_summary(cov)
        if not summary.empty:
            size, n = cov.get("size"), cov.get("n")
            if isinstance(size, int) and isinstance(n, int):
                st.caption(f"At k = {size:,} of {n:,} samples")
            widgets.decimals_table(
                summary,
                ("radius", "mean", "p99", "within δ"),
                alt="Coverage of each selection method at the full k",
            )
