"""Each review action through AppTest: every click lands as an append-only row in the workspace."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from synthetic import SyntheticWorkspace, build_workspace
from test_app_pages import open_app

from pipeline.store import Workspace
from pipeline.store import queue as store_queue
from pipeline.store import reviews as store


@pytest.fixture
def built(tmp_path: Path) -> SyntheticWorkspace:
    return build_workspace(tmp_path / "w", samples=300, coreset=60)


@pytest.fixture
def ws(built: SyntheticWorkspace) -> Iterator[Workspace]:
    workspace = Workspace(built.root)
    yield workspace
    workspace.close()


def _current(at: AppTest) -> str:
    """The instance on screen: the deep link the page writes to the URL."""
    value = at.query_params["instance"]
    return str(value[-1] if isinstance(value, list) else value)


def _progress(at: AppTest) -> tuple[int, int]:
    """(reviewed, total) as the page's head says it: "Instance 1 of 40 · 3 of 40 reviewed"."""
    heads = [c.value for c in at.caption if c.value.startswith("Instance ")]
    assert len(heads) == 1, heads
    words = heads[0].split(" · ")[1].replace(",", "").split()
    assert words[1] == "of" and words[3] == "reviewed", words
    return int(words[0]), int(words[2])


def _click(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click().run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_accept_records_a_review_and_moves_on(built: SyntheticWorkspace, ws: Workspace) -> None:
    at = open_app(built.root, "review", reviewer="ana")
    first = _current(at)
    assert store.latest_review(ws, first) is None  # a fresh instance: accepting it counts
    done, total = _progress(at)
    assert total == len(at.session_state["review_queue"]["ids"]) > 0
    assert any(c.value.startswith(f"Instance 1 of {total:,} ·") for c in at.caption)
    _click(at, "rv_accept")
    assert _progress(at) == (done + 1, total)
    latest = store.latest_review(ws, first)
    assert latest is not None
    assert (latest.reviewer, latest.verdict, latest.flips, latest.edits) == (
        "ana",
        "accept",
        {},
        {},
    )
    assert _current(at) != first
    assert at.session_state["review_queue"]["cursor"] == 1


def test_reject_with_a_reason(built: SyntheticWorkspace, ws: Workspace) -> None:
    at = open_app(built.root, "review", reviewer="ana")
    first = _current(at)
    at.text_input(key=f"rv_reason_{first}_").set_value("the output ignores the limit")
    _click(at, "rv_reject")
    latest = store.latest_review(ws, first)
    assert latest is not None and latest.verdict == "reject"
    assert latest.reason == "the output ignores the limit"


def test_flip_a_criterion_then_accept(built: SyntheticWorkspace, ws: Workspace) -> None:
    at = open_app(built.root, "review", reviewer="ana")
    first = _current(at)
    detail = store_queue.instance_detail(ws, first)
    assert detail is not None
    crit = detail.criteria[-1]
    at.toggle(key=f"rv_flip_{first}_{crit.criterion}").set_value(not crit.passed).run()
    assert not at.exception
    assert any("With your flips" in c.value for c in at.caption)
    _click(at, "rv_accept")
    latest = store.latest_review(ws, first)
    assert latest is not None and latest.flips == {crit.criterion: not crit.passed}


def test_edit_a_field_then_accept_and_edits_carry_forward(
    built: SyntheticWorkspace, ws: Workspace
) -> None:
    at = open_app(built.root, "review", reviewer="ana")
    first = _current(at)
    at.text_area(key=f"rv_edit_{first}_output").set_value("def solve(items):\n    return items\n")
    _click(at, "rv_accept")
    latest = store.latest_review(ws, first)
    assert latest is not None
    assert latest.edits == {"output": "def solve(items):\n    return items\n"}
    # back to it as another reviewer: the edit is in force and carried into ben's decision
    at.session_state["reviewer"] = "ben"
    _click(at, "rv_prev")
    assert _current(at) == first
    assert at.text_area(key=f"rv_edit_{first}_output").value.startswith(
        "def solve(items):\n    return items"
    )
    _click(at, "rv_reject")
    ben = store.latest_review(ws, first)
    assert ben is not None and ben.reviewer == "ben" and ben.edits == latest.edits


def test_undo_is_a_stack_of_my_decisions_wherever_the_queue_stands(
    built: SyntheticWorkspace, ws: Workspace
) -> None:
    at = open_app(built.root, "review", reviewer="ana")
    first = _current(at)
    assert at.button(key="rv_undo").disabled  # nothing of ana's in this session yet
    _click(at, "rv_reject")
    second = _current(at)
    _click(at, "rv_accept")
    _click(at, "rv_next")  # the queue moves on; U still undoes the latest decision
    assert _current(at) not in (first, second)
    _click(at, "rv_undo")
    assert _current(at) == second  # the undone instance is opened, and named
    assert any(second in t.value and "accept" in t.value for t in at.toast)
    assert store.latest_review(ws, second) is None
    assert store.latest_review(ws, first) is not None
    _click(at, "rv_undo")  # U again: the decision before
    assert _current(at) == first
    assert [r.verdict for r in store.review_history(ws, first)] == ["reject", "undo"]
    assert at.button(key="rv_undo").disabled


def test_a_draft_survives_moving_away_and_a_new_session(
    built: SyntheticWorkspace, ws: Workspace
) -> None:
    from pipeline.store.drafts import get_draft

    at = open_app(built.root, "review", reviewer="ana")
    first = _current(at)
    detail = store_queue.instance_detail(ws, first)
    assert detail is not None
    crit = detail.criteria[0]
    at.toggle(key=f"rv_flip_{first}_{crit.criterion}").set_value(not crit.passed).run()
    at.text_input(key=f"rv_reason_{first}_").set_value("half done").run()
    _click(at, "rv_next")
    _click(at, "rv_prev")
    assert at.toggle(key=f"rv_flip_{first}_{crit.criterion}").value is (not crit.passed)
    assert at.text_input(key=f"rv_reason_{first}_").value == "half done"
    draft = get_draft(ws, first, "ana")
    assert draft is not None and draft.flips == {crit.criterion: not crit.passed}
    # a reload is a new session: the draft comes back from the workspace, and shows
    again = open_app(built.root, "review", reviewer="ana")
    assert _current(again) == first
    assert again.text_input(key=f"rv_reason_{first}_").value == "half done"
    assert again.button(key="rv_discard").label == "Discard draft"  # the draft shows
    _click(again, "rv_accept")  # a decision records the draft and removes it
    latest = store.latest_review(ws, first)
    assert latest is not None and latest.reason == "half done"
    assert latest.flips == {crit.criterion: not crit.passed}
    assert get_draft(ws, first, "ana") is None


def test_discard_a_draft(built: SyntheticWorkspace, ws: Workspace) -> None:
    from pipeline.store.drafts import get_draft

    at = open_app(built.root, "review", reviewer="ana")
    first = _current(at)
    at.text_input(key=f"rv_reason_{first}_").set_value("not sure").run()
    assert get_draft(ws, first, "ana") is not None
    _click(at, "rv_discard")
    assert get_draft(ws, first, "ana") is None
    assert at.text_input(key=f"rv_reason_{first}_").value == ""


def test_next_and_previous(built: SyntheticWorkspace) -> None:
    at = open_app(built.root, "review", reviewer="ana")
    queue = at.session_state["review_queue"]["ids"]
    _click(at, "rv_next")
    assert _current(at) == queue[1]
    _click(at, "rv_next")
    assert _current(at) == queue[2]
    _click(at, "rv_prev")
    assert _current(at) == queue[1]
    for _ in range(3):
        _click(at, "rv_prev")
    assert _current(at) == queue[0]


def test_no_reviewer_no_decision(built: SyntheticWorkspace, ws: Workspace) -> None:
    at = open_app(built.root, "review")
    assert at.warning and "Reviewer" in at.warning[0].value
    assert at.button(key="rv_accept").disabled and at.button(key="rv_reject").disabled


def test_deep_link_opens_the_instance(built: SyntheticWorkspace) -> None:
    target = built.instance_ids[7]
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app" / "main.py"))
    at.session_state["workspace_path"] = str(built.root)
    at.run()
    at.query_params["instance"] = target
    at.switch_page("views/review.py").run(timeout=60)
    assert not at.exception
    assert _current(at) == target
    assert any(target in c.value.replace("\\", "") for c in at.caption)


def test_deep_link_to_an_unknown_id_says_so(built: SyntheticWorkspace) -> None:
    at = open_app(built.root)
    at.query_params["instance"] = "no-such-id"
    at.switch_page("views/review.py").run(timeout=60)
    assert not at.exception
    assert at.error and "No instance no\\-such\\-id in this workspace" in at.error[0].value


def test_deep_link_to_a_skipped_instance_says_why_and_offers_no_accept(
    built: SyntheticWorkspace, ws: Workspace
) -> None:
    row = ws.db.execute("SELECT id, status FROM instances WHERE status != 'ok' LIMIT 1").fetchone()
    assert row is not None
    ws.db.execute(
        "UPDATE instances SET error = 'translation needs a target' WHERE id = ?", (row[0],)
    )
    ws.db.commit()
    at = open_app(built.root, reviewer="ana")
    at.query_params["instance"] = row[0]
    at.switch_page("views/review.py").run(timeout=60)
    assert _current(at) == row[0]
    assert at.warning and "translation needs a target" in at.warning[0].value
    assert f"was {row[1]}" in at.warning[0].value
    assert at.button(key="rv_accept").disabled and at.button(key="rv_reject").disabled


def test_reviewer_name_comes_from_the_link(built: SyntheticWorkspace) -> None:
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app" / "main.py"))
    at.session_state["workspace_path"] = str(built.root)
    at.query_params["reviewer"] = "carla"
    at.query_params["instance"] = built.instance_ids[2]
    at.run()
    at.switch_page("views/review.py").run(timeout=60)
    assert at.session_state["reviewer"] == "carla"
    assert not at.button(key="rv_accept").disabled  # ready to decide
    assert at.query_params["reviewer"] in ("carla", ["carla"])


def test_filters_build_the_queue(built: SyntheticWorkspace, ws: Workspace) -> None:
    at = open_app(built.root, "review", reviewer="ana")
    everything = len(at.session_state["review_queue"]["ids"])
    at.selectbox(key="rv_human").select("unreviewed").run()
    unreviewed = at.session_state["review_queue"]["ids"]
    assert 0 < len(unreviewed) < everything
    assert not set(unreviewed) & store_queue.reviewed_instance_ids(ws)
    at.selectbox(key="rv_failed").select("(any criterion)").run()
    failed = at.session_state["review_queue"]["ids"]
    rows = {r.instance_id: r for r in store_queue.queue_rows(ws)}
    assert failed and all(rows[i].failed and rows[i].human_verdict is None for i in failed)
    at.selectbox(key="rv_failed").select(None).run()
    at.selectbox(key="rv_human").select("any").run()
    at.segmented_control(key="rv_flagged").set_value("flagged").run()
    assert set(at.session_state["review_queue"]["ids"]) == set(built.flagged)
    at.segmented_control(key="rv_flagged").set_value("all").run()
    at.selectbox(key="rv_disagree").select("between reviewers").run()
    for iid in at.session_state["review_queue"]["ids"]:
        assert len({v for _, v in rows[iid].reviewers}) > 1
    at.selectbox(key="rv_disagree").select("any").run()
    at.multiselect(key="rv_tasks").select("code_repair").run()
    assert all(rows[i].task == "code_repair" for i in at.session_state["review_queue"]["ids"])
    assert not at.exception


def test_accept_in_an_unreviewed_queue_skips_what_others_finished(
    built: SyntheticWorkspace, ws: Workspace
) -> None:
    at = open_app(built.root, "review", reviewer="ana")
    at.selectbox(key="rv_human").select("unreviewed").run()
    queue = at.session_state["review_queue"]["ids"]
    store.add_review(ws, queue[1], "ben", "accept")  # ben, in another session, takes the next one
    _click(at, "rv_accept")
    assert _current(at) == queue[2]


def test_clear_a_flag_with_a_reason(built: SyntheticWorkspace, ws: Workspace) -> None:
    flagged = built.flagged[0]
    at = open_app(built.root, "review", reviewer="ana")
    at.segmented_control(key="rv_flagged").set_value("flagged").run()
    while _current(at) != flagged:
        _click(at, "rv_next")
    assert any("HumanEval" in str(v) for v in at.dataframe[0].value["benchmark"])
    reason = next(t for t in at.text_input if t.label == "Reason to clear")
    reason.set_value("a common idiom, not HumanEval")
    next(b for b in at.button if b.label == "Clear flag").click().run()
    assert not at.exception
    from pipeline.store.flags import clearances_for

    cleared = clearances_for(ws, flagged)
    assert [(c.reviewer, c.reason) for c in cleared] == [("ana", "a common idiom, not HumanEval")]
    assert flagged not in {r[0] for r in ws.db.execute("SELECT instance_id FROM flagged_instances")}


def test_map_selection_sent_to_review(built: SyntheticWorkspace, ws: Workspace) -> None:
    selection = {"box": [{"x": [-100, 100], "y": [-100, 100]}], "lasso": [], "points": []}
    at = open_app(built.root, "map", map_selection=selection)
    assert any("samples selected" in m.value for m in at.markdown)
    table = at.dataframe[0].value
    assert len(table) > 0
    _click(at, "map_review")
    assert at.subheader[0].value == "Review"
    queue = at.session_state["review_queue"]["ids"]
    assert set(queue) == set(built.instance_ids)
    assert any("map selection" in c.value for c in at.caption)


def test_map_lasso_selection_applies_to_every_sample(built: SyntheticWorkspace) -> None:
    import numpy as np

    from pipeline.mapsel import in_polygon

    with Workspace(built.root) as w:
        pts = w.db.execute("SELECT sample_id, x, y FROM projection").fetchall()
    xs = np.array([p[1] for p in pts])
    ys = np.array([p[2] for p in pts])
    cx, cy = float(np.median(xs)), float(np.median(ys))
    lasso = {"x": [cx - 3, cx + 3, cx + 3, cx - 3], "y": [cy - 3, cy - 3, cy + 3, cy + 3]}
    inside = in_polygon(xs, ys, lasso["x"], lasso["y"])
    want = int(inside.sum())
    coreset = set(built.coreset_ids)
    want_coreset = sum(1 for p, hit in zip(pts, inside, strict=True) if hit and p[0] in coreset)
    assert 0 < want_coreset < want  # the scope switch must change the count
    at = open_app(built.root, "map", map_selection={"box": [], "lasso": [lasso], "points": []})
    assert any(m.value.startswith(f"**{want:,}** samples selected") for m in at.markdown)
    at.segmented_control(key="map_scope").set_value("coreset only").run()
    assert not at.exception
    line = next(m.value for m in at.markdown if "samples selected" in m.value)
    assert int(line.split("**")[1].replace(",", "")) == want_coreset


def test_map_click_opens_a_sample(built: SyntheticWorkspace) -> None:
    sample = built.coreset_ids[3]
    selection = {"box": [], "lasso": [], "points": [{"customdata": sample}]}
    at = open_app(built.root, "map", map_selection=selection, map_open=sample)
    assert any("samples selected" in m.value for m in at.markdown)
    assert at.code, "the sample's code is shown"
    with Workspace(built.root) as w:
        code = w.db.execute("SELECT code FROM samples WHERE id = ?", (sample,)).fetchone()[0]
    assert at.code[0].value == code.rstrip("\n")  # st.code drops the final newline


def test_the_execution_evidence_stands_beside_the_judge(
    built: SyntheticWorkspace, ws: Workspace
) -> None:
    """A stored execution verdict shows as a badge with what was found, the failing input and
    expected vs got; an instance never verified says so; the Overview counts verdicts per task."""
    from pipeline.records import Execution
    from pipeline.store.executions import save_execution

    at = open_app(built.root, "review", reviewer="ana")
    first = _current(at)
    assert any("not verified yet" in c.value for c in at.caption)
    save_execution(
        ws,
        Execution(
            "fail", "the output disagrees with the reference on 1 of 5 inputs",
            inputs=("f(1)", "f(2)"), agreed=1, failing_input="f(2)", expected="4", got="5",
            mechanism="namespaces+uid", instance_id=first,
        ),
    )  # fmt: skip
    at = open_app(built.root, "review", reviewer="ana", instance=first)
    assert _current(at) == first
    badges = [m.value for m in at.markdown if "badge[" in m.value]  # st.badge is Markdown
    assert any("execution: fail" in b for b in badges), badges
    assert any("disagrees with the reference" in t.value for t in at.text)
    codes = [c.value for c in at.code]
    assert "f(2)" in codes and "expected: 4\ngot:      5" in codes
    overview = open_app(built.root, "overview", reviewer="ana")
    frames = [d.value for d in overview.dataframe if "conclusive" in d.value.columns]
    assert len(frames) == 1
    assert frames[0]["fail"].sum() == 1 and frames[0]["pass"].sum() == 0
