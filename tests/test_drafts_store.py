"""Review drafts and the sample search in a real workspace file."""

from __future__ import annotations

from pathlib import Path

import pytest
from synthetic import build_workspace

from pipeline.store import Workspace
from pipeline.store.drafts import (
    discard_draft,
    drafted_instance_ids,
    get_draft,
    save_draft,
)
from pipeline.store.queue import instance_detail
from pipeline.store.search import search_samples


def test_a_draft_is_kept_per_instance_and_reviewer(tmp_path: Path) -> None:
    built = build_workspace(tmp_path / "w", samples=80, coreset=20)
    a, b = built.instance_ids[:2]
    with Workspace(built.root) as ws:
        assert save_draft(ws, a, "ana", flips={"x": False}, edits={"output": "y"}, reason="r")
        assert save_draft(ws, a, "ben", reason="other")
        assert save_draft(ws, a, "ana", reason="second thought")  # replaces ana's
    with Workspace(built.root) as ws:  # a new connection: it is in the file
        mine = get_draft(ws, a, "ana")
        assert mine is not None and (mine.flips, mine.edits, mine.reason) == (
            {},
            {},
            "second thought",
        )
        assert get_draft(ws, a, "ben") is not None and get_draft(ws, b, "ana") is None
        assert drafted_instance_ids(ws, "ana") == {a}
        assert not save_draft(ws, a, "ana")  # an empty draft deletes it
        assert get_draft(ws, a, "ana") is None
        assert discard_draft(ws, a, "ben") and not discard_draft(ws, a, "ben")
        with pytest.raises(ValueError, match="reviewer"):
            save_draft(ws, a, "  ", reason="x")
        detail = instance_detail(ws, a)  # why an instance was skipped is on the instance read
        assert detail is not None and (detail.status, detail.error) == ("ok", "")
        assert instance_detail(ws, "nope") is None


def test_search_matches_names_and_code_literally(tmp_path: Path) -> None:
    built = build_workspace(tmp_path / "w", samples=80, coreset=20)
    with Workspace(built.root) as ws:
        hits = search_samples(ws, "HOSTILE_markup")
        assert hits and built.coreset_ids[0] in hits
        assert not search_samples(ws, "no such text anywhere 12345")
        assert search_samples(ws, "  ") == []
