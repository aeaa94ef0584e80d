"""KCenterGreedy: the textbook's picks exactly, its properties, and the select stage."""

from __future__ import annotations

import inspect
import itertools
from dataclasses import replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.metrics import pairwise_distances

from pipeline.config import SelectConfig
from pipeline.records import Sample
from pipeline.stages.embed import kept_texts, load_kept_embeddings
from pipeline.stages.select import (
    SelectResult,
    _kcenter_torch,
    _resolve_device,
    kcenter_greedy,
    resolve_k,
    select_coreset,
)
from pipeline.store import Workspace
from pipeline.store.samples import insert_samples, set_dropped
from pipeline.store.status import funnel
from pipeline.store.vectors import (
    append_vectors,
    coreset_rows,
    insert_embedding_rows,
)


def textbook(x: npt.NDArray[Any], k: int, first: int) -> tuple[list[int], list[float]]:
    """The reference: sklearn distances from each new centre, a running minimum, argmax."""
    picks = [first]
    mind = pairwise_distances(x[first : first + 1], x).ravel()
    radii = []
    for _ in range(k - 1):
        radii.append(float(mind.max()))
        p = int(np.argmax(mind))
        picks.append(p)
        mind = np.minimum(mind, pairwise_distances(x[p : p + 1], x).ravel())
    radii.append(float(mind.max()))
    return picks, radii


def unit(rng: np.random.Generator, n: int, d: int) -> npt.NDArray[np.float64]:
    x = rng.standard_normal((n, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


# -- equal to the textbook ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("n", "d", "k", "block_rows", "first"),
    [(300, 8, 60, 7, 0), (1000, 32, 200, 256, 17), (500, 3, 500, 64, 499), (257, 16, 100, 256, 5)],
)
def test_exact_picks_equal_textbook_on_random_float64(
    n: int, d: int, k: int, block_rows: int, first: int
) -> None:
    x = unit(np.random.default_rng(n + d), n, d)
    picks, radii = textbook(x, k, first)
    got = kcenter_greedy(x, k, first=first, exact=True, block_rows=block_rows, device="cpu")
    assert got.indices.tolist() == picks
    np.testing.assert_allclose(got.radii, radii, atol=1e-7)


def _select(ws: Workspace, **overrides: Any) -> SelectResult:
    """The select stage over the workspace's embeddings with `[select]` defaults overridden."""
    if "fraction" in overrides:
        overrides["k"] = 0
    kept = load_kept_embeddings(ws, ws.config.embed)
    return select_coreset(ws, kept, cfg=replace(SelectConfig(), **overrides))


def test_fast_float32_picks_equal_textbook_on_random_unit_vectors() -> None:
    x = unit(np.random.default_rng(3), 2000, 64).astype(np.float32)
    picks, radii = textbook(x, 300, 0)
    got = kcenter_greedy(x, 300, device="cpu")
    assert got.indices.tolist() == picks
    np.testing.assert_allclose(got.radii, radii, atol=1e-5)


def test_exact_handles_non_unit_vectors() -> None:
    x = np.random.default_rng(4).standard_normal((400, 5)) * 10 + 3
    picks, _ = textbook(x, 80, 2)
    assert kcenter_greedy(x, 80, first=2, exact=True, device="cpu").indices.tolist() == picks


def stdlib_texts(limit: int) -> list[str]:
    """Distinct sources of standard-library functions: real code to embed."""
    import calendar, colorsys, difflib, fnmatch, heapq, json, shlex, statistics, string, textwrap  # noqa: E401, I001

    out: dict[str, None] = {}
    for module in (textwrap, shlex, json, string, fnmatch, colorsys, heapq, statistics, calendar, difflib):  # fmt: skip
        for _, obj in inspect.getmembers(module):
            members = (
                [obj] + [v for _, v in inspect.getmembers(obj)] if inspect.isclass(obj) else [obj]
            )
            for f in members:
                if inspect.isfunction(f) and f.__module__ == module.__name__:
                    try:
                        src = inspect.getsource(f)
                    except (OSError, TypeError):
                        continue
                    if 50 <= len(src) <= 2000:
                        out[src] = None
    return list(out)[:limit]


@pytest.mark.slow
def test_picks_equal_textbook_on_real_embeddings(embedding_model: Any) -> None:
    from pipeline.embedding import encode

    texts = stdlib_texts(300)
    assert len(texts) >= 200
    x32 = encode(embedding_model, texts)
    x64 = x32.astype(np.float64)
    k = len(texts) // 2
    picks, radii = textbook(x64, k, 0)
    got = kcenter_greedy(x64, k, exact=True, block_rows=32, device="cpu")
    assert got.indices.tolist() == picks
    np.testing.assert_allclose(got.radii, radii, atol=1e-7)
    fast = kcenter_greedy(x32, k, block_rows=32, device="cpu")
    assert fast.indices.tolist() == textbook(x32, k, 0)[0]


# -- properties ------------------------------------------------------------------------------------
matrices = st.integers(1, 40).flatmap(
    lambda n: st.integers(1, 4).flatmap(
        lambda d: arrays(np.float64, (n, d), elements=st.integers(-3, 3).map(float))
    )
)


@settings(max_examples=60, deadline=None)
@given(x=matrices, data=st.data())
def test_properties(x: npt.NDArray[np.float64], data: st.DataObject) -> None:
    n = x.shape[0]
    k = data.draw(st.integers(1, n), label="k")
    first = data.draw(st.integers(0, n - 1), label="first")
    block = data.draw(st.integers(1, 9), label="block_rows")
    got = kcenter_greedy(x, k, first=first, block_rows=block, device="cpu")
    # k distinct indices, the first as asked; radii never increase and end at 0 once all picked
    assert len(got.indices) == k and len(set(got.indices.tolist())) == k
    assert got.indices[0] == first
    assert np.all(np.diff(got.radii) <= 1e-12) and np.all(got.radii >= 0)
    if k == n:
        assert got.radii[-1] == 0.0
    # the same input gives the same picks, whatever the block size
    again = kcenter_greedy(x, k, first=first, block_rows=block + 3, device="cpu")
    assert again.indices.tolist() == got.indices.tolist()
    # integer data has exact ties: the lowest index wins, as in the textbook, while anything
    # is left uncovered (the textbook may then pick a centre again; we never do)
    picks, radii = textbook(x, k, first)
    live = next((i + 1 for i, r in enumerate(radii) if r == 0.0), k)
    assert got.indices[:live].tolist() == picks[:live]
    # extending a prefix keeps it and continues as one long run would
    m = data.draw(st.integers(1, k), label="prefix")
    extended = kcenter_greedy(x, k, first=got.indices[:m], block_rows=block, device="cpu")
    assert extended.indices.tolist() == got.indices.tolist()
    np.testing.assert_allclose(extended.radii, got.radii)


def test_bad_arguments() -> None:
    x = np.eye(4)
    with pytest.raises(ValueError, match="k must be"):
        kcenter_greedy(x, 0)
    with pytest.raises(ValueError, match="k must be"):
        kcenter_greedy(x, 5)
    with pytest.raises(ValueError, match="twice"):
        kcenter_greedy(x, 3, first=[1, 1])
    with pytest.raises(ValueError, match="outside"):
        kcenter_greedy(x, 3, first=[7])
    with pytest.raises(ValueError, match="more than k"):
        kcenter_greedy(x, 1, first=[0, 1])
    with pytest.raises(ValueError, match="2-D"):
        kcenter_greedy(np.ones(3), 1)


def test_device_follows_this_machine() -> None:
    # no patching: on a machine without CUDA "auto" is the CPU and "cuda" is refused; with one,
    # "auto" takes it (the device check runs this same test on a GPU machine)
    import torch

    assert _resolve_device("cpu") == "cpu"
    if torch.cuda.is_available():
        assert _resolve_device("auto") == "cuda"
        assert _resolve_device("cuda") == "cuda"
    else:
        assert _resolve_device("auto") == "cpu"
        with pytest.raises(ValueError, match="no CUDA"):
            _resolve_device("cuda")
    with pytest.raises(ValueError):
        _resolve_device("tpu")
    x = unit(np.random.default_rng(0), 50, 4)
    picks, _ = textbook(x, 5, 0)
    assert kcenter_greedy(x, 5, first=0).indices.tolist() == picks  # "auto", either device


def test_torch_path_equals_textbook() -> None:
    # the GPU path's code, run by torch on the CPU: the same loop, whatever the device
    x = unit(np.random.default_rng(8), 300, 12)
    picks, radii = textbook(x, 60, 4)
    got = _kcenter_torch(x, 60, [4], np.float64, None, device="cpu")
    assert got.indices.tolist() == picks
    np.testing.assert_allclose(got.radii, radii, atol=1e-7)
    extended = _kcenter_torch(x, 60, picks[:20], np.float64, None, device="cpu")
    assert extended.indices.tolist() == picks


def test_resolve_k() -> None:
    assert resolve_k(100, k=10) == 10
    assert resolve_k(100, k=1000) == 100
    assert resolve_k(100, fraction=0.25) == 25
    assert resolve_k(3, fraction=0.01) == 1
    with pytest.raises(ValueError):
        resolve_k(100, fraction=1.5)
    with pytest.raises(ValueError):
        resolve_k(100)


# -- the stage, on a workspace with stored vectors ----------------------------------------------
def fill(ws: Workspace, n: int, d: int = 8, seed: int = 0) -> None:
    """n kept samples and a unit vector for each, stored as the embed stage stores them."""
    from pipeline.embedding import model_key

    samples = [
        Sample("tree", "python", "r", f"m{i}.py", f"f{i}", 1, "", f"def f{i}(): return {i}", "")
        for i in range(n)
    ]
    insert_samples(ws, samples)
    _, hashes, _ = kept_texts(ws, ws.config.embed.text)
    have = ws.db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]
    new = hashes[have:]
    vecs = unit(np.random.default_rng(seed), len(new), d).astype(np.float32)
    first = append_vectors(ws, model_key(ws.config.embed), vecs)
    insert_embedding_rows(
        ws, model_key(ws.config.embed), [(h, first + i) for i, h in enumerate(new)]
    )


def test_select_stage_stores_picks_and_is_idempotent(ws: Workspace) -> None:
    fill(ws, 120)
    result = _select(ws, k=10, seed=3)
    assert (result.size, result.added, result.kept, result.current) == (10, 10, 120, False)
    rows = coreset_rows(ws)
    assert [r[0] for r in rows] == list(range(10))
    assert all(a[2] >= b[2] for a, b in itertools.pairwise(rows))
    assert rows[-1][2] == pytest.approx(result.radius)
    assert funnel(ws)["coreset"] == 10
    runs = len(ws.last_runs())
    again = _select(ws, k=10, seed=3)
    assert again.current and coreset_rows(ws) == rows
    assert len(ws.db.execute("SELECT * FROM runs WHERE stage='select'").fetchall()) == 1
    assert len(ws.last_runs()) == runs
    # another seed starts elsewhere; the same seed gives the same picks
    other = _select(ws, k=10, seed=4)
    assert not other.current and coreset_rows(ws)[0][1] != rows[0][1]
    _select(ws, k=10, seed=3)
    assert coreset_rows(ws) == rows


def test_select_extend_keeps_earlier_picks(ws: Workspace) -> None:
    fill(ws, 200)
    _select(ws, k=15, seed=1)
    before = coreset_rows(ws)
    grown = _select(ws, k=40, extend=True)
    after = coreset_rows(ws)
    assert grown.added == 25 and len(after) == 40
    assert [r[1] for r in after[:15]] == [r[1] for r in before]
    # growing in two steps equals selecting 40 at once
    _select(ws, k=40, seed=1)
    assert [r[1] for r in coreset_rows(ws)] == [r[1] for r in after]
    assert _select(ws, k=30, extend=True).current  # nothing to add


def test_select_fraction_and_config_default(ws: Workspace) -> None:
    fill(ws, 80)
    assert _select(ws, fraction=0.25).size == 20
    assert _select(ws).size == 80  # select.k = 1000 > 80 kept: all of them


def test_select_coverage_metric(ws: Workspace) -> None:
    fill(ws, 300, d=6)
    _select(ws, k=30)
    cov = ws.get_metric("coverage")
    assert cov["size"] == 30 and cov["n"] == 300
    assert cov["k"][0] == 1 and cov["k"][-1] == 30
    for method in ("kcenter", "random", "kmeanspp"):
        assert len(cov[method]) == len(cov["k"]) == len(cov["mean"][method])
        assert set(cov["final"][method]) == {"radius", "mean", "p99", "within"}
    # k-center minimises the worst case
    assert cov["final"]["kcenter"]["radius"] <= cov["final"]["random"]["radius"]
    assert cov["kcenter"][-1] == pytest.approx(coreset_rows(ws)[-1][2], abs=1e-4)


def test_select_needs_embeddings(ws: Workspace) -> None:
    from pipeline.stages.embed import EmbeddingsMissing

    fill(ws, 20)
    new = Sample("tree", "python", "r", "new.py", "g", 1, "", "def g(): pass", "")
    insert_samples(ws, [new])
    with pytest.raises(EmbeddingsMissing, match="1 of 21"):
        _select(ws, k=5)
    set_dropped(ws, {new.id: "too_short"})  # a dropped sample needs no vector
    assert _select(ws, k=5).size == 5
