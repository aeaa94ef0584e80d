"""The Map page with 100,000 samples: time to interactive in Chromium, and a lasso round trip.

    python benchmarks/bench_map.py                # 100,000 projected samples, 10,000 coreset

Measures:
- the app: `wavecurate app` serving /map in headless Chromium, from navigation until the chart is
  drawn and the page idle (cold: first visit, the server reads the workspace; warm: cached);
  then a lasso drawn with the mouse until the selection's count is shown.
- the server: reading the map data, building the figure, applying a lasso to every point.
- side by side with a baseline: the naive figure (every sample a selectable WebGL point) against
  ours (a density layer and at most 20,000 points): figure size and Plotly's draw time in the
  same Chromium (plotly.js from the plotly package).
Aim: under 5 s to interactive at 100,000 samples.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import numpy as np  # noqa: E402
import plotly  # noqa: E402
import plotly.graph_objects as go  # noqa: E402
from figures import save_figures  # noqa: E402
from synthetic import build_workspace  # noqa: E402

from pipeline.mapsel import select_points  # noqa: E402
from pipeline.store import Workspace  # noqa: E402


def _map_frame(root: Path) -> Any:
    """The map data as the app reads it (without Streamlit's cache)."""
    import app.data as data

    with Workspace(root) as ws:
        started = time.perf_counter()
        md = data.map_base.__wrapped__(ws, str(root), ())  # type: ignore[attr-defined]
        return md, time.perf_counter() - started


def add_vectors(root: Path, dim: int = 384) -> None:
    """Random unit vectors for every kept sample under the coreset's model key, so the distance
    colouring reads and compares real 384-d vectors as it would after `wavecurate embed`."""
    from pipeline.store.vectors import (
        append_vectors,
        coreset_model_key,
        insert_embedding_rows,
        kept_texts,
    )

    with Workspace(root) as ws:
        key = coreset_model_key(ws) or "synth"
        ids, hashes, _ = kept_texts(ws, ws.config.embed.text)
        v = np.random.default_rng(0).normal(size=(len(ids), dim)).astype(np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        first = append_vectors(ws, key, v)
        insert_embedding_rows(ws, key, [(h, first + i) for i, h in enumerate(hashes)])


def _distances(root: Path) -> float:
    """Seconds to measure every sample's distance to its nearest coreset centre (what choosing
    "distance to the coreset" costs once per coreset; the Map's first load no longer pays it)."""
    import app.data as data

    with Workspace(root) as ws:
        md = data.map_base.__wrapped__(ws, str(root), ())  # type: ignore[attr-defined]
        started = time.perf_counter()
        dist = data._distances.__wrapped__(ws, str(root), ())  # type: ignore[attr-defined]
        assert len(dist) == len(md.ids) and not np.isnan(dist).all()
        return time.perf_counter() - started


def bench_server(root: Path) -> tuple[dict[str, Any], Any, Any]:
    from app.figures import map_figure

    md, read_s = _map_frame(root)
    distance_s = _distances(root)
    started = time.perf_counter()
    ours = map_figure(md.frame, "language")
    build_s = time.perf_counter() - started
    angle = np.linspace(0, 2 * np.pi, 300, endpoint=False)
    cx, cy = float(np.median(md.x)), float(np.median(md.y))
    lasso = {"x": (cx + 6 * np.cos(angle)).tolist(), "y": (cy + 6 * np.sin(angle)).tolist()}
    started = time.perf_counter()
    mask = select_points(md.x, md.y, {"lasso": [lasso]})
    select_s = time.perf_counter() - started

    naive = go.Figure()
    for language, part in md.frame.groupby("language"):
        naive.add_trace(
            go.Scattergl(
                x=part["x"], y=part["y"], mode="markers", name=str(language),
                customdata=part["id"].tolist(), marker={"size": 4},
            )
        )  # fmt: skip
    figures = {
        "samples": len(md.frame),
        "read_map_data_s": round(read_s, 3),
        "distance_colouring_s": round(distance_s, 3),
        "build_figure_s": round(build_s, 3),
        "lasso_over_all_points_ms": round(select_s * 1000, 1),
        "lasso_selected": int(mask.sum()),
        "figure_bytes_ours": len(ours.to_json()),
        "figure_bytes_naive": len(naive.to_json()),
    }
    return figures, ours, naive


def bench_plotly_draw(browser: Any, ours: Any, naive: Any) -> dict[str, float]:
    """Plotly.newPlot time for each figure in a bare page, in the same Chromium."""
    js = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    out = {}
    for name, fig in (("ours", ours), ("naive", naive)):
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.set_content("<div id='p' style='width:900px;height:620px'></div>")
        page.add_script_tag(path=str(js))
        spec = fig.to_json()
        ms = page.evaluate(
            """async (spec) => {
                const fig = JSON.parse(spec);
                const t = performance.now();
                await Plotly.newPlot('p', fig.data, fig.layout);
                await new Promise((r) => requestAnimationFrame(() => r()));
                return performance.now() - t;
            }""",
            spec,
        )
        out[f"plotly_draw_ms_{name}"] = round(float(ms), 1)
        page.close()
    return out


def _until_interactive(page: Any) -> None:
    """Wait until the map is drawn (Plotly has its traces) and the app is idle."""
    from e2e.appserver import wait_idle

    page.wait_for_function(
        "() => { const gd = document.querySelector('.js-plotly-plot');"
        " return gd && gd._fullData && gd._fullData.length > 1; }",
        timeout=120_000,
    )
    wait_idle(page, timeout=120_000)


def bench_app(browser: Any, root: Path, pause: float) -> dict[str, float]:
    """Three visits, each in a fresh browser context (no cached scripts), times from the
    navigation to the map drawn and the page idle (less the 0.15 s idle check):

    - `via_overview`: a fresh server; open the app (Overview), read it for `pause` seconds,
      click Map in the navigation. The usual path: the app loads the map in the background.
    - `direct_cold`: a fresh server, and the first request is /map.
    - `direct_warm`: /map again on that server; then a lasso round trip.
    """
    from e2e.appserver import app_server, lasso, wait_idle

    out: dict[str, float] = {}
    with app_server(root) as url:
        context = browser.new_context(viewport={"width": 1440, "height": 1000})
        page = context.new_page()
        page.goto(url)
        wait_idle(page, timeout=120_000)
        page.wait_for_timeout(pause * 1000)
        started = time.perf_counter()
        page.locator('[data-testid="stSidebarNav"]').get_by_text("Map", exact=True).click()
        _until_interactive(page)
        out["via_overview_s"] = round(time.perf_counter() - started - 0.15, 2)
        context.close()
    with app_server(root) as url:
        for visit in ("direct_cold", "direct_warm"):
            context = browser.new_context(viewport={"width": 1440, "height": 1000})
            page = context.new_page()
            started = time.perf_counter()
            page.goto(f"{url}/map")
            _until_interactive(page)
            out[f"{visit}_s"] = round(time.perf_counter() - started - 0.15, 2)
            if visit == "direct_warm":
                lasso(page, [(0.3, 0.3), (0.7, 0.3), (0.7, 0.7), (0.3, 0.7)])
                started = time.perf_counter()
                summary = page.get_by_text(re.compile(r"samples selected")).first
                summary.wait_for(timeout=60_000)
                wait_idle(page, timeout=60_000)
                out["lasso_round_trip_s"] = round(time.perf_counter() - started - 0.15, 2)
                text = summary.inner_text()
                out["lasso_selected"] = int(re.sub(r"\D", "", text.split("samples")[0]))
            context.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=100_000, help="projected samples")
    parser.add_argument("--coreset", type=int, default=10_000)
    parser.add_argument(
        "--pause", type=float, default=2.0, help="seconds spent on the Overview before Map"
    )
    parser.add_argument("--json", type=Path, help="write the figures here as JSON")
    args = parser.parse_args(argv)
    from e2e.appserver import launch_chromium
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        built = build_workspace(
            Path(tmp) / "ws", samples=int(args.samples / 0.85) + 200, coreset=args.coreset
        )
        add_vectors(built.root)
        print(f"workspace built in {time.perf_counter() - started:.1f}s")
        figures, ours, naive = bench_server(built.root)
        with sync_playwright() as pw:
            browser = launch_chromium(pw)
            figures |= bench_plotly_draw(browser, ours, naive)
            figures |= bench_app(browser, built.root, args.pause)
            browser.close()

    f = figures
    print(f"\nsamples projected: {f['samples']:,} (coreset {args.coreset:,})")
    print(
        f"Map page -> interactive, clicked from the Overview after {args.pause:.0f} s: "
        f"{f['via_overview_s']:.2f} s"
    )
    print(f"Map page -> interactive, direct link, cold server: {f['direct_cold_s']:.2f} s")
    print(f"Map page -> interactive, direct link, warm server: {f['direct_warm_s']:.2f} s")
    print(
        f"lasso in the browser -> count shown: {f['lasso_round_trip_s']:.2f} s "
        f"({f['lasso_selected']:,} samples)"
    )
    print(f"colour by distance to the coreset, first time (then cached): "
          f"{f['distance_colouring_s']:.2f} s")  # fmt: skip
    print(f"server: read map data {f['read_map_data_s']:.2f} s, build figure "
          f"{f['build_figure_s']:.2f} s, lasso over every point {f['lasso_over_all_points_ms']:.0f} ms")  # fmt: skip
    print(f"\n{'':28}{'ours':>14}{'naive':>14}{'ratio':>9}")
    for label, key in (
        ("figure size (bytes)", "figure_bytes"),
        ("Plotly draw (ms)", "plotly_draw_ms"),
    ):
        a, b = f[f"{key}_ours"], f[f"{key}_naive"]
        print(f"{label:28}{a:>14,.0f}{b:>14,.0f}{b / max(a, 1e-9):>8.1f}x")
    ok = max(f["via_overview_s"], f["direct_warm_s"]) < 5
    print(
        f"\naim: under 5 s to interactive (from the Overview, and warm): "
        f"{'met' if ok else 'MISSED'}; cold direct link {f['direct_cold_s']:.2f} s"
    )
    save_figures(args.json, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
