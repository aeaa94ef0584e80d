"""Screenshots of every page of the app for the README, taken in headless Chromium.

    python scripts/screenshots.py --workspace demo            # the demo workspace
    python scripts/screenshots.py                             # a synthetic workspace

Serves `wavecurate app` on a free port, opens Overview, Map (with a lasso selection and a sample
open), Review, Agreement and Export at 1440×1000, and writes docs/screenshots/<page>.png.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from e2e.appserver import app_server, lasso, launch_chromium, plot_point, wait_idle  # noqa: E402

VIEWPORT = {"width": 1440, "height": 1000}
PAGES = ("overview", "map", "review", "agreement", "export")


def full_height(page: Any, limit: int = 3200) -> None:
    """Grow the viewport to the page's content (Streamlit scrolls inside its main section, so a
    plain full-page screenshot would stop at the first screen)."""
    script = """() => Math.max(document.body.scrollHeight,
        ...["stMain", "stSidebarContent"].map(
            (id) => document.querySelector(`[data-testid="${id}"]`)?.scrollHeight || 0))"""
    for _ in range(3):  # charts and tables settle after a resize: measure until it holds
        height = min(int(page.evaluate(script)), limit)
        if height == page.viewport_size["height"]:
            break
        page.set_viewport_size({"width": VIEWPORT["width"], "height": height})
        wait_idle(page, timeout=60_000)
        page.wait_for_timeout(500)


def take(url: str, out: Path, *, reviewer: str = "ana", browser: Any = None) -> list[Path]:
    """Open each page at `url` and save a PNG per page in `out`; return the paths.

    `browser`: a Playwright browser to use (default: launch headless Chromium here).
    """
    if browser is None:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            chromium = launch_chromium(pw)
            try:
                return take(url, out, reviewer=reviewer, browser=chromium)
            finally:
                chromium.close()
    out.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    page = browser.new_page(viewport=VIEWPORT, device_scale_factor=1)
    for name in PAGES:
        page.goto(f"{url}/{'' if name == 'overview' else name}")
        wait_idle(page, timeout=60_000)
        if name == "map":
            page.locator(".js-plotly-plot").first.wait_for(state="visible", timeout=60_000)
            x, y, _ = plot_point(page, 0)
            page.mouse.click(x, y)  # opens the sample
            wait_idle(page, timeout=60_000)
            lasso(page, [(0.12, 0.15), (0.85, 0.1), (0.9, 0.7), (0.5, 0.92), (0.1, 0.75)])
            page.wait_for_timeout(300)
            wait_idle(page, timeout=60_000)
        if name == "review":
            field = page.get_by_label("Reviewer", exact=True).and_(page.locator("input"))
            field.fill(reviewer)
            field.press("Enter")
            wait_idle(page, timeout=60_000)
        path = out / f"{name}.png"
        full_height(page)
        page.screenshot(path=str(path))
        page.set_viewport_size(VIEWPORT)
        saved.append(path)
    page.close()
    return saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workspace", type=Path, help="workspace (default: a synthetic one)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        workspace = args.workspace
        if workspace is None:
            from synthetic import build_workspace

            workspace = build_workspace(Path(tmp) / "ws", samples=3000, coreset=400).root
        with app_server(workspace) as url:
            for path in take(url, args.out):
                print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
