"""Plotly figures for the Map page: the pool as a density layer under selectable WebGL points."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from pipeline.mapsel import density_grid, smoothed, spread_sample
from pipeline.records import Verdict

MAX_POINTS = 20_000  # up to this many samples, every one is a WebGL point (hover, click)
VERDICT_COLOURS = {
    Verdict.ACCEPT.value: "#3d9970",
    Verdict.REJECT.value: "#c44569",
    "no verdict": "#9aa5b1",
}
NEUTRAL = ("no instance", "no verdict", "unknown")
POOL_NAME = "pool (not in the coreset)"
POOL_COLOUR = "#b8c2cc"


def selectable_indices(rank: np.ndarray, *, limit: int = MAX_POINTS, seed: int = 0) -> np.ndarray:
    """Indices of the samples drawn as points: every sample while the pool holds at most `limit`,
    else the coreset first and a seeded spread of the rest up to `limit`."""
    n = rank.shape[0]
    if n <= limit:
        return np.arange(n)
    coreset = np.flatnonzero(rank >= 0)
    return spread_sample(n, limit, seed=seed, prefer=coreset.tolist())


def _points(
    part: pd.DataFrame, name: str, marker: dict[str, object], **extra: object
) -> go.Scattergl:
    return go.Scattergl(
        x=part["x"],
        y=part["y"],
        mode="markers",
        name=name,
        customdata=part["id"].tolist(),
        text=[html.escape(str(t)) for t in part["func_name"]],
        hovertemplate="%{text}<extra>%{fullData.name}</extra>",
        marker=marker,
        unselected={"marker": {"opacity": 0.25}},
        showlegend=True,
        **extra,
    )


def map_figure(
    frame: pd.DataFrame,
    colour_by: str,
    *,
    height: int = 620,
    opened: str | None = None,
    matches: frozenset[str] = frozenset(),
) -> go.Figure:
    """The map: a log-density shading of the whole pool, every sample as a point (up to
    MAX_POINTS; pool samples small and grey, coreset samples coloured by `colour_by`, a column
    of `frame`: language, task, verdict or distance), each point's sample id in `customdata`;
    search `matches` ringed in orange and the `opened` sample ringed in black on top."""
    x = frame["x"].to_numpy()
    y = frame["y"].to_numpy()
    fig = go.Figure()
    if len(frame):
        pad_x = (x.max() - x.min()) * 0.1 or 1.0  # room for the blur at the edges
        pad_y = (y.max() - y.min()) * 0.1 or 1.0
        extent = (x.min() - pad_x, x.max() + pad_x, y.min() - pad_y, y.max() + pad_y)
        bins = int(np.clip(np.sqrt(len(frame)) * 1.2, 40, 160))
        grid = density_grid(x, y, bins=bins, extent=extent)
        z = np.log1p(smoothed(grid.counts, sigma=1.2) * 4.0)
        fig.add_trace(
            go.Heatmap(
                x=grid.x,
                y=grid.y,
                z=z,
                colorscale=[
                    [0.0, "rgba(255,255,255,0)"],
                    [0.04, "rgba(226,232,240,0.6)"],
                    [1.0, "#7d8ea3"],
                ],
                zmin=0.0,
                showscale=False,
                hoverinfo="skip",
                name="pool density (shading)",
                showlegend=True,
                zsmooth="best",
            )
        )
    picked = frame.iloc[selectable_indices(frame["rank"].to_numpy())]
    in_core = picked["rank"].to_numpy() >= 0
    pool = picked[~in_core]
    core = picked[in_core] if in_core.any() else picked
    if colour_by != "distance" and in_core.any() and len(pool):
        fig.add_trace(_points(pool, POOL_NAME, {"size": 4, "color": POOL_COLOUR}))
    if colour_by == "distance":
        # every sample coloured by its distance to the nearest coreset centre (the centres
        # themselves are at 0, so they are drawn plain on top): bright is thin coverage
        shade = pool if in_core.any() else picked
        fig.add_trace(
            _points(
                shade,
                POOL_NAME if in_core.any() else "samples",
                {
                    "size": 6,
                    "color": shade["distance"].to_numpy(),
                    "colorscale": "Viridis",
                    "showscale": True,
                    "colorbar": {"title": {"text": "distance"}, "thickness": 10, "len": 0.5},
                },
            )
        )
        if in_core.any():
            fig.add_trace(
                _points(
                    core,
                    "coreset",
                    {"size": 6, "color": "#ffffff", "line": {"width": 1.2, "color": "#1d2733"}},
                )
            )
    else:
        values = sorted(core[colour_by].unique(), key=lambda v: (v in NEUTRAL, str(v)))
        for value in values:
            part = core[core[colour_by] == value]
            marker: dict[str, object] = {"size": 7, "line": {"width": 0.8, "color": "white"}}
            if colour_by == "verdict":
                marker["color"] = VERDICT_COLOURS.get(str(value), "#9aa5b1")
            elif value in NEUTRAL:
                marker["color"] = "#9aa5b1"
            fig.add_trace(_points(part, str(value), marker))
    if matches:
        hit = frame[frame["id"].isin(matches)]
        fig.add_trace(
            _points(
                hit,
                f"search matches ({len(hit):,})",
                {"size": 11, "color": "rgba(0,0,0,0)", "line": {"width": 2, "color": "#ff7f0e"}},
            )
        )
    if opened:
        one = frame[frame["id"] == opened]
        if len(one):
            fig.add_trace(
                _points(
                    one,
                    "opened sample",
                    {"size": 16, "color": "rgba(0,0,0,0)", "line": {"width": 3, "color": "#111"}},
                )
            )
    fig.update_layout(
        height=height,
        margin={"l": 8, "r": 8, "t": 8, "b": 8},
        # pan by default, so that a click picks a point (Streamlit turns click-to-select off
        # while a lasso or box tool is active); the toolbar switches to lasso or box
        dragmode="pan",
        hovermode="closest",
        legend={"orientation": "h", "yanchor": "top", "y": -0.01, "x": 0.0, "title": None},
        uirevision="map",
        plot_bgcolor="white",
    )
    fig.update_xaxes(visible=False, showgrid=False, zeroline=False)
    fig.update_yaxes(visible=False, showgrid=False, zeroline=False)
    return fig


def coverage_figure(curves: pd.DataFrame, y_title: str, *, height: int = 320) -> go.Figure:
    """One line per selection method against k (long rows k, method, value)."""
    fig = go.Figure()
    for method, part in curves.groupby("method", sort=False):
        fig.add_trace(go.Scatter(x=part["k"], y=part["value"], mode="lines", name=str(method)))
    fig.update_layout(
        height=height,
        margin={"l": 8, "r": 8, "t": 8, "b": 8},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0.0},
        xaxis_title="k (selected samples)",
        yaxis_title=y_title,
        hovermode="x unified",
    )
    return fig
