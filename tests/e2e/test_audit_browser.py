"""Issue 11 in Chromium: a bulk decision on a filtered Review queue, and its undo.

One `wavecurate app` server for this module on a synthetic workspace (tests/e2e/conftest.py).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from appserver import checked_tab, wait_idle
from synthetic import SyntheticWorkspace

from pipeline import review as rq
from pipeline.store import Workspace
from pipeline.store.queue import queue_rows
from pipeline.store.reviews import latest_review

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TIMEOUT = 60_000
SCREEN = {"width": 1440, "height": 900}
REASON = "judge rejects: spot-checked, all wrong"


@pytest.fixture
def tab(browser: Any) -> Any:
    with checked_tab(browser, viewport=SCREEN) as page:
        yield page


def _settle(page: Any) -> None:
    page.wait_for_timeout(250)
    wait_idle(page, timeout=TIMEOUT)


def _in_force(ws: Workspace, batch: str) -> int:
    return int(
        ws.db.execute(
            "SELECT COUNT(*) FROM reviews r WHERE r.batch_id = ? "
            "AND NOT EXISTS (SELECT 1 FROM reviews u WHERE u.undoes = r.id)",
            (batch,),
        ).fetchone()[0]
    )


def test_bulk_reject_a_filtered_queue_then_undo_the_batch(
    tab: Any, app_url: str, built: SyntheticWorkspace
) -> None:
    with Workspace(built.root) as ws:
        want = rq.build_queue(
            queue_rows(ws),
            rq.QueueFilter(judge_verdicts=frozenset({"reject"})),
            rq.SortOrder.INGESTION,
        )
    assert want, "the synthetic workspace has judge rejects"
    n = len(want)

    tab.goto(f"{app_url}/review?reviewer=bulker")
    wait_idle(tab, timeout=TIMEOUT)
    side = tab.locator('[data-testid="stSidebar"]')
    side.get_by_role("button", name="reject", exact=True).click()  # Judge verdict: reject
    _settle(tab)
    side.get_by_text(re.compile(rf"^Decide all {n:,} at once$")).click()
    _settle(tab)
    side.get_by_role("textbox", name="Reason for all").fill(REASON)
    side.get_by_role("textbox", name="Reason for all").press("Enter")
    _settle(tab)
    go = side.get_by_role("button", name=f"Reject {n:,} instances")
    assert go.is_disabled()  # the count is shown; nothing happens before the confirmation
    side.get_by_text(f"Yes, reject all {n:,} instances of this queue").click()
    _settle(tab)
    assert go.is_enabled()
    go.click()
    _settle(tab)
    side.get_by_role("button", name="Undo last batch").wait_for(timeout=TIMEOUT)

    with Workspace(built.root) as ws:
        batches = ws.db.execute(
            "SELECT batch_id, COUNT(*), COUNT(DISTINCT instance_id), MIN(reason), MAX(reason), "
            "MIN(verdict), MAX(verdict) FROM reviews WHERE reviewer = 'bulker' GROUP BY batch_id"
        ).fetchall()
        assert len(batches) == 1
        batch, rows, distinct, low_reason, high_reason, low_v, high_v = batches[0]
        assert batch is not None
        assert (rows, distinct) == (n, n)
        assert low_reason == high_reason == REASON and low_v == high_v == "reject"
        assert {r[0] for r in ws.db.execute(
            "SELECT instance_id FROM reviews WHERE batch_id = ?", (batch,)
        )} == set(want)  # fmt: skip
        assert _in_force(ws, batch) == n
        assert all(latest_review(ws, i, "bulker") is not None for i in want)

    side.get_by_role("button", name="Undo last batch").click()
    _settle(tab)
    with Workspace(built.root) as ws:
        assert _in_force(ws, batch) == 0
        assert all(latest_review(ws, i, "bulker") is None for i in want)
        undone = ws.db.execute(
            "SELECT COUNT(*) FROM reviews u JOIN reviews r ON u.undoes = r.id "
            "WHERE r.batch_id = ? AND u.reviewer = 'bulker'",
            (batch,),
        ).fetchone()[0]
    assert undone == n
    assert side.get_by_role("button", name="Undo last batch").count() == 0
