"""Issue 12 in Chromium at 1440×900: keys, drafts, identity, one screen, export, map.

One `wavecurate app` server per module (tests/e2e/conftest.py); each test opens its own
browser context, so cookies and sessions do not leak between tests.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from appserver import checked_tab, plot_point, wait_idle
from synthetic import SyntheticWorkspace

from pipeline.store import Workspace
from pipeline.store import reviews as store
from pipeline.store.drafts import get_draft

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TIMEOUT = 60_000
SCREEN = {"width": 1440, "height": 900}


def _screens() -> Any:
    path = Path(__file__).resolve().parents[2] / "scripts" / "review_screens.py"
    spec = importlib.util.spec_from_file_location("review_screens", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def tab(browser: Any) -> Any:
    with checked_tab(browser, viewport=SCREEN, accept_downloads=True) as page:
        yield page


def _go(page: Any, url: str) -> None:
    page.goto(url)
    wait_idle(page, timeout=TIMEOUT)


def _param(page: Any, name: str) -> str | None:
    values = parse_qs(urlparse(page.url).query).get(name)
    return values[0] if values else None


def _press(page: Any, key: str) -> None:
    page.keyboard.press(key)
    page.wait_for_timeout(250)
    wait_idle(page, timeout=TIMEOUT)


def _focused_tag(page: Any) -> str:
    return str(page.evaluate("() => document.activeElement ? document.activeElement.tagName : ''"))


def test_keys_never_fire_in_a_text_field_and_u_undoes_a_stack(
    tab: Any, app_url: str, built: SyntheticWorkspace
) -> None:
    _go(tab, f"{app_url}/review?reviewer=kbd")
    first = _param(tab, "instance")
    reason = tab.get_by_role("textbox", name="Reason", exact=True)
    reason.click()
    reason.type("xa ua")  # X, A, U typed into the field: no shortcut fires
    tab.wait_for_timeout(300)
    assert _param(tab, "instance") == first and reason.input_value() == "xa ua"
    tab.keyboard.press("Escape")  # Esc leaves the field
    tab.wait_for_timeout(200)
    assert _focused_tag(tab) not in ("INPUT", "TEXTAREA")
    reason.click()
    tab.keyboard.press("Control+a")
    reason.type("looks fine")
    _press(tab, "Enter")  # commits the reason and leaves the field
    assert _focused_tag(tab) not in ("INPUT", "TEXTAREA")
    _press(tab, "a")  # now A accepts, with the reason as typed
    second = _param(tab, "instance")
    assert second != first
    with Workspace(built.root) as ws:
        latest = store.latest_review(ws, str(first), "kbd")
    assert latest is not None and (latest.verdict, latest.reason) == ("accept", "looks fine")
    _press(tab, "x")  # reject the second, then move on
    _press(tab, "ArrowRight")
    _press(tab, "u")  # undoes the reject of `second`, wherever the queue stands
    assert _param(tab, "instance") == second
    tab.get_by_text(re.compile(f"Undid your reject of {second}")).first.wait_for(timeout=TIMEOUT)
    _press(tab, "u")  # U again: the accept before it
    assert _param(tab, "instance") == first
    with Workspace(built.root) as ws:
        assert store.latest_review(ws, str(first), "kbd") is None
        assert store.latest_review(ws, str(second), "kbd") is None
    # the name box: typing a name never fires a shortcut either
    name = tab.get_by_label("Reviewer", exact=True).and_(tab.locator("input"))
    name.click()
    name.press("End")
    name.type("ax")
    tab.wait_for_timeout(300)
    assert _param(tab, "instance") == first
    assert name.input_value() == "kbdax"


def test_a_draft_survives_moving_away_and_a_reload(
    tab: Any, app_url: str, built: SyntheticWorkspace
) -> None:
    target = built.instance_ids[5]
    _go(tab, f"{app_url}/review?instance={target}&reviewer=drafter")
    reason = tab.get_by_role("textbox", name="Reason", exact=True)
    reason.fill("half done")
    _press(tab, "Enter")
    assert _focused_tag(tab) not in ("INPUT", "TEXTAREA")  # Enter left the field
    _press(tab, "ArrowRight")
    assert _param(tab, "instance") != target
    _press(tab, "ArrowLeft")
    assert _param(tab, "instance") == target
    assert tab.get_by_role("textbox", name="Reason", exact=True).input_value() == "half done"
    tab.reload()
    wait_idle(tab, timeout=TIMEOUT)
    assert tab.get_by_role("textbox", name="Reason", exact=True).input_value() == "half done"
    assert tab.get_by_text(re.compile("draft: a reason")).first.is_visible()
    with Workspace(built.root) as ws:
        draft = get_draft(ws, target, "drafter")
    assert draft is not None and draft.reason == "half done"
    tab.get_by_role("button", name=re.compile("Discard draft")).click()
    wait_idle(tab, timeout=TIMEOUT)
    assert tab.get_by_role("textbox", name="Reason", exact=True).input_value() == ""
    with Workspace(built.root) as ws:
        assert get_draft(ws, target, "drafter") is None


def test_the_name_survives_a_reload_and_a_deep_link(
    browser: Any, tab: Any, app_url: str, built: SyntheticWorkspace
) -> None:
    _go(tab, f"{app_url}/review")
    name = tab.get_by_label("Reviewer", exact=True).and_(tab.locator("input"))
    name.fill("ida")
    _press(tab, "Enter")
    assert _param(tab, "reviewer") == "ida"
    tab.locator('[data-testid="stSidebarNav"]').get_by_text("Map", exact=True).click()
    wait_idle(tab, timeout=TIMEOUT)
    assert _param(tab, "reviewer") == "ida"  # kept in every link
    tab.reload()
    wait_idle(tab, timeout=TIMEOUT)
    name = tab.get_by_label("Reviewer", exact=True).and_(tab.locator("input"))
    assert name.input_value() == "ida"
    # the same browser without the parameter: the cookie brings the name back
    _go(tab, f"{app_url}/review")
    assert tab.get_by_label("Reviewer", exact=True).and_(tab.locator("input")).input_value() == (
        "ida"
    )
    # a deep link in a fresh browser opens ready to decide
    other = browser.new_context(viewport=SCREEN)
    try:
        page = other.new_page()
        target = built.instance_ids[9]
        _go(page, f"{app_url}/review?instance={target}&reviewer=joe")
        assert _param(page, "instance") == target
        assert page.get_by_role("button", name=re.compile("Accept")).is_enabled()
    finally:
        other.close()


def test_one_instance_fits_one_screen(tab: Any, app_url: str, built: SyntheticWorkspace) -> None:
    screens = _screens()
    with Workspace(built.root) as ws:
        rejected = [
            r[0]
            for r in ws.db.execute(
                "SELECT instance_id FROM judge_results WHERE verdict = 'reject' LIMIT 5"
            )
        ]
    assert rejected
    for iid in rejected[:2]:
        _go(tab, f"{app_url}/review?instance={iid}&reviewer=ana")
        # the deep link is applied by a rerun after the first render: wait for its cards
        tab.wait_for_selector('[class*="st-key-rv_fail_"]', timeout=TIMEOUT)
        wait_idle(tab, timeout=TIMEOUT)
        m = tab.evaluate(screens.MEASURE)
        assert m["failed"], "a rejected instance shows its failed criteria open"
        assert screens.fits(m), json.dumps(m)
        # failed criteria come first; the passed ones are collapsed
        assert tab.locator('[class*="st-key-rv_pass_"]').first.is_hidden()
        # code scrolls sideways instead of wrapping
        wraps = tab.evaluate(
            "() => [...document.querySelectorAll('[data-testid=\"stCode\"] pre')]"
            ".map((p) => getComputedStyle(p).whiteSpace)"
        )
        assert wraps and not any(w in ("pre-wrap", "normal") for w in wraps), wraps


def test_the_export_downloaded_is_the_one_on_screen(tab: Any, app_url: str) -> None:
    _go(tab, f"{app_url}/export")
    tab.get_by_role("radio", name="messages").click()
    wait_idle(tab, timeout=TIMEOUT)
    tab.get_by_text("reject", exact=True).click()  # the verdict pills
    wait_idle(tab, timeout=TIMEOUT)
    shown = tab.locator('[data-testid="stMetric"]').first.locator('[data-testid="stMetricValue"]')
    count = int(shown.inner_text().replace(",", ""))
    with tab.expect_download() as info:
        tab.get_by_role("button", name=re.compile("Download JSONL")).click()
    path = info.value.path()
    rows = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    assert info.value.suggested_filename == "wavecurate-messages.jsonl"
    assert len(rows) == count > 0
    assert all("messages" in r for r in rows)


def test_map_every_point_clickable_opened_beside_and_search(
    tab: Any, app_url: str, built: SyntheticWorkspace
) -> None:
    _go(tab, f"{app_url}/map")
    chart = tab.locator(".js-plotly-plot").first
    chart.wait_for(state="visible", timeout=TIMEOUT)
    drawn = tab.evaluate(
        "() => document.querySelector('.js-plotly-plot')._fullData"
        ".filter((t) => t.type === 'scattergl').reduce((n, t) => n + t.x.length, 0)"
    )
    with Workspace(built.root) as ws:
        projected = ws.db.execute("SELECT COUNT(*) FROM projection").fetchone()[0]
    assert drawn == projected  # every sample is a point
    legend = str(tab.locator(".js-plotly-plot .legend").first.text_content())
    assert "pool (not in the coreset)" in legend and "pool density" in legend
    x, y, sample = plot_point(tab, 0)  # the first trace is the pool: not a coreset sample
    assert sample not in built.coreset_ids
    tab.mouse.click(x, y)
    tab.wait_for_timeout(300)
    wait_idle(tab, timeout=TIMEOUT)
    detail = tab.locator(".st-key-map_sample")
    detail.wait_for(timeout=TIMEOUT)
    box, plot = detail.bounding_box(), chart.bounding_box()
    assert box["x"] > plot["x"] + plot["width"] - 5 and box["y"] < SCREEN["height"]  # beside
    names = tab.evaluate(
        "() => document.querySelector('.js-plotly-plot')._fullData.map((t) => t.name)"
    )
    assert "opened sample" in names
    # the colouring changes, the selection stays
    tab.get_by_role("radio", name="task").click()
    wait_idle(tab, timeout=TIMEOUT)
    assert tab.get_by_text(re.compile(r"samples selected")).first.is_visible()
    # search by function name: matches ringed on the map and sent to the Review queue
    tab.get_by_placeholder("function name or text").fill("hostile")
    _press(tab, "Enter")
    tab.get_by_text(re.compile(r"samples match")).first.wait_for(timeout=TIMEOUT)
    names = tab.evaluate(
        "() => document.querySelector('.js-plotly-plot')._fullData.map((t) => t.name)"
    )
    assert any(str(n).startswith("search matches") for n in names)
    tab.get_by_role("button", name=re.compile("Review matches")).click()
    tab.get_by_text(re.compile("Queue limited to the search")).first.wait_for(timeout=TIMEOUT)
