"""Review latency: from an accept to the next instance shown, on a workspace of 20,000 instances.

    python benchmarks/bench_review.py                 # AppTest (the server side) + pipeline calls
    python benchmarks/bench_review.py --browser       # also key press -> next instance in Chromium

Measures, side by side with a baseline:
- ours: the Review page as the app runs it. The queue is a snapshot taken when the filters change;
  an accept appends one row and the rerun reads one instance and the reviewed set.
- baseline: the same accept, then re-reading and re-filtering the whole queue (what a page that
  rebuilt its queue on every rerun would pay).
Aim: under 300 ms from the click to the next instance rendered.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from figures import save_figures  # noqa: E402
from synthetic import build_workspace  # noqa: E402

from pipeline import review as rq  # noqa: E402
from pipeline.store import Workspace  # noqa: E402
from pipeline.store import queue as store_queue  # noqa: E402
from pipeline.store import reviews as store  # noqa: E402
from pipeline.store.flags import flags_for  # noqa: E402

APP = ROOT / "app" / "main.py"


def _ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 1),
        "p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


def _time(fn: Callable[[], Any], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def bench_apptest(root: Path, repeat: int) -> dict[str, float]:
    """Click Accept `repeat` times; each click is one full rerun that renders the next one."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state["workspace_path"] = str(root)
    at.session_state["reviewer"] = "bench"
    at.run()
    at.switch_page("views/review.py").run()
    at.button(key="rv_accept").click().run()  # warm
    seen = []

    def accept() -> None:
        at.button(key="rv_accept").click().run()
        assert not at.exception, [e.message for e in at.exception]
        seen.append(at.query_params["instance"])

    result = _ms(_time(accept, repeat))
    assert len(set(map(str, seen))) == repeat, "every accept showed a new instance"
    return result


def bench_calls(root: Path, repeat: int) -> dict[str, dict[str, float]]:
    """The pipeline calls one accept makes, and the baseline's extra queue rebuild."""
    ws = Workspace(root)
    ids = [r.instance_id for r in store_queue.queue_rows(ws)]
    it = iter(ids[-repeat * 4 :])
    out = {
        "add_review": _ms(_time(lambda: store.add_review(ws, next(it), "calls", "accept"), repeat)),
        "instance_detail": _ms(_time(lambda: store_queue.instance_detail(ws, ids[0]), repeat)),
        "reviewed_instance_ids": _ms(_time(lambda: store_queue.reviewed_instance_ids(ws), repeat)),
        "flags_for": _ms(_time(lambda: flags_for(ws, ids[0]), repeat)),
        "baseline: queue_rows + build_queue": _ms(
            _time(
                lambda: rq.build_queue(
                    store_queue.queue_rows(ws),
                    rq.QueueFilter(human=rq.HumanStatus.UNREVIEWED),
                    rq.SortOrder.INGESTION,
                ),
                max(3, repeat // 4),
            )
        ),
    }
    ws.close()
    return out


def bench_browser(root: Path, repeat: int) -> dict[str, float]:
    """Key press `A` -> the next instance's id in the URL and the page idle, in Chromium."""
    from urllib.parse import parse_qs, urlparse

    from e2e.appserver import IDLE, app_server, launch_chromium, wait_idle
    from playwright.sync_api import sync_playwright

    def current(page: Any) -> str:
        return parse_qs(urlparse(page.url).query)["instance"][0]

    with app_server(root, env={"WAVECURATE_REVIEWER": "browser"}) as url, sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.goto(f"{url}/review")
        wait_idle(page, timeout=120_000)
        page.get_by_role("heading", name="Review").click()
        times = []
        for _ in range(repeat + 1):
            before = current(page)
            start = time.perf_counter()
            page.keyboard.press("a")
            page.wait_for_function(
                "(b) => new URL(location.href).searchParams.get('instance') !== b",
                arg=before,
                timeout=30_000,
            )
            page.wait_for_selector(IDLE, timeout=30_000)  # the rerun has finished rendering
            times.append(time.perf_counter() - start)
            wait_idle(page, timeout=30_000)
        browser.close()
    return _ms(times[1:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--browser", action="store_true", help="also measure in Chromium")
    parser.add_argument("--json", type=Path, help="write the figures here as JSON")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        coreset = int(args.instances * 1.045) + 10  # ~4% of generations fail or skip
        built = build_workspace(
            Path(tmp) / "ws", samples=int(coreset * 1.25), coreset=coreset, reviewed_share=0.2
        )
        print(
            f"workspace: {len(built.instance_ids):,} instances, {len(built.sample_ids):,} "
            f"samples (built in {time.perf_counter() - started:.1f}s)"
        )
        figures: dict[str, Any] = {"instances": len(built.instance_ids)}
        figures["accept_to_next_apptest"] = bench_apptest(built.root, args.repeat)
        figures["calls"] = bench_calls(built.root, args.repeat)
        if args.browser:
            figures["accept_to_next_chromium"] = bench_browser(built.root, min(args.repeat, 25))

    ours = figures["accept_to_next_apptest"]["median_ms"]
    calls = figures["calls"]
    per_accept = sum(
        calls[k]["median_ms"]
        for k in ("add_review", "instance_detail", "reviewed_instance_ids", "flags_for")
    )
    baseline = per_accept + calls["baseline: queue_rows + build_queue"]["median_ms"]
    print(f"\n{'':44}{'median':>10}{'p90':>10}{'max':>10}")
    rows = [("accept -> next shown (AppTest rerun)", figures["accept_to_next_apptest"])]
    if "accept_to_next_chromium" in figures:
        rows.append(("accept -> next shown (Chromium, key A)", figures["accept_to_next_chromium"]))
    rows += [(f"  {k}", v) for k, v in calls.items()]
    for name, v in rows:
        print(f"{name:44}{v['median_ms']:>8.1f}ms{v['p90_ms']:>8.1f}ms{v['max_ms']:>8.1f}ms")
    print(
        f"\npipeline calls per accept: ours {per_accept:.1f} ms vs baseline (rebuild the queue) "
        f"{baseline:.1f} ms: {baseline / max(per_accept, 1e-9):.1f}x"
    )
    print(f"aim: accept -> next under 300 ms: {'met' if ours < 300 else 'MISSED'} ({ours:.0f} ms)")
    save_figures(args.json, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
