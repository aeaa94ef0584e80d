"""Screenshots and measurements of the Review page at 1440×900, one per kind of instance.

    python scripts/review_screens.py --workspace demo                 # docs/screenshots/review-*
    python scripts/review_screens.py --workspace demo --measure-only  # print the figures only

For a generation, a repair and a rejected instance (the first of each in the workspace, or the
ids given with --instance KIND=ID), opens `/review?instance=ID&reviewer=NAME` in headless
Chromium at 1440×900 and prints, per instance, the page's content height (px; the main section's
scrollHeight) and where the instruction, input, output and failed criteria end up (px from the
top of the window; "fits" when each is inside the first screen: the output's first 60 px).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from e2e.appserver import app_server, launch_chromium, wait_idle  # noqa: E402

VIEWPORT = {"width": 1440, "height": 900}
OUTPUT_START = 60  # px of the output that must show on the first screen

MEASURE = """() => {
  const box = (sel) => {
    const el = document.querySelector(sel);
    if (!el) return null;
    const r = el.getBoundingClientRect();
    return {top: Math.round(r.top), bottom: Math.round(r.bottom)};
  };
  const main = document.querySelector('[data-testid="stMain"]');
  const fails = [...document.querySelectorAll('[class*="st-key-rv_fail_"]')].map((el) => {
    const r = el.getBoundingClientRect();
    return {top: Math.round(r.top), bottom: Math.round(r.bottom)};
  });
  return {
    height: Math.max(main ? main.scrollHeight : 0, document.body.scrollHeight),
    instruction: box('.st-key-rv_instruction'),
    input: box('.st-key-rv_input'),
    output: box('.st-key-rv_output'),
    failed: fails,
  };
}"""


def typical_instances(root: Path) -> dict[str, str]:
    """The first generation, repair and judge-rejected instance (status ok) of the workspace."""
    db = sqlite3.connect(root / "wavecurate.db")
    out: dict[str, str] = {}
    q = (
        "SELECT i.id FROM instances i JOIN samples s ON s.id = i.sample_id "
        "LEFT JOIN judge_results j ON j.instance_id = i.id WHERE i.status = 'ok' AND "
    )
    for kind, where in (
        ("generation", "i.task = 'code_generation' AND j.verdict = 'accept'"),
        ("repair", "i.task = 'code_repair'"),
        ("rejected", "j.verdict = 'reject'"),
    ):
        row = db.execute(q + where + " ORDER BY s.seq, i.id LIMIT 1").fetchone()
        if row:
            out[kind] = row[0]
    db.close()
    return out


def fits(m: dict[str, Any], height: int = VIEWPORT["height"]) -> bool:
    """True when instruction, input, the output's start and every failed criterion are inside
    the first screen."""
    parts = [m.get("instruction"), m.get("input")]
    if any(p is None or p["bottom"] > height for p in parts):
        return False
    out = m.get("output")
    if out is None or out["top"] + OUTPUT_START > height:
        return False
    return all(f["bottom"] <= height for f in m.get("failed") or [])


def measure(url: str, ids: dict[str, str], out: Path | None, reviewer: str, browser: Any) -> dict:
    """Open each instance, measure it, and save `review-<kind>.png` in `out` (when given)."""
    results: dict[str, Any] = {}
    page = browser.new_page(viewport=VIEWPORT, device_scale_factor=1)
    for kind, iid in ids.items():
        page.goto(f"{url}/review?instance={iid}&reviewer={reviewer}")
        wait_idle(page, timeout=60_000)
        page.wait_for_timeout(400)
        m = page.evaluate(MEASURE)
        m["fits"] = fits(m)
        m["id"] = iid
        results[kind] = m
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out / f"review-{kind}.png"))
    page.close()
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workspace", "-w", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    ap.add_argument("--measure-only", action="store_true")
    ap.add_argument("--instance", action="append", default=[], help="KIND=ID (repeatable)")
    ap.add_argument("--reviewer", default="ana")
    args = ap.parse_args()
    ids = typical_instances(args.workspace)
    ids.update(dict(a.split("=", 1) for a in args.instance))
    from playwright.sync_api import sync_playwright

    with app_server(args.workspace) as url, sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            out = None if args.measure_only else args.out
            print(json.dumps(measure(url, ids, out, args.reviewer, browser), indent=1))
        finally:
            browser.close()


if __name__ == "__main__":
    main()
