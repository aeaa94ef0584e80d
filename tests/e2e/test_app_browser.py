"""The app in headless Chromium against `wavecurate app`: pages, shortcuts, lasso, untrusted text."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from appserver import lasso, plot_point, wait_idle
from synthetic import HOSTILE_DOC, SyntheticWorkspace

from pipeline.store import Workspace
from pipeline.store import reviews as store

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TIMEOUT = 60_000


def _open(page: Any, url: str) -> None:
    page.goto(url)
    wait_idle(page, timeout=TIMEOUT)


def _instance(page: Any) -> str:
    return parse_qs(urlparse(page.url).query)["instance"][0]


def _sign_in(page: Any, name: str) -> None:
    field = page.get_by_label("Reviewer", exact=True).and_(page.locator("input"))
    field.fill(name)
    field.press("Enter")
    wait_idle(page, timeout=TIMEOUT)
    page.get_by_role("heading", name="Review").click()  # focus out of the text field


def _press(page: Any, key: str) -> None:
    page.keyboard.press(key)
    page.wait_for_timeout(200)
    wait_idle(page, timeout=TIMEOUT)


@pytest.mark.parametrize(
    ("path", "title"),
    [("", "Overview"), ("map", "Map"), ("review", "Review"), ("agreement", "Agreement"),
     ("export", "Export")],
)  # fmt: skip
def test_every_page_loads(page: Any, app_url: str, path: str, title: str) -> None:
    _open(page, f"{app_url}/{path}")
    assert page.get_by_role("heading", name=title, exact=True).is_visible()
    assert page.locator('[data-testid="stException"]').count() == 0
    nav = page.locator('[data-testid="stSidebarNav"]')
    for name in ("Overview", "Map", "Review", "Agreement", "Export"):
        assert nav.get_by_text(name, exact=True).is_visible()


def test_keyboard_shortcuts_review_and_move(
    page: Any, app_url: str, built: SyntheticWorkspace
) -> None:
    _open(page, f"{app_url}/review")
    _sign_in(page, "kbd")
    for label, key in (("Accept", "A"), ("Reject", "X"), ("Previous", "←"), ("Next", "→")):
        button = page.get_by_role("button", name=re.compile(label))
        assert key in button.inner_text()  # the shortcut is shown on the button
    first = _instance(page)
    _press(page, "a")
    second = _instance(page)
    assert second != first
    _press(page, "ArrowLeft")
    assert _instance(page) == first
    _press(page, "x")
    assert _instance(page) == second
    _press(page, "ArrowRight")
    third = _instance(page)
    assert third not in (first, second)
    with Workspace(built.root) as ws:
        mine = [r for r in store.review_history(ws, first) if r.reviewer == "kbd"]
    assert [r.verdict for r in mine] == ["accept", "reject"]


def test_shortcuts_do_not_fire_while_typing(
    page: Any, app_url: str, built: SyntheticWorkspace
) -> None:
    _open(page, f"{app_url}/review")
    _sign_in(page, "typist")
    here = _instance(page)
    reason = page.get_by_placeholder(re.compile("Why"))
    reason.click()
    reason.type("a bad example")
    page.wait_for_timeout(300)
    assert _instance(page) == here
    with Workspace(built.root) as ws:
        assert store.latest_review(ws, here, "typist") is None
    assert reason.input_value() == "a bad example"


def test_lasso_selects_samples_and_sends_them_to_review(page: Any, app_url: str) -> None:
    _open(page, f"{app_url}/map")
    lasso(page, [(0.2, 0.2), (0.8, 0.2), (0.8, 0.8), (0.2, 0.8)])
    page.wait_for_timeout(300)
    wait_idle(page, timeout=TIMEOUT)
    summary = page.get_by_text(re.compile(r"samples selected")).first
    summary.wait_for(timeout=TIMEOUT)
    selected = int(
        re.search(r"([\d,]+)\s*samples selected", summary.inner_text())[1].replace(",", "")
    )  # type: ignore[index]
    assert selected > 0
    page.get_by_role("button", name=re.compile(r"Review these")).click()
    page.get_by_role("heading", name="Review", exact=True).wait_for(timeout=TIMEOUT)
    wait_idle(page, timeout=TIMEOUT)
    page.get_by_text(re.compile("Queue limited to the map selection")).wait_for(timeout=TIMEOUT)


def test_clicking_a_point_opens_its_sample(
    page: Any, app_url: str, built: SyntheticWorkspace
) -> None:
    _open(page, f"{app_url}/map")
    page.locator(".js-plotly-plot").first.wait_for(state="visible", timeout=TIMEOUT)
    x, y, sample = plot_point(page, 0)
    page.mouse.click(x, y)
    page.wait_for_timeout(300)
    wait_idle(page, timeout=TIMEOUT)
    detail = page.locator(".st-key-map_sample")
    detail.wait_for(timeout=TIMEOUT)
    assert detail.locator('[data-testid="stCode"]').count() >= 1
    with Workspace(built.root) as ws:
        name = ws.db.execute("SELECT func_name FROM samples WHERE id = ?", (sample,)).fetchone()[0]
    assert name in detail.inner_text()


def test_untrusted_text_is_shown_literally(
    page: Any, app_url: str, built: SyntheticWorkspace
) -> None:
    _open(page, f"{app_url}/review?instance={built.hostile_instance}")
    assert _instance(page) == built.hostile_instance
    assert page.evaluate("() => window.__xss === undefined")
    assert page.locator('img[src="x"]').count() == 0
    assert page.locator("script", has_text="__xss").count() == 0
    instruction = page.locator(".st-key-rv_instruction").inner_text()
    assert HOSTILE_DOC in instruction  # the instruction, as text
    page.get_by_role("tab", name="Source").click()
    code = page.locator('[data-testid="stCode"]').filter(has_text="__xss=2").first.inner_text()
    assert '<img src=x onerror="window.__xss=1">' in code  # the source with its docstring
    assert "<script>window.__xss=2</script>" in code


def test_screenshots_script(browser: Any, app_url: str, tmp_path: Path) -> None:
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "scripts" / "screenshots.py"
    spec = importlib.util.spec_from_file_location("screenshots", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    saved = module.take(app_url, tmp_path, browser=browser)
    assert [p.name for p in saved] == [f"{n}.png" for n in module.PAGES]
    assert all(p.stat().st_size > 20_000 for p in saved)
