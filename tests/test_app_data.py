"""The app's pure shaping helpers (app/data.py, app/text.py) and its figures (app/figures.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from app import data, figures
from app.text import plain, short


def test_funnel_frame_in_pipeline_order() -> None:
    f = {"ingested": 10, "dropped": {"too_long": 2, "blacklist": 1}, "kept": 7, "embedded": 7,
         "coreset": 4, "instances": 3, "judged": 3, "reviewed": 1, "flagged": 0, "exportable": 2}  # fmt: skip
    frame = data.funnel_frame(f)
    assert frame["count"].tolist() == [10, 3, 7, 7, 4, 3, 3, 1, 0, 2]
    assert frame.loc[frame["kind"] == "loss", "stage"].tolist() == [
        "Dropped by the filters",
        "Flagged: benchmark overlap",
    ]
    parts = data.breakdown_frames(
        {
            **f,
            "by_task": {"code_repair": 1, "code_generation": 2},
            "judge_accepted": 2,
            "judge_rejected": 1,
            "accepted": 1,
            "rejected": 2,
        }
    )
    assert parts["dropped"].values.tolist() == [["blacklist", 1], ["too_long", 2]]
    assert parts["tasks"]["task"].tolist() == ["generation", "repair"]
    assert parts["verdicts"]["count"].tolist() == [2, 1, 1, 2]
    assert data.breakdown_frames({})["dropped"].empty


def test_coverage_frames_read_the_select_stage_metric() -> None:
    cov = {
        "k": [1, 2, 4],
        "kcenter": [1.0, 0.8, 0.5],
        "random": [1.1, 1.0, 0.9],
        "mean": {"kcenter": [0.5, 0.4, 0.2]},
        "final": {"kcenter": {"radius": 0.5, "mean": 0.2, "p99": 0.45, "within": 0.9}},
    }
    radius = data.coverage_frame(cov)
    assert set(radius["method"]) == {"k-center greedy", "random"}
    assert radius[radius["method"] == "random"]["value"].tolist() == [1.1, 1.0, 0.9]
    assert data.coverage_frame(cov, "mean")["value"].tolist() == [0.5, 0.4, 0.2]
    assert data.coverage_frame(None).empty and data.coverage_frame(cov, "within").empty
    summary = data.coverage_summary(cov)
    assert summary.to_dict("records") == [
        {"method": "k-center greedy", "radius": 0.5, "mean": 0.2, "p99": 0.45, "within δ": 0.9}
    ]
    assert data.coverage_summary({}).empty


def test_runs_frame_flattens_counts() -> None:
    runs = [{"stage": "filter", "seconds": 1.234, "status": "done",
             "finished_at": "2025-01-01T01:02:03.456+00:00",
             "counts": {"dropped": {"too_long": 5, "blacklist": 1}, "kept": 9}}]  # fmt: skip
    row = data.runs_frame(runs).iloc[0].to_dict()
    assert row["finished"] == "2025-01-01 01:02:03"
    assert row["counts"] == "dropped: blacklist 1, too_long 5; kept: 9"
    assert data.runs_frame([]).empty


def test_export_preview_tables() -> None:
    alpaca = [{"instruction": "do", "input": "", "output": "x"}]
    assert data.export_preview(alpaca).columns.tolist() == ["instruction", "input", "output"]
    chat = [{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}]
    assert data.export_preview(chat).to_dict("records") == [{"user": "q", "assistant": "a"}]
    full = [{"id": "i", "judgments": [{"criterion": "c"}], "score": 1.0}]
    assert data.export_preview(full).columns.tolist() == ["id", "score"]


def test_plain_escapes_markdown_and_markup() -> None:
    text = "<img src=x onerror=alert(1)> **bold** [link](http://x) :material/home: _u_"
    escaped = plain(text)
    assert "\\<img" in escaped and "\\*\\*bold" in escaped and "\\[link\\]" in escaped
    assert escaped.replace("\\", "") == text
    assert short("first line\nsecond", 5) == "firs…"
    assert short("") == ""


def _map_frame(n: int, coreset: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "id": [f"s{i}" for i in range(n)],
            "x": rng.normal(size=n),
            "y": rng.normal(size=n),
            "rank": np.where(np.arange(n) < coreset, np.arange(n), -1),
            "func_name": ["<b>f</b>"] * n,
            "language": rng.choice(["python", "go"], size=n),
            "task": "no instance",
            "verdict": "no verdict",
            "distance": rng.random(size=n),
        }
    )


def test_map_figure_draws_every_sample_under_the_limit() -> None:
    frame = _map_frame(3000, 400)
    fig = figures.map_figure(frame, "language", opened="s5", matches=frozenset({"s1", "s2"}))
    assert fig.data[0].type == "heatmap" and fig.data[0].showlegend  # the pool shading, named
    points = [t for t in fig.data if t.type == "scattergl"]
    names = [t.name for t in points]
    assert names[0] == figures.POOL_NAME and names[-2:] == ["search matches (2)", "opened sample"]
    drawn = {i for t in points[:-2] for i in t.customdata}
    assert drawn == set(frame["id"])  # every sample can be hovered and clicked
    assert list(points[-1].customdata) == ["s5"]
    assert points[0].text[0] == "&lt;b&gt;f&lt;/b&gt;"  # hover text is escaped, not markup
    by_distance = figures.map_figure(frame, "distance")
    shaded = next(t for t in by_distance.data if t.name == figures.POOL_NAME)
    assert shaded.marker.showscale and len(shaded.marker.color) == 2600  # the pool, by distance
    assert len(next(t for t in by_distance.data if t.name == "coreset").x) == 400


def test_map_figure_above_the_limit_keeps_the_coreset() -> None:
    frame = _map_frame(figures.MAX_POINTS + 5000, 8000)
    fig = figures.map_figure(frame, "language")
    points = [t for t in fig.data if t.type == "scattergl"]
    drawn = {i for t in points for i in t.customdata}
    assert len(drawn) == figures.MAX_POINTS
    assert {f"s{i}" for i in range(8000)} <= drawn  # the coreset, then a spread of the rest
    by_verdict = figures.map_figure(frame.head(100), "verdict")
    assert [t.name for t in by_verdict.data[1:]] == ["no verdict"]  # all 100 in the coreset
