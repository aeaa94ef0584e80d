"""Plotly figures for the Map page: the pool as a density layer under selectable WebGL points."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from pipeline.mapsel import density_grid, smoothed, spread_sample
from pipeline.records import Verdict

MAX_POINTS = 6000  # selectable markers; the rest of the pool is the density layer
VERDICT_COLOURS = {
    Verdict.ACCEPT.value: "#3d9970",
    Verdict.REJECT.value: "#c44569",
    "no verdict": "#9aa5b1",
}
NEUTRAL = ("no instance", "no verdict", "unknown")


def selectable_indices(rank: np.ndarray, *, limit: int = MAX_POINTS, seed: int = 0) -> np.ndarray:
    """Indices of the points drawn as markers: the coreset (a seeded sample of it when it is
    larger than `limit`), or a seeded sample of the pool when there is no coreset."""
    coreset = np.flatnonzero(rank >= 0)
    n = rank.shape[0]
    if coreset.size:
        return spread_sample(n, min(limit, coreset.size), seed=seed, prefer=coreset.tolist())
    return spread_sample(n, min(limit, n), seed=seed)


def map_figure(frame: pd.DataFrame, colour_by: str, *, height: int = 620) -> go.Figure:
    """The map: a log-density heatmap of every point, and the selectable points coloured by
    `colour_by` (a column of `frame`: language, task or verdict), one trace per value, each
    point's sample id in `customdata`."""
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
                name="all samples (density)",
                zsmooth="best",
            )
        )
    picked = frame.iloc[selectable_indices(frame["rank"].to_numpy())]
    values = sorted(picked[colour_by].unique(), key=lambda v: (v in NEUTRAL, str(v)))
    for value in values:
        part = picked[picked[colour_by] == value]
        marker: dict[str, object] = {"size": 7, "line": {"width": 0.8, "color": "white"}}
        if colour_by == "verdict":
            marker["color"] = VERDICT_COLOURS.get(str(value), "#9aa5b1")
        elif value in NEUTRAL:
            marker["color"] = "#9aa5b1"
        fig.add_trace(
            go.Scattergl(
                x=part["x"],
                y=part["y"],
                mode="markers",
                name=str(value),
                customdata=part["id"].tolist(),
                text=[html.escape(str(t)) for t in part["func_name"]],
                hovertemplate="%{text}<extra>%{fullData.name}</extra>",
                marker=marker,
                unselected={"marker": {"opacity": 0.25}},
                showlegend=True,
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
